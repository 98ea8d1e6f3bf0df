"""`lamina.mixed_precision` offers Keras 3's names, bound to lamina's dtype policies."""

import lamina
from lamina import mixed_precision


def _public(module):
    return {name for name in dir(module) if not name.startswith("_")}


def test_mixed_precision_has_every_keras_name(K):
    assert _public(K.mixed_precision) <= _public(mixed_precision)


def test_global_policy_names_agree_with_keras(K):
    try:
        K.mixed_precision.set_global_policy("mixed_bfloat16")
        mixed_precision.set_global_policy("mixed_bfloat16")
        ours, theirs = mixed_precision.global_policy(), K.mixed_precision.global_policy()
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype)
        assert lamina.layers.Dense(2).compute_dtype == K.layers.Dense(2).compute_dtype
    finally:
        K.mixed_precision.set_global_policy("float32")
        mixed_precision.set_global_policy(None)
    assert mixed_precision.global_policy().name == "float32"
