"""`lamina.ops.numpy`: NumPy-style math on torch tensors with Keras' dtype rules.

Element-wise ops, reductions and products live here; shape and creation ops live in
`lamina.ops.array` and are re-exported below, so `lamina.ops.numpy` holds the whole
family as in Keras.

Dtype rules follow Keras with its torch backend: `add`, `subtract`, `multiply`, `mod`,
`power` and `divide` use torch's promotion (Python numbers are weak); `maximum`,
`minimum`, `floor_divide`, `arctan2`, `clip`, `where` and the products use Keras'
`result_type`; float functions of integers give `floatx()`.

>>> import lamina
>>> lamina.ops.add([1, 2], 0.5).tolist()
[1.5, 2.5]
"""

import operator

import torch
from torch import Tensor

from lamina.backend.symbolic import is_fake, unknown_size
from lamina.ops._helpers import (
    as_dims,
    axis_error,
    check_broadcastable,
    float_tensor,
    float_unary_op,
    promote,
    tensor,
    torch_operands,
    torch_result_type,
)
from lamina.ops.array import *  # noqa: F403  (re-export: Keras keeps them in one namespace)
from lamina.ops.array import __all__ as _array_names
from lamina.ops.core import ndim, size  # noqa: F401  (Keras lists them under numpy too)
from lamina.ops.elementwise import *  # noqa: F403
from lamina.ops.elementwise import __all__ as _elementwise_names
from lamina.ops.elementwise import promote_wide
from lamina.ops.linalg import slogdet  # noqa: F401  (Keras lists it under numpy too)
from lamina.ops.manipulation import *  # noqa: F403
from lamina.ops.manipulation import __all__ as _manipulation_names
from lamina.ops.operation import FLOAT_DTYPES, keras_op, tensor_and_weak_float
from lamina.ops.statistics import *  # noqa: F403
from lamina.ops.statistics import __all__ as _statistics_names

# --- binary arithmetic with torch's promotion -------------------------------------------


def _operand_dtypes_error(name, x1, x2):
    return TypeError(f"`{name}` does not support operands of dtype "
                     f"{tensor(x1).dtype} and {tensor(x2).dtype} (neither does Keras); "
                     "cast them to an integer or float dtype.")


def _tensor_pair(x1, x2):
    return tensor(x1), tensor(x2)


def _binary(torch_fn, name, class_name, doc, operands=torch_operands, **dispatch):
    """A broadcasting binary op: `operands` converts the inputs (torch's promotion with weak
    Python numbers, Keras' `promote`, or plain conversion), then `torch_fn` computes."""

    def op(x1, x2):
        x1, x2 = operands(x1, x2)
        try:
            return torch_fn(x1, x2)
        except NotImplementedError:  # (a RuntimeError subclass: torch has no such kernel)
            raise _operand_dtypes_error(name, x1, x2) from None
        except RuntimeError:
            check_broadcastable(name, x1, x2)
            raise

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return keras_op(class_name, **dispatch)(op)


add = _binary(operator.add, "add", "Add", "Element-wise `x1 + x2` with broadcasting.",
                       bound=operator.add, guard=tensor_and_weak_float)
multiply = _binary(operator.mul, "multiply", "Multiply",
                            "Element-wise `x1 * x2` with broadcasting.",
                            bound=operator.mul, guard=tensor_and_weak_float)
divide = _binary(operator.truediv, "divide", "Divide",
                          "Element-wise true division; integer operands give a float result.")
true_divide = _binary(operator.truediv, "true_divide", "TrueDivide", "Same as `divide`.")
power = _binary(operator.pow, "power", "Power", "Element-wise `x1 ** x2`.")


@keras_op("Subtract", bound=operator.sub, guard=tensor_and_weak_float)
def subtract(x1, x2):
    """Element-wise `x1 - x2` with broadcasting."""
    if x1.__class__ is not Tensor or x2.__class__ is not Tensor:
        x1, x2 = torch_operands(x1, x2)
    try:
        return x1 - x2
    except RuntimeError:
        check_broadcastable("subtract", x1, x2)
        if tensor(x1).dtype != torch.bool and tensor(x2).dtype != torch.bool:
            raise
    # NOTE: torch refuses `-` on bool; Keras subtracts in the promoted dtype.
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        raise ValueError("`subtract` does not accept two bool operands; cast one to a number.")
    return x1 - x2


