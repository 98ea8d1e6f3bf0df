"""Reductions of `lamina.ops.numpy`: sums, means, extrema, moments, truth tests, arg
extrema, cumulative sums and products, differences and integrals.

>>> import lamina
>>> lamina.ops.sum([[1, 2], [3, 4]], axis=0).tolist()
[4, 6]
"""


import torch
from torch import Tensor

from lamina.ops.numpy.shape import diagonal
from lamina.ops.operands import (
    as_dims,
    axis_error,
    float_tensor,
    tensor,
    torch_result_type,
)
from lamina.ops.operation import keras_op

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


@keras_op("Sum", module="numpy", init_args=("axis", "keepdims"))
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


@keras_op("Mean", module="numpy", init_args=("axis", "keepdims"))
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


@keras_op("Max", module="numpy", init_args=("axis", "keepdims", "initial"))
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 (Keras' name)
    """Maximum over `axis`, optionally no smaller than `initial`."""
    return _extremum(torch.amax, torch.maximum, x, axis, keepdims, initial)


@keras_op("Min", module="numpy", init_args=("axis", "keepdims", "initial"))
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


@keras_op("Prod", module="numpy", init_args=("axis", "keepdims", "dtype"))
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


@keras_op("Std", module="numpy", init_args=("axis", "keepdims"))
def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof=0) over `axis`."""
    return _moment(torch.std, x, axis, keepdims)


@keras_op("Var", module="numpy", init_args=("axis", "keepdims"))
def var(x, axis=None, keepdims=False):
    """Population variance (ddof=0) over `axis`."""
    out = _moment(torch.var, x, axis, keepdims)
    # NOTE: Keras returns its canonical float for var: float64 comes back as float32.
    return out.float() if out.dtype == torch.float64 else out


@keras_op("All", module="numpy", init_args=("axis", "keepdims"))
def all(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """True where every value along `axis` is truthy."""
    return _reduce(torch.all, tensor(x), axis, keepdims).bool()


@keras_op("Any", module="numpy", init_args=("axis", "keepdims"))
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


@keras_op("Argmax", module="numpy", init_args=("axis", "keepdims"))
def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the first maximum along `axis` (None: of the flattened input)."""
    return _arg_extremum(torch.argmax, x, axis, keepdims)


@keras_op("Argmin", module="numpy", init_args=("axis", "keepdims"))
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


@keras_op("Cumsum", module="numpy", init_args=("axis", "dtype"))
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (None: over the flattened input)."""
    return _cumulative(torch.cumsum, x, axis, dtype)


@keras_op("Cumprod", module="numpy", init_args=("axis", "dtype"))
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (None: over the flattened input)."""
    return _cumulative(torch.cumprod, x, axis, dtype)


@keras_op("CountNonzero", module="numpy", init_args=("axis",))
def count_nonzero(x, axis=None):
    """Number of nonzero values along `axis`, as int32."""
    x = tensor(x)
    if axis == ():
        return (x != 0).int()
    try:
        return torch.count_nonzero(x, dim=as_dims(axis)).to(torch.int32)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Diff", module="numpy", init_args=("n", "axis"))
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis`."""
    a = tensor(a)
    try:
        return torch.diff(a, n=n, dim=axis)
    except IndexError:
        raise axis_error(axis, a) from None


@keras_op("Trapezoid", module="numpy", init_args=("x", "dx", "axis"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule."""
    y = float_tensor(y)
    if not -y.ndim <= axis < y.ndim:
        raise axis_error(axis, y)
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    x = float_tensor(x).to(y.dtype)
    return torch.trapezoid(y, x=x, dim=axis)


@keras_op("Trace", module="numpy", init_args=("offset", "axis1", "axis2"))
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of diagonal `offset` over the planes of `axis1` and `axis2`."""
    x = tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.uint8, torch.int16) \
        else x.dtype
    return torch.sum(diagonal(x, offset, axis1, axis2), dim=-1, dtype=dtype)


__all__ = [
    "all",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "diff",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "trace",
    "trapezoid",
    "var",
]
