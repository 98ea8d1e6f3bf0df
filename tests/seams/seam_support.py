"""Helpers for the seam tests: run one program on lamina and on Keras 3, compare.

A seam test writes its Keras program once, as a function of the API module
(`lamina` or `keras`), and compares what the two runs return. Models are built
with fresh automatic names and seeds on both sides, and lamina's copy gets
Keras' weights, so any difference comes from behaviour, not initialisation.
"""

import numpy as np
import torch

import lamina


def keras_module():
    import keras

    return keras


def fresh(api, seed=0):
    """Fresh automatic names and seeds, so the two runs name and draw alike."""
    if api is lamina:
        from lamina.backend import naming

        naming.reset_uids()
    else:
        api.backend.clear_session(free_memory=False)
    torch.manual_seed(seed)
    np.random.seed(seed)


def twin_models(build):
    """`build(api)` on Keras and on lamina; lamina's model gets Keras' weights."""
    keras = keras_module()
    fresh(keras)
    kmodel = build(keras)
    fresh(lamina)
    lmodel = build(lamina)
    lmodel.set_weights(kmodel.get_weights())
    return lmodel, kmodel


def run_both(build, program):
    """Build twin models, run `program(api, model)` on each; (lamina, keras) results."""
    lmodel, kmodel = twin_models(build)
    keras = keras_module()
    return program(lamina, lmodel), program(keras, kmodel)


def to_numpy(value):
    """Tensors, Variables, arrays and nested lists/tuples/dicts of them as numpy copies."""
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        return np.array(value.numpy())  # a copy: a CPU tensor's numpy() shares memory
    return value if value is None or isinstance(value, str) else np.array(value)


def assert_same(actual, expected, rtol=1e-5, atol=1e-6, where="result"):
    """Equal structure (dict keys, list lengths) and values to tolerance."""
    actual, expected = to_numpy(actual), to_numpy(expected)
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {type(actual)}"
        assert sorted(actual) == sorted(expected), (
            f"{where}: keys differ: {sorted(actual)} != {sorted(expected)}")
        for key in expected:
            assert_same(actual[key], expected[key], rtol, atol, f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{where}: expected a sequence"
        assert len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, rtol, atol, f"{where}[{i}]")
    elif expected is None or actual is None:
        assert actual is expected, f"{where}: {actual!r} is not {expected!r}"
    elif isinstance(expected, str):
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)