@keras_op("Mod")
def mod(x1, x2):
    """Element-wise remainder with the sign of the divisor (like `numpy.mod`)."""
    x1, x2 = torch_operands(x1, x2)
    try:
        return torch.remainder(x1, x2)
    except RuntimeError:
        check_broadcastable("mod", x1, x2)
        if tensor(x1).dtype == torch.bool and tensor(x2).dtype == torch.bool:
            return torch.remainder(tensor(x1).int(), tensor(x2).int())
        raise


# --- binary ops with Keras' result_type -----------------------------------------------


floor_divide = _binary(torch.floor_divide, "floor_divide", "FloorDivide",
                       "Element-wise `floor(x1 / x2)` in the promoted dtype.", promote)
maximum = _binary(torch.maximum, "maximum", "Maximum",
                  "Element-wise maximum (NaN propagates).", promote)
minimum = _binary(torch.minimum, "minimum", "Minimum",
                  "Element-wise minimum (NaN propagates).", promote)


@keras_op("Arctan2")
def arctan2(x1, x2):
    """Element-wise arc tangent of `x1 / x2`, choosing the quadrant; float result."""
    # NOTE: Keras converts both operands first, so Python numbers are not weak here.
    x1, x2 = promote(tensor(x1), tensor(x2), 1.0)[:2]
    try:
        return torch.atan2(x1, x2)
    except RuntimeError:
        check_broadcastable("arctan2", x1, x2)
        raise


def _comparison(torch_fn, name, class_name):
    return _binary(torch_fn, name, class_name,
                   f"Element-wise `{name}` comparison; returns a bool tensor.", promote)


equal = _comparison(torch.eq, "equal", "Equal")
not_equal = _comparison(torch.ne, "not_equal", "NotEqual")
less = _comparison(torch.lt, "less", "Less")
less_equal = _comparison(torch.le, "less_equal", "LessEqual")
greater = _comparison(torch.gt, "greater", "Greater")
greater_equal = _comparison(torch.ge, "greater_equal", "GreaterEqual")


def _logical(torch_fn, name, class_name):
    return _binary(torch_fn, name, class_name,
                   f"Element-wise `{name}` of the truth values; returns a bool tensor.",
                   _tensor_pair)


logical_and = _logical(torch.logical_and, "logical_and", "LogicalAnd")
logical_or = _logical(torch.logical_or, "logical_or", "LogicalOr")
logical_xor = _logical(torch.logical_xor, "logical_xor", "LogicalXor")


@keras_op("LogicalNot")
def logical_not(x):
    """Element-wise logical NOT; returns a bool tensor."""
    return torch.logical_not(tensor(x))


@keras_op("Clip")
def clip(x, x_min, x_max):
    """Clip values to `[x_min, x_max]`. Bool input is clipped as int32."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    x, x_min, x_max = promote_wide(x, x_min, x_max)
    try:
        return torch.clamp(x, x_min, x_max)
    except RuntimeError:
        _check_broadcastable3("clip", x, x_min, x_max)
        raise


@keras_op("Where")
def where(condition, x1=None, x2=None):
    """Pick `x1` where `condition` is true, else `x2`. With only `condition`, return the
    indices of its nonzero entries as one int64 tensor of shape `(condition.ndim, count)`,
    as Keras' torch backend does (row `i` indexes axis `i`, so `rows, cols = where(c)`
    unpacks like numpy's tuple)."""
    condition = tensor(condition)
    if x1 is None and x2 is None:
        if is_fake(condition):  # symbolic: the count depends on the values
            return torch.empty((condition.ndim, unknown_size()), dtype=torch.int64)
        return torch.nonzero(condition).T
    if x1 is None or x2 is None:
        raise ValueError("`where` needs both `x1` and `x2`, or neither.")
    x1, x2 = promote_wide(x1, x2)
    if condition.dtype != torch.bool:
        condition = condition != 0
    try:
        return torch.where(condition, x1, x2)
    except RuntimeError:
        _check_broadcastable3("where", condition, x1, x2)
        raise


def _check_broadcastable3(name, *xs):
    shapes = [tuple(x.shape) for x in xs]
    try:
        torch.broadcast_shapes(*shapes)
    except RuntimeError:
        raise ValueError(
            f"`{name}`: operands of shapes {', '.join(map(str, shapes))} cannot be broadcast "
            "together. Each dimension must match or be 1."
        ) from None


# --- unary element-wise ---------------------------------------------------------------


_float_unary = float_unary_op


