"""Products of `lamina.ops.numpy`: matrix, dot, tensor, outer, inner, cross and
Kronecker products, `einsum` and `correlate`.

>>> import lamina
>>> lamina.ops.matmul([[1.0, 2.0]], [[3.0], [4.0]]).tolist()
[[11.0]]
"""

import torch

from lamina.ops.operands import (
    axis_error,
    check_broadcastable,
    float_pair,
    promote,
    promote_wide,
    tensor,
)
from lamina.ops.operation import keras_op


def _product_operands(x1, x2, promote=promote):
    x1, x2 = promote(tensor(x1), tensor(x2))
    if x1.dtype == torch.bool:
        return x1.int(), x2.int(), torch.bool
    return x1, x2, x1.dtype


def _from_compute(out, dtype):
    if dtype == torch.bool:
        return out != 0
    return out if out.dtype == dtype else out.to(dtype)


def _explain_matmul(error, x1, x2):
    if isinstance(error, RuntimeError):
        raise ValueError(
            f"`matmul`: incompatible shapes {tuple(x1.shape)} and {tuple(x2.shape)}: the last "
            "axis of x1 must equal the second-to-last axis of x2 (batch axes broadcast)."
        ) from None


@keras_op("Matmul", module="numpy", bound=torch.matmul,
          guard="x1.__class__ is Tensor and x2.__class__ is Tensor and x1.dtype is x2.dtype "
                "and x1.dtype in FLOAT_DTYPES",
          explain=_explain_matmul)
def matmul(x1, x2):
    """Matrix product with numpy's rules for 1-D operands and batch broadcasting."""
    x1, x2, dtype = _product_operands(x1, x2)
    if dtype == torch.int8:
        # NOTE: Keras accumulates int8 products in int32 and returns int32.
        x1, x2, dtype = x1.int(), x2.int(), torch.int32
    try:
        return _from_compute(torch.matmul(x1, x2), dtype)
    except RuntimeError as error:
        _explain_matmul(error, x1, x2)
        raise


