"""Shared plumbing for the op modules: operand conversion, Keras promotion, error text.

Everything here runs on the eager hot path, so each helper is a few isinstance checks
and, at most, one dict lookup.
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import floatx_dtype, result_type, to_torch_dtype
from lamina.ops.operation import same_dtype_tensors

PY_NUMBERS = (bool, int, float)  # a tuple: also an isinstance() argument
_TORCH_RESULT = {}

# `keras_op` guards: expressions over the op's parameters, for ops whose `bound` torch
# function is exact on them. A float tensor: float unary functions need no conversion.
FLOAT_TENSOR = "x.__class__ is Tensor and x.dtype in FLOAT_DTYPES"
# Two plain tensors (torch's promotion is the op's), or a tensor and a weak Python float.
TENSORS_OR_WEAK_FLOAT = (
    "x1.__class__ is Tensor and x2.__class__ is Tensor or tensor_and_weak_float(x1, x2)")
# Same-dtype pairs promote to themselves except 64-bit types (Keras returns 32-bit ones).
_CANONICAL_SAME = {torch.int64: torch.int32, torch.float64: torch.float32,
                   torch.uint64: torch.uint32, torch.complex128: torch.complex64}


def tensor(x):
    """`x` as a torch tensor (tensors pass through untouched)."""
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def float_tensor(x):
    """`x` as a floating tensor: integer and bool input becomes `floatx()`."""
    if not isinstance(x, torch.Tensor):
        x = convert_to_tensor(x)
    if not x.is_floating_point():
        x = x.to(to_torch_dtype(config.floatx()))
    return x


def torch_result_type(*keys):
    """Keras' result dtype as a `torch.dtype`; keys are torch dtypes or Python types."""
    key = (config.floatx(), keys)  # a weak float's result follows floatx()
    try:
        return _TORCH_RESULT[key]
    except KeyError:
        dtype = _TORCH_RESULT[key] = to_torch_dtype(result_type(*keys))
        return dtype


def _key(x):
    return x.dtype if isinstance(x, torch.Tensor) else type(x)


def promote(*xs):
    """Tensors for `xs` in Keras' common dtype. Python numbers are weak and become 0-d
    tensors on the device of the first tensor."""
    if len(xs) == 2:
        a, b = xs
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype:
            dtype = _CANONICAL_SAME.get(a.dtype)
            if dtype is None:
                return xs
    xs = [x if isinstance(x, (torch.Tensor, *PY_NUMBERS)) else convert_to_tensor(x) for x in xs]
    dtype = torch_result_type(*[_key(x) for x in xs])
    device = next((x.device for x in xs if isinstance(x, torch.Tensor)), None)
    return [
        (x if x.dtype == dtype else x.to(dtype))
        if isinstance(x, torch.Tensor)
        else torch.tensor(x, dtype=dtype, device=device)
        for x in xs
    ]


def promote_same_kept(x1, x2):
    """As `promote`, but equal dtypes (float64 included) stay as they are: conv and linalg
    ops keep float64 in Keras, unlike element-wise binary ops."""
    if x1.dtype == x2.dtype:
        return x1, x2
    return promote(x1, x2)


def torch_operands(x1, x2):
    """Operands for ops that follow torch's own promotion (as Keras' torch backend does).

    A Python number next to a tensor stays a number (torch treats it as weak, like
    Keras); only an int next to a bool tensor must be a 0-d int32 so the result is int32.
    """
    # NOTE: `isinstance(number, torch.Tensor)` costs ~4x a class test (torch's metaclass),
    # so Python numbers are recognised by class first.
    c1, c2 = x1.__class__, x2.__class__
    if c1 is not torch.Tensor and (c1 in PY_NUMBERS or not isinstance(x1, torch.Tensor)):
        x1 = _number_or_tensor(x1, x2)
    if c2 is not torch.Tensor and (c2 in PY_NUMBERS or not isinstance(x2, torch.Tensor)):
        x2 = _number_or_tensor(x2, x1)
    return x1, x2


def _number_or_tensor(x, other):
    kind = x.__class__
    if kind is float and other.__class__ is torch.Tensor and config.floatx() == "float32":
        return x  # the common `tensor * 0.5`
    if isinstance(other, torch.Tensor) and kind in PY_NUMBERS:
        if kind is bool or (kind is int and other.dtype != torch.bool):
            return x
        if kind is float and config.floatx() == "float32":
            return x
    return convert_to_tensor(x)