sqrt = _float_unary(torch.sqrt, "sqrt", "Sqrt", "Element-wise square root.")
exp = _float_unary(torch.exp, "exp", "Exp", "Element-wise `e ** x`.")
expm1 = _float_unary(torch.expm1, "expm1", "Expm1", "Element-wise `exp(x) - 1`, exact near 0.")
log = _float_unary(torch.log, "log", "Log", "Element-wise natural logarithm.")
log1p = _float_unary(torch.log1p, "log1p", "Log1p", "Element-wise `log(1 + x)`, exact near 0.")
log2 = _float_unary(torch.log2, "log2", "Log2", "Element-wise base-2 logarithm.")
log10 = _float_unary(torch.log10, "log10", "Log10", "Element-wise base-10 logarithm.")
sin = _float_unary(torch.sin, "sin", "Sin", "Element-wise sine.")
cos = _float_unary(torch.cos, "cos", "Cos", "Element-wise cosine.")
tan = _float_unary(torch.tan, "tan", "Tan", "Element-wise tangent.")
tanh = _float_unary(torch.tanh, "tanh", "Tanh", "Element-wise hyperbolic tangent.")
arcsin = _float_unary(torch.asin, "arcsin", "Arcsin", "Element-wise inverse sine.")
arccos = _float_unary(torch.acos, "arccos", "Arccos", "Element-wise inverse cosine.")
arctan = _float_unary(torch.atan, "arctan", "Arctan", "Element-wise inverse tangent.")
sinh = _float_unary(torch.sinh, "sinh", "Sinh", "Element-wise hyperbolic sine.")
cosh = _float_unary(torch.cosh, "cosh", "Cosh", "Element-wise hyperbolic cosine.")
arcsinh = _float_unary(torch.asinh, "arcsinh", "Arcsinh", "Element-wise inverse sinh.")
arccosh = _float_unary(torch.acosh, "arccosh", "Arccosh", "Element-wise inverse cosh.")
arctanh = _float_unary(torch.atanh, "arctanh", "Arctanh", "Element-wise inverse tanh.")
reciprocal = _float_unary(torch.reciprocal, "reciprocal", "Reciprocal", "Element-wise `1 / x`.")


def _rounding_tensor(x):
    # NOTE: Keras types floor/ceil as result_type(x, float): ints become floatx, and 64-bit
    # floats come back as float32 (its canonical float).
    x = tensor(x)
    dtype = torch_result_type(x.dtype, float)
    return x if x.dtype == dtype else x.to(dtype)


@keras_op("Floor")
def floor(x):
    """Element-wise floor; float result."""
    return torch.floor(_rounding_tensor(x))


@keras_op("Ceil")
def ceil(x):
    """Element-wise ceiling; float result."""
    return torch.ceil(_rounding_tensor(x))


@keras_op("Round")
def round(x, decimals=0):  # noqa: A001 (Keras' name)
    """Round half to even to `decimals` places; integers keep their dtype."""
    x = tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals)
    if x.dtype == torch.bool:
        raise ValueError("`round` does not accept bool tensors; cast to a number first.")
    if decimals >= 0:
        return x.clone()
    factor = 10 ** (-decimals)
    return (torch.round(x.double() / factor) * factor).to(x.dtype)


@keras_op("Negative")
def negative(x):
    """Element-wise `-x`."""
    return torch.neg(tensor(x))


@keras_op("Absolute")
def absolute(x):
    """Element-wise absolute value (bool input is returned as is)."""
    x = tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


@keras_op("Absolute")
def abs(x):  # noqa: A001 (Keras' name)
    """Same as `absolute`."""
    x = tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


@keras_op("Sign")
def sign(x):
    """Element-wise sign: -1, 0 or 1 in the input's dtype."""
    return torch.sign(tensor(x))


@keras_op("Square")
def square(x):
    """Element-wise `x * x`; bool input gives int32."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    return torch.square(x)


@keras_op("Isnan")
def isnan(x):
    """Element-wise test for NaN."""
    return torch.isnan(tensor(x))


@keras_op("Isinf")
def isinf(x):
    """Element-wise test for positive or negative infinity."""
    return torch.isinf(tensor(x))


@keras_op("Isfinite")
def isfinite(x):
    """Element-wise test for finite values (not NaN, not infinite)."""
    return torch.isfinite(tensor(x))


# --- reductions -----------------------------------------------------------------------

# NOTE: Keras sums small ints in int32 (torch would use int64) and keeps int64.
_SUM_DTYPE = {
    torch.bool: torch.int32,
    torch.uint8: torch.int32,
    torch.int8: torch.int32,
    torch.int16: torch.int32,
}


def _reduce(fn, x, axis, keepdims, **kwargs):
    if axis == ():
        return x
    try:
        if axis is None:
            out = fn(x, **kwargs)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return fn(x, dim=as_dims(axis), keepdim=keepdims, **kwargs)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Sum")
def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """Sum over `axis` (None: all axes); small ints and bool sum in int32."""
    if x.__class__ is not Tensor:
        x = tensor(x)
    if x.is_floating_point() and axis.__class__ is int:
        try:
            return torch.sum(x, axis, keepdims)
        except IndexError:
            raise axis_error(axis, x) from None
    return _reduce(torch.sum, x, axis, keepdims, dtype=_SUM_DTYPE.get(x.dtype, x.dtype))


@keras_op("Mean")
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integer input gives `floatx()`."""
    if x.__class__ is not Tensor or not x.is_floating_point():
        x = float_tensor(x)
    if axis.__class__ is int:
        try:
            return torch.mean(x, axis, keepdims)
        except IndexError:
            raise axis_error(axis, x) from None
    return _reduce(torch.mean, x, axis, keepdims)


