"""Every activation against keras.activations on the same random inputs (float32)."""

import pytest
import torch

from lamina import activations as A

CASES = [(name, {}) for name in sorted(A.ALL_OBJECTS_DICT) if name not in
         ("threshold", "sparsemax")] + [
    ("relu", {"negative_slope": 0.1, "max_value": 3.0, "threshold": 1.0}),
    ("relu", {"max_value": 2.0}),
    ("relu", {"threshold": -1.0}),
    ("relu", {"negative_slope": 0.3}),
    ("gelu", {"approximate": True}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {"axis": 1}),
    ("log_softmax", {"axis": (0, 1)}),
    ("threshold", {"threshold": 0.5, "default_value": -2.0}),
    ("squareplus", {"b": 1}),
    ("glu", {"axis": 0}),
    ("hard_shrink", {"threshold": 1.0}),
    ("soft_shrink", {"threshold": 1.0}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_activation_matches_keras(K, name, kwargs):
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(0)) * 4
    ours = getattr(A, name)(x, **kwargs)
    theirs = torch.as_tensor(getattr(K.activations, name)(x, **kwargs))
    assert ours.dtype == theirs.dtype
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


def test_sparsemax_matches_keras_where_keras_is_right(K):
    # NOTE: Keras 3.15.1's sparsemax threshold is wrong when the support has more than one
    # element (keras-team/keras#23425, fixed upstream in #23469); compare on one-hot
    # supports only. tests/activations checks the general case against a reference.
    x = torch.tensor([[0.0, 5.0, 1.0], [3.0, -2.0, 0.5]])
    torch.testing.assert_close(A.sparsemax(x), torch.as_tensor(K.activations.sparsemax(x)))


@pytest.mark.parametrize("name", sorted(A.ALL_OBJECTS_DICT))
def test_names_resolve_and_serialize_like_keras(K, name):
    ours = A.get(name)
    theirs = K.activations.get(name)
    assert A.serialize(ours) == K.activations.serialize(theirs)


@pytest.mark.parametrize("name", ["relu", "swish", "hard_swish", "softmax", None])
def test_dense_activation_config_matches(K, name):
    expected = K.layers.Dense(2, activation=name).get_config()["activation"]
    assert A.serialize(A.get(name)) == expected