def broadcast_binary(torch_fn, name, x1, x2):
    """`torch_fn(x1, x2)` on converted operands, its failures reported in the op's terms."""
    try:
        return torch_fn(x1, x2)
    except RuntimeError as error:
        explain_binary(name, error, x1, x2)
        raise


def explain_binary(name, error, x1, x2):
    """Raise a binary op's own error for operands torch refused: operand dtypes torch has
    no kernel for, or shapes that do not broadcast."""
    if isinstance(error, NotImplementedError):  # (a RuntimeError: torch has no such kernel)
        raise TypeError(f"`{name}` does not support operands of dtype {tensor(x1).dtype} and "
                        f"{tensor(x2).dtype} (neither does Keras); cast them to an integer or "
                        "float dtype.") from None
    if isinstance(error, RuntimeError):
        check_broadcastable(name, x1, x2)


def check_broadcastable(op_name, x1, x2):
    """Raise a ValueError naming both shapes when `x1` and `x2` cannot broadcast.

    Called only after torch has failed, so the hot path pays nothing."""
    s1, s2 = tuple(np.shape(x1)), tuple(np.shape(x2))
    try:
        torch.broadcast_shapes(s1, s2)
    except RuntimeError:
        raise ValueError(
            f"`{op_name}`: operands of shapes {s1} and {s2} cannot be broadcast together. "
            "Each dimension must match or be 1."
        ) from None


def axis_error(axis, x):
    return ValueError(
        f"`axis`={axis!r} is out of bounds for a tensor of rank {x.ndim} "
        f"(shape {tuple(x.shape)}); valid axes are {-x.ndim} to {x.ndim - 1}."
    )


def normalize_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"`axis`={axis!r} is out of bounds for a tensor of rank {ndim}; "
            f"valid axes are {-ndim} to {ndim - 1}."
        )
    return axis % ndim


def as_dims(axis):
    """Keras axis (None, int, list or tuple) as torch's `dim` argument."""
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(axis)


def shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(-1 if d is None else int(d) for d in shape)


_JOIN_WIDE = frozenset({torch.int64, torch.float64, torch.uint64, torch.complex128})


def join_operands(xs):
    """Tensors for the join ops (concatenate, stack, hstack, ...) in their common dtype.

    Keras' promotion, except that with any 64-bit operand Keras joins with torch's
    promotion (so float64 and int64 are kept, not canonicalised to 32 bits)."""
    if same_dtype_tensors(xs):
        return xs  # one dtype, nothing to promote
    xs = [tensor(x) for x in xs]
    if any(x.dtype in _JOIN_WIDE for x in xs):  # Keras-torch: torch's promotion, nothing narrowed
        dtype = xs[0].dtype
        for x in xs:
            dtype = torch.promote_types(dtype, x.dtype)
        return [x.to(dtype) for x in xs]
    return promote(*xs) if len(xs) > 1 else xs


_PROMOTE_WIDE = (torch.float64, torch.int64, torch.complex128)


def promote_wide(*xs):
    """As `promote`, but where a tensor operand is 64-bit the result follows torch's own
    promotion of the converted operands (float64 stays float64), as these Keras-torch ops
    do; Keras' `result_type` would narrow it to 32 bits."""
    xs = [x if isinstance(x, (torch.Tensor, bool, int, float)) else tensor(x) for x in xs]
    if not any(isinstance(x, torch.Tensor) and x.dtype in _PROMOTE_WIDE for x in xs):
        return promote(*xs)  # Python numbers stay weak
    xs = [x if isinstance(x, torch.Tensor) else tensor(x) for x in xs]
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype) if x.ndim else torch.result_type(
            torch.empty(1, dtype=dtype), x)
    return [x if x.dtype == dtype else x.to(dtype) for x in xs]


def float_pair(x1, x2, weak=False):
    """Operands promoted Keras-style, then made floating (`floatx()` for ints/bools).

    NOTE: most of these Keras ops convert both operands first, so a Python float is
    `floatx()`, not weak: `hypot(float16_tensor, 2.5)` is float32."""
    x1, x2 = promote(x1, x2) if weak else promote(tensor(x1), tensor(x2))
    if not x1.is_floating_point() and not x1.is_complex():
        dtype = floatx_dtype()
        x1, x2 = x1.to(dtype), x2.to(dtype)
    return x1, x2


def check_axes(x, axis):
    for a in (axis,) if isinstance(axis, int) else axis:
        if not -x.ndim <= a < x.ndim:
            raise axis_error(axis, x)
    return axis
