"""Shared plumbing for the op modules: operand conversion, Keras promotion, error text.

Everything here runs on the eager hot path, so each helper is a few isinstance checks
and, at most, one dict lookup.
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import result_type, to_torch_dtype
from lamina.ops.operation import FLOAT_DTYPES, keras_op

PY_NUMBERS = (bool, int, float)  # a tuple: also an isinstance() argument
_TORCH_RESULT = {}
# Same-dtype pairs promote to themselves except 64-bit types (Keras returns 32-bit ones).
_CANONICAL_SAME = {torch.int64: torch.int32, torch.float64: torch.float32,
                   torch.uint64: torch.uint32, torch.complex128: torch.complex64}


def tensor(x):
    """`x` as a torch tensor (tensors pass through untouched)."""
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def floatx_dtype():
    return to_torch_dtype(config.floatx())


def float_tensor(x):
    """`x` as a floating tensor: integer and bool input becomes `floatx()`."""
    if not isinstance(x, torch.Tensor):
        x = convert_to_tensor(x)
    if not x.is_floating_point():
        x = x.to(to_torch_dtype(config.floatx()))
    return x


def torch_result_type(*keys):
    """Keras' result dtype as a `torch.dtype`; keys are torch dtypes or Python types."""
    try:
        return _TORCH_RESULT[keys]
    except KeyError:
        dtype = _TORCH_RESULT[keys] = to_torch_dtype(result_type(*keys))
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


def float_unary_op(torch_fn, name, class_name, doc):
    """An element-wise op computing `torch_fn` in floating point: integer and bool input
    becomes `floatx()`; float tensors go straight to `torch_fn`."""

    def op(x):
        return torch_fn(float_tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return keras_op(class_name, bound=torch_fn, dtypes=FLOAT_DTYPES)(op)
