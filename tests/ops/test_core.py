"""lamina.ops.core: conversion, slicing, scattering and control flow."""

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.backend import KerasTensor


def test_cast_convert_shape_dtype():
    x = ops.convert_to_tensor([1.5, -2.5])
    assert x.dtype == torch.float32
    assert ops.cast(x, "int32").tolist() == [1, -2]
    assert ops.shape(np.ones((2, 3))) == (2, 3)
    assert ops.dtype(np.ones(2, "int8")) == "int8"
    assert ops.is_tensor(x) and not ops.is_tensor(np.ones(2))
    assert isinstance(ops.convert_to_numpy(x), np.ndarray)
    with pytest.raises(ValueError, match="symbolic KerasTensor has no values"):
        ops.convert_to_numpy(KerasTensor((2,)))


def test_stop_gradient_blocks_gradients():
    w = torch.ones(2, requires_grad=True)
    y = ops.stop_gradient(w * 2) + w
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_slice_and_slice_update():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(ops.slice(x, (0, 1, 1), (2, 2, 3)).numpy(), x[:, 1:3, 1:4])
    out = ops.slice_update(x, (1, 0, 2), np.zeros((1, 2, 2)))
    ref = x.copy()
    ref[1:2, 0:2, 2:4] = 0
    np.testing.assert_array_equal(out.numpy(), ref)


def test_scatter_sums_duplicates_and_scatter_update_replaces():
    out = ops.scatter(np.array([[0, 1], [0, 1], [1, 0]]), np.array([1.0, 2.0, 5.0]), (2, 2))
    np.testing.assert_array_equal(out.numpy(), [[0, 3], [5, 0]])
    upd = ops.scatter_update(np.zeros((2, 2)), np.array([[1, 1]]), np.array([4.0]))
    np.testing.assert_array_equal(upd.numpy(), [[0, 0], [0, 4]])
    mx = ops.scatter_update(np.ones((3,)), np.array([[0], [0]]), np.array([5.0, 7.0]), "max")
    np.testing.assert_array_equal(mx.numpy(), [7, 1, 1])
    with pytest.raises(ValueError, match="reduction must be"):
        ops.scatter_update(np.ones(3), np.array([[0]]), np.array([1.0]), "median")


def test_control_flow():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert int(ops.while_loop(lambda a: a < 5, lambda a: a + 2, 0)) == 6
    a, b = ops.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, b * 2), (0, 1))
    assert (int(a), int(b)) == (3, 8)
    n = ops.while_loop(lambda a: a < 100, lambda a: a + 1, 0, maximum_iterations=4)
    assert int(n) == 4


def test_unstack_and_size():
    parts = ops.unstack(np.arange(6).reshape(2, 3), axis=1)
    assert [p.tolist() for p in parts] == [[0, 3], [1, 4], [2, 5]]
    assert int(ops.size(np.ones((2, 5)))) == 10
    assert ops.ndim(np.ones((2, 5))) == 2


def test_math_ops():
    np.testing.assert_allclose(ops.logsumexp(np.log([[1.0, 3.0]]), axis=1).numpy(), np.log([4.0]),
                               rtol=1e-6)
    values, indices = ops.top_k(np.array([1.0, 5.0, 3.0]), 2)
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 2]
    np.testing.assert_allclose(ops.rsqrt(np.array([4.0])).numpy(), [0.5])
    assert ops.erf(np.array([0], "int32")).dtype == torch.float32
