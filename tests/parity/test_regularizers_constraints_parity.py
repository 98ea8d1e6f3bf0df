"""Regularizers and constraints against Keras on random tensors: values and configs."""

import pytest
import torch

from lamina import constraints as C
from lamina import regularizers as R

REGULARIZERS = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.7}), ("L1L2", {}),
    ("L1L2", {"l1": 0.1, "l2": 0.2}), ("L1L2", {"l1": 0.1}), ("OrthogonalRegularizer", {}),
    ("OrthogonalRegularizer", {"factor": 0.3, "mode": "columns"}),
]
CONSTRAINTS = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 1.0, "axis": 1}),
    ("MaxNorm", {"max_value": 0.5, "axis": [0, 1]}),
    ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.7}),
    ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
]


def _weights(dtype=torch.float32):
    return torch.randn(7, 5, generator=torch.Generator().manual_seed(1), dtype=dtype) * 2


@pytest.mark.parametrize("name, kwargs", REGULARIZERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_regularizer_matches_keras(K, name, kwargs, dtype):
    ours = getattr(R, name)(**kwargs)
    theirs = getattr(K.regularizers, name)(**kwargs)
    w = _weights(dtype)
    a, b = ours(w), torch.as_tensor(theirs(w))
    assert a.shape == b.shape == () and a.dtype == b.dtype
    torch.testing.assert_close(a, b, rtol=1e-6, atol=0)
    assert ours.get_config() == theirs.get_config()
    assert R.serialize(ours) == K.regularizers.serialize(theirs)


@pytest.mark.parametrize("name, kwargs", CONSTRAINTS)
def test_constraint_matches_keras(K, name, kwargs):
    ours = getattr(C, name)(**kwargs)
    theirs = getattr(K.constraints, name)(**kwargs)
    w = _weights()
    torch.testing.assert_close(ours(w), torch.as_tensor(theirs(w)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert C.serialize(ours) == K.constraints.serialize(theirs)


@pytest.mark.parametrize("module", ["regularizers", "constraints"])
def test_names_resolve_like_keras(K, module):
    ours = R if module == "regularizers" else C
    for name in ours.ALL_OBJECTS_DICT:
        if name in ("l1_l2", "Regularizer", "Constraint"):
            continue  # Keras' get() refuses these names; we accept them
        assert type(ours.get(name)).__name__ == type(getattr(K, module).get(name)).__name__


def test_keras_written_configs_load(K):
    for obj, ours in [(K.regularizers.L1L2(0.1, 0.2), R), (K.constraints.MaxNorm(3, 1), C)]:
        config = getattr(K, ours.__name__.split(".")[-1]).serialize(obj)
        assert ours.deserialize(config).get_config() == obj.get_config()
