"""lamina.ops.numpy against numpy formulas, plus dtype rules, symbolic use and errors."""

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.backend import KerasTensor

RNG = np.random.default_rng(1)
X = RNG.normal(size=(2, 3, 4)).astype("float32")
M = RNG.normal(size=(3, 4)).astype("float32")


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(ops.convert_to_numpy(a), b, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "name, ref",
    [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
     ("divide", np.divide), ("maximum", np.maximum), ("minimum", np.minimum),
     ("arctan2", np.arctan2), ("power", lambda a, b: np.abs(a) ** b)],
)
def test_binary_ops_match_numpy_with_broadcasting(name, ref):
    a = np.abs(X) if name == "power" else X
    close(getattr(ops, name)(a, M), ref(a, M))


@pytest.mark.parametrize(
    "name, ref",
    [("sqrt", np.sqrt), ("exp", np.exp), ("log1p", np.log1p), ("tanh", np.tanh),
     ("arcsinh", np.arcsinh), ("floor", np.floor), ("reciprocal", np.reciprocal)],
)
def test_unary_ops_match_numpy(name, ref):
    x = np.abs(X) + 0.1
    close(getattr(ops, name)(x), ref(x))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "std", "var"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    out = getattr(ops, name)(X, axis=axis, keepdims=keepdims)
    ref = getattr(np, name)(X, axis=axis, keepdims=keepdims)
    assert tuple(out.shape) == ref.shape
    close(out, ref, 1e-4)


def test_weak_python_scalars_follow_keras_promotion():
    i32 = torch.tensor([1, 2], dtype=torch.int32)
    assert ops.add(i32, 1.5).dtype == torch.float32
    assert ops.add(i32, 1).dtype == torch.int32
    assert ops.multiply(torch.ones(2, dtype=torch.float16), 2.0).dtype == torch.float16
    assert ops.add(np.array([True]), 1).dtype == torch.int32
    assert ops.maximum(np.ones(2, "int8"), 3).dtype == torch.int8
    assert ops.divide(i32, i32).dtype == torch.float32
    assert ops.mean(i32).dtype == torch.float32
    assert ops.sum(np.ones(3, "int8")).dtype == torch.int32
    assert ops.add(2, 3).dtype == torch.int32


def test_axis_out_of_range_names_axis_and_rank():
    with pytest.raises(ValueError, match=r"`axis`=5 .* rank 3"):
        ops.sum(X, axis=5)
    with pytest.raises(ValueError, match=r"`axis`=3 .* rank 2"):
        ops.softmax(M, axis=3)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "equal"])
def test_incompatible_shapes_name_both_shapes(name):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        getattr(ops, name)(np.ones((2, 3)), np.ones(4))


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        ops.matmul(np.ones((2, 3)), np.ones((4, 5)))


def test_unknown_dtype_name_is_rejected():
    with pytest.raises(ValueError, match="Invalid dtype: 'floaty'"):
        ops.cast(X, "floaty")


def test_squeeze_rejects_axis_of_size_other_than_one():
    with pytest.raises(ValueError, match="axis 1 has size 3"):
        ops.squeeze(np.ones((1, 3)), axis=1)


def test_split_rejects_unequal_sections():
    with pytest.raises(ValueError, match="cannot be split into 2 equal sections"):
        ops.split(np.ones(5), 2)


def test_shape_ops_match_numpy():
    close(ops.transpose(X), np.transpose(X))
    close(ops.expand_dims(M, (0, 3)), np.expand_dims(M, (0, 3)))
    close(ops.take(X, np.array([[0, -1]]), axis=2), np.take(X, [[0, -1]], axis=2))
    close(ops.take(X, np.array([3, -2])), np.take(X, [3, -2]))
    idx = np.argsort(M, axis=1)
    close(ops.take_along_axis(M, idx, axis=1), np.take_along_axis(M, idx, axis=1))
    close(ops.tile(M, (2, 1, 2)), np.tile(M, (2, 1, 2)))
    close(ops.repeat(M, [1, 2, 3], axis=0), np.repeat(M, [1, 2, 3], axis=0))
    close(ops.roll(X, 2), np.roll(X, 2))
    close(ops.moveaxis(X, (0, 1), (2, 0)), np.moveaxis(X, (0, 1), (2, 0)))
    for a, b in zip(ops.split(X, [1, 3], axis=2), np.split(X, [1, 3], axis=2)):
        close(a, b)
    b3 = RNG.normal(size=(2, 4, 5)).astype("float32")
    close(ops.dot(X, b3), np.dot(X, b3), 1e-4)


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
@pytest.mark.parametrize("width", [1, (2, 1), ((0, 2), (3, 1))])
def test_pad_matches_numpy(mode, width):
    x = np.arange(12.0).reshape(3, 4)
    close(ops.pad(x, width, mode=mode), np.pad(x, width, mode=mode))