@keras_op("Dot", module="numpy")
def dot(x1, x2):
    """numpy.dot: a sum product over the last axis of `x1` and the second-to-last of `x2`."""
    x1, x2, dtype = _product_operands(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return _from_compute(x1 * x2, dtype)
    other_axis = 0 if x2.ndim == 1 else x2.ndim - 2
    try:
        out = torch.tensordot(x1, x2, dims=([x1.ndim - 1], [other_axis]))
    except RuntimeError:
        raise ValueError(
            f"`dot`: incompatible shapes {tuple(x1.shape)} and {tuple(x2.shape)}: "
            f"x1's last axis ({x1.shape[-1]}) must equal x2's axis {other_axis} "
            f"({x2.shape[other_axis]})."
        ) from None
    return _from_compute(out, dtype)


@keras_op("Tensordot", module="numpy", init_args=("axes",))
def tensordot(x1, x2, axes=2):
    """Sum products over `axes` (an int: last/first axes; or a pair of axis lists)."""
    x1, x2, dtype = _product_operands(x1, x2)
    if not isinstance(axes, int):
        axes = [[a] if isinstance(a, int) else list(a) for a in axes]
    try:
        return _from_compute(torch.tensordot(x1, x2, dims=axes), dtype)
    except RuntimeError:
        raise ValueError(
            f"`tensordot`: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not match "
            f"over axes={axes!r}."
        ) from None


@keras_op("Outer", module="numpy")
def outer(x1, x2):
    """Outer product of the flattened inputs."""
    x1, x2, dtype = _product_operands(x1, x2, promote_wide)
    return _from_compute(torch.outer(x1.reshape(-1), x2.reshape(-1)), dtype)


@keras_op("Einsum", module="numpy", init_args=("subscripts",))
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over `operands` described by `subscripts`."""
    operands = promote_wide(*operands)
    dtype = operands[0].dtype
    if dtype == torch.bool or dtype == torch.int8 or dtype == torch.uint8:
        # NOTE: Keras accumulates 8-bit ints (and bool) in int32 and returns int32.
        operands = [o.int() for o in operands]
        dtype = torch.int32
    try:
        return torch.einsum(subscripts, *operands)
    except RuntimeError as e:
        shapes = ", ".join(str(tuple(o.shape)) for o in operands)
        raise ValueError(
            f"`einsum`: subscripts {subscripts!r} do not fit operands of shapes {shapes}: {e}"
        ) from None


def _product_pair(x1, x2):
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        x1, x2 = x1.int(), x2.int()
    return x1, x2


@keras_op("Cross", module="numpy", init_args=("axisa", "axisb", "axisc", "axis"))
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (2-vectors are padded with a zero z component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = _product_pair(x1, x2)
    for v, ax in ((x1, axisa), (x2, axisb)):
        if not -v.ndim <= ax < v.ndim:
            raise axis_error(ax, v)
    a, b = torch.movedim(x1, axisa, -1), torch.movedim(x2, axisb, -1)
    for v, name in ((a, "x1"), (b, "x2")):
        if v.shape[-1] not in (2, 3):
            raise ValueError(f"`cross`: the vector axis of `{name}` must have size 2 or 3; "
                             f"received shape {tuple(v.shape)}.")
    two_d = a.shape[-1] == 2 and b.shape[-1] == 2
    if a.shape[-1] == 2:
        a = torch.nn.functional.pad(a, (0, 1))
    if b.shape[-1] == 2:
        b = torch.nn.functional.pad(b, (0, 1))
    try:
        a, b = torch.broadcast_tensors(a, b)
    except RuntimeError:
        check_broadcastable("cross", a, b)
        raise
    out = torch.linalg.cross(a, b, dim=-1)
    if two_d:
        return out[..., 2]
    if not -out.ndim <= axisc < out.ndim:
        raise axis_error(axisc, out)
    return torch.movedim(out, -1, axisc)


@keras_op("Inner", module="numpy")
def inner(x1, x2):
    """Inner product over the last axes (a plain product when either is a scalar)."""
    x1, x2 = _product_pair(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"`inner`: last dimensions differ: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}.")
    return torch.inner(x1, x2)


@keras_op("Vdot", module="numpy")
def vdot(x1, x2):
    """Dot product of the flattened inputs (conjugating `x1` when complex)."""
    x1, x2 = _product_pair(x1, x2)
    if x1.numel() != x2.numel():
        raise ValueError(f"`vdot`: inputs must have the same number of elements; received "
                         f"shapes {tuple(x1.shape)} and {tuple(x2.shape)}.")
    return torch.vdot(x1.reshape(-1), x2.reshape(-1))


@keras_op("Kron", module="numpy")
def kron(x1, x2):
    """Kronecker product (of bools: their logical AND, as bool)."""
    x1, x2 = promote_wide(x1, x2)
    if x1.dtype == torch.bool:
        return torch.kron(x1.int(), x2.int()) != 0
    return torch.kron(x1, x2)


@keras_op("Correlate", module="numpy", init_args=("mode",))
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (`mode`: "valid", "same" or "full")."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"`correlate`: `mode` must be 'valid', 'same' or 'full'; "
                         f"received {mode!r}.")
    x1, x2 = float_pair(x1, x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"`correlate` expects 1-D inputs; received shapes {tuple(x1.shape)} "
                         f"and {tuple(x2.shape)}.")
    n, m = x1.shape[0], x2.shape[0]
    if m > n:  # numpy swaps and reverses so the longer sequence slides
        return torch.flip(correlate(x2, x1, mode), [0])
    pad = {"valid": 0, "full": m - 1, "same": m // 2}[mode]
    right = {"valid": 0, "full": m - 1, "same": m - 1 - m // 2}[mode]
    x = torch.nn.functional.pad(x1[None, None], (pad, right))
    return torch.nn.functional.conv1d(x, x2[None, None])[0, 0]


__all__ = [
    "correlate",
    "cross",
    "dot",
    "einsum",
    "inner",
    "kron",
    "matmul",
    "outer",
    "tensordot",
    "vdot",
]