def _extremum(torch_fn, pick, x, axis, keepdims, initial):
    x = tensor(x)
    if axis == ():
        out = x
    else:
        try:
            out = torch_fn(x, dim=() if axis is None else as_dims(axis), keepdim=keepdims)
        except IndexError:
            raise axis_error(axis, x) from None
    if initial is not None:
        out = pick(out, torch.tensor(initial, dtype=out.dtype, device=out.device))
    return out


@keras_op("Max")
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 (Keras' name)
    """Maximum over `axis`, optionally no smaller than `initial`."""
    return _extremum(torch.amax, torch.maximum, x, axis, keepdims, initial)


@keras_op("Min")
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 (Keras' name)
    """Minimum over `axis`, optionally no larger than `initial`."""
    return _extremum(torch.amin, torch.minimum, x, axis, keepdims, initial)


def _flatten_axes(x, axis):
    """Move the reduced `axis` (tuple) to the end and merge it into one dimension."""
    axes = sorted({a % x.ndim for a in axis})
    rest = [d for d in range(x.ndim) if d not in axes]
    merged = 1
    for a in axes:
        merged *= x.shape[a]  # explicit: `-1` is ambiguous for empty tensors
    return x.permute(*rest, *axes).reshape(*[x.shape[d] for d in rest], merged), axes


@keras_op("Prod")
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis`; integers multiply in int32 unless `dtype` is given."""
    x = tensor(x)
    if dtype is None:
        dtype = torch_result_type(x.dtype)
        dtype = _SUM_DTYPE.get(dtype, dtype)
    else:
        dtype = torch_result_type(dtype)
    if x.dtype == torch.bool or (dtype.is_floating_point and not x.is_floating_point()):
        x = x.to(dtype)
    if dtype == torch.bool:
        dtype = torch.int32
    if axis is None:
        out = torch.prod(x, dtype=dtype)
        return out.reshape((1,) * x.ndim) if keepdims else out
    axes = (axis,) if isinstance(axis, int) else axis
    for a in axes:  # NOTE: the builtins `any`/`max` are shadowed by the ops here
        if not -x.ndim <= a < x.ndim:
            raise axis_error(axis, x)
    axis = axes
    try:
        flat, axes = _flatten_axes(x, axis)
    except (IndexError, ZeroDivisionError):
        raise axis_error(axis, x) from None
    out = torch.prod(flat, dim=-1, dtype=dtype)
    if keepdims:
        for a in axes:
            out = out.unsqueeze(a)
    return out


def _moment(torch_fn, x, axis, keepdims):
    x = float_tensor(x)
    if axis is None:
        out = torch_fn(x, correction=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    try:
        return torch_fn(x, dim=as_dims(axis), correction=0, keepdim=keepdims)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Std")
def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof=0) over `axis`."""
    return _moment(torch.std, x, axis, keepdims)


@keras_op("Var")
def var(x, axis=None, keepdims=False):
    """Population variance (ddof=0) over `axis`."""
    out = _moment(torch.var, x, axis, keepdims)
    # NOTE: Keras returns its canonical float for var: float64 comes back as float32.
    return out.float() if out.dtype == torch.float64 else out


@keras_op("All")
def all(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """True where every value along `axis` is truthy."""
    return _reduce(torch.all, tensor(x), axis, keepdims).bool()


@keras_op("Any")
def any(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """True where some value along `axis` is truthy."""
    return _reduce(torch.any, tensor(x), axis, keepdims).bool()


def _arg_extremum(torch_fn, x, axis, keepdims):
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    try:
        out = torch_fn(x, dim=axis, keepdim=keepdims)
    except IndexError:
        raise axis_error(axis, x) from None
    return out.to(torch.int32)


@keras_op("Argmax")
def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the first maximum along `axis` (None: of the flattened input)."""
    return _arg_extremum(torch.argmax, x, axis, keepdims)


@keras_op("Argmin")
def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the first minimum along `axis` (None: of the flattened input)."""
    return _arg_extremum(torch.argmin, x, axis, keepdims)


def _cumulative(torch_fn, x, axis, dtype):
    x = tensor(x)
    if dtype is None:
        dtype = torch.int32 if x.dtype == torch.bool else torch_result_type(x.dtype)
    else:
        dtype = torch_result_type(dtype)
    if axis is None:
        x, axis = x.reshape(-1), 0
    try:
        return torch_fn(x, dim=axis, dtype=dtype)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Cumsum")
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (None: over the flattened input)."""
    return _cumulative(torch.cumsum, x, axis, dtype)


@keras_op("Cumprod")
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (None: over the flattened input)."""
    return _cumulative(torch.cumprod, x, axis, dtype)


@keras_op("CountNonzero")
def count_nonzero(x, axis=None):
    """Number of nonzero values along `axis`, as int32."""
    x = tensor(x)
    if axis == ():
        return (x != 0).int()
    try:
        return torch.count_nonzero(x, dim=as_dims(axis)).to(torch.int32)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Sort")
def sort(x, axis=-1):
    """Values sorted ascending along `axis` (None: the flattened input)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    try:
        return torch.sort(x, dim=axis, stable=True).values
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Argsort")
def argsort(x, axis=-1):
    """Indices (int32) that sort `x` along `axis`; ties keep their order."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    try:
        return torch.argsort(x, dim=axis, stable=True).to(torch.int32)
    except IndexError:
        raise axis_error(axis, x) from None


# --- products -------------------------------------------------------------------------


def _product_operands(x1, x2, promote=promote):
    x1, x2 = promote(tensor(x1), tensor(x2))
    if x1.dtype == torch.bool:
        return x1.int(), x2.int(), torch.bool
    return x1, x2, x1.dtype


def _from_compute(out, dtype):
    if dtype == torch.bool:
        return out != 0
    return out if out.dtype == dtype else out.to(dtype)


@keras_op("Matmul", bound=torch.matmul, dtypes=FLOAT_DTYPES)
def matmul(x1, x2):
    """Matrix product with numpy's rules for 1-D operands and batch broadcasting."""
    if (
        x1.__class__ is Tensor
        and x2.__class__ is Tensor
        and x1.dtype is x2.dtype
        and x1.dtype in FLOAT_DTYPES
    ):
        try:
            return torch.matmul(x1, x2)
        except RuntimeError:
            pass  # the general path below reports the shapes
    x1, x2, dtype = _product_operands(x1, x2)
    if dtype == torch.int8:
        # NOTE: Keras accumulates int8 products in int32 and returns int32.
        x1, x2, dtype = x1.int(), x2.int(), torch.int32
    try:
        return _from_compute(torch.matmul(x1, x2), dtype)
    except RuntimeError:
        raise ValueError(
            f"`matmul`: incompatible shapes {tuple(x1.shape)} and {tuple(x2.shape)}: the last "
            "axis of x1 must equal the second-to-last axis of x2 (batch axes broadcast)."
        ) from None


@keras_op("Dot")
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


@keras_op("Tensordot")
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


@keras_op("Outer")
def outer(x1, x2):
    """Outer product of the flattened inputs."""
    x1, x2, dtype = _product_operands(x1, x2, promote_wide)
    return _from_compute(torch.outer(x1.reshape(-1), x2.reshape(-1)), dtype)


@keras_op("Einsum")
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


__all__ = [
    *_array_names, *_elementwise_names, *_manipulation_names, *_statistics_names,
    "ndim", "size", "slogdet",
    "absolute", "abs", "add", "all", "any", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort", "ceil", "clip", "cos",
    "cosh", "count_nonzero", "cumprod", "cumsum", "divide", "dot", "einsum", "equal", "exp",
    "expm1", "floor", "floor_divide", "greater", "greater_equal", "isfinite", "isinf",
    "isnan", "less", "less_equal", "log", "log10", "log1p", "log2", "logical_and",
    "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mod", "multiply", "negative", "not_equal", "outer", "power", "prod",
    "reciprocal", "round", "sign", "sin", "sinh", "sort", "sqrt", "square", "std",
    "subtract", "sum", "tan", "tanh", "tensordot", "true_divide", "var", "where",
]