def test_pad_constant_values_and_mode_check():
    close(ops.pad(np.ones(2), 1, constant_values=7), np.pad(np.ones(2), 1, constant_values=7))
    with pytest.raises(ValueError, match="constant_values is only used"):
        ops.pad(np.ones(2), 1, mode="reflect", constant_values=1)


def test_creation_ops():
    assert ops.zeros((2, 3)).dtype == torch.float32
    close(ops.eye(3, 4, k=1), np.eye(3, 4, k=1))
    close(ops.linspace(0, 1, 5), np.linspace(0, 1, 5))
    close(ops.linspace(0, 1, 4, endpoint=False), np.linspace(0, 1, 4, endpoint=False))
    close(ops.arange(1, 7, 2), np.arange(1, 7, 2))
    assert ops.arange(5).dtype == torch.int32
    assert ops.arange(0, 5, 0.5).dtype == torch.float32
    close(ops.tril(M, -1), np.tril(M, -1))
    close(ops.diag(np.arange(3.0), 1), np.diag(np.arange(3.0), 1))


def test_sort_argsort_cumsum_count_nonzero():
    close(ops.sort(X, axis=1), np.sort(X, axis=1))
    assert ops.argsort(X).dtype == torch.int32
    close(ops.argsort(X, axis=0), np.argsort(X, axis=0, kind="stable"))
    close(ops.cumsum(X, axis=1), np.cumsum(X, axis=1), 1e-4)
    close(ops.cumprod(M), np.cumprod(M), 1e-4)
    close(ops.count_nonzero(np.array([[0, 1, 2], [0, 0, 3]]), axis=1), [2, 1])
    close(ops.argmax(X, axis=-1), np.argmax(X, axis=-1))


def test_products_match_numpy():
    b = RNG.normal(size=(4, 5)).astype("float32")
    close(ops.matmul(X, b), X @ b, 1e-4)
    close(ops.tensordot(X, M, axes=([1, 2], [0, 1])), np.tensordot(X, M, ([1, 2], [0, 1])), 1e-4)
    close(ops.einsum("bij,jk->bik", X, b), np.einsum("bij,jk->bik", X, b), 1e-4)
    close(ops.outer(M[0], M[1]), np.outer(M[0], M[1]))
    assert ops.matmul(np.ones((2, 2), "int8"), np.ones((2, 2), "int8")).dtype == torch.int32


def test_ops_on_keras_tensors_return_keras_tensors():
    x = KerasTensor((None, 3))
    y = ops.add(x, 1.0)
    assert isinstance(y, KerasTensor) and y.shape == (None, 3) and y.dtype == "float32"
    assert y._keras_history.operation.class_name == "Add"
    z = ops.sum(ops.matmul(x, np.ones((3, 5), "float32")), axis=-1)
    assert z.shape == (None,)
    w = ops.mean(KerasTensor((None, 4), dtype="int32"), axis=0)
    assert w.shape == (4,) and w.dtype == "float32"
    parts = ops.split(KerasTensor((None, 6)), 3, axis=1)
    assert [p.shape for p in parts] == [(None, 2)] * 3


def test_op_class_names_follow_keras():
    assert ops.true_divide.keras_class_name == "TrueDivide"
    assert ops.abs.keras_class_name == "Absolute"
    assert ops.expand_dims.keras_class_name == "ExpandDims"
