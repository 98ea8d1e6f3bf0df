"""`lamina.ops` statistics: quantiles, NaN-aware reductions, histograms, averages.

Re-exported by `lamina.ops.numpy`.

>>> import lamina
>>> lamina.ops.median([3.0, 1.0, 2.0]).item()
2.0
"""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import is_fake
from lamina.ops.operands import as_dims, axis_error, float_tensor, tensor, torch_result_type
from lamina.ops.operation import keras_op

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _to_last(x, axis):
    """`x` with the `axis` dims flattened into one trailing dim (all dims when None)."""
    if axis is None:
        return x.reshape(-1), None
    axes = [axis] if isinstance(axis, int) else list(axis)
    if any(not -x.ndim <= a < x.ndim for a in axes):
        raise axis_error(axis, x)
    axes = [a % x.ndim for a in axes]
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = x.permute(*rest, *axes)
    return moved.reshape(*[x.shape[d] for d in rest], -1), axes


def _keep(out, x, axes, extra_leading=0):
    """Re-insert reduced axes as size-1 dims (after `extra_leading` quantile dims)."""
    if axes is None:
        return out.reshape(out.shape[:extra_leading] + (1,) * x.ndim)
    for a in sorted(axes):
        out = out.unsqueeze(a + extra_leading)
    return out


def _quantile(x, q, axis, method, keepdims, nan):
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}; received {method!r}.")
    x = float_tensor(x)
    q = float_tensor(q).to(x.dtype)
    if not is_fake(q) and torch.any((q < 0) | (q > 1)):
        raise ValueError("`q` must be in [0, 1] (percentiles in [0, 100]).")
    flat, axes = _to_last(x, axis)
    compute = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    fn = torch.nanquantile if nan else torch.quantile
    # NOTE: Keras returns float32 for float64 input here; lamina keeps float64 (so that
    # float64 gradients stay exact, as tests/ops/test_extended_ops.py checks).
    out = fn(compute, q.to(compute.dtype), dim=-1, interpolation=method).to(_no_f64(x.dtype))
    if keepdims:
        out = _keep(out, x, axes, extra_leading=q.ndim)
    return out


@keras_op("Quantile", module="numpy", init_args=("axis", "method", "keepdims"))
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles (`q` in [0, 1]) over `axis`; quantile dims lead the result."""
    return _quantile(x, q, axis, method, keepdims, nan=False)


@keras_op("Nanquantile", module="numpy", init_args=("axis", "method", "keepdims"))
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """As `quantile`, ignoring NaN."""
    return _quantile(x, q, axis, method, keepdims, nan=True)


@keras_op("Percentile", module="numpy", init_args=("axis", "method", "keepdims"))
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles (`q` in [0, 100]) over `axis`."""
    return _quantile(x, float_tensor(q) / 100.0, axis, method, keepdims, nan=False)


@keras_op("Nanpercentile", module="numpy", init_args=("axis", "method", "keepdims"))
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """As `percentile`, ignoring NaN."""
    return _quantile(x, float_tensor(q) / 100.0, axis, method, keepdims, nan=True)


@keras_op("Median", module="numpy", init_args=("axis", "keepdims"))
def median(x, axis=None, keepdims=False):
    """Median over `axis` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, nan=False)


@keras_op("Nanmedian", module="numpy", init_args=("axis", "keepdims"))
def nanmedian(x, axis=None, keepdims=False):
    """As `median`, ignoring NaN."""
    return _quantile(x, 0.5, axis, "linear", keepdims, nan=True)


_SMALL_INTS = (torch.bool, torch.int8, torch.uint8, torch.int16, torch.int32)


def _no_f64(dtype):
    """Keras' result dtype for the float reductions here: float64 becomes float32."""
    return torch.float32 if dtype == torch.float64 else dtype


def _dims(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    dims = as_dims(axis)
    for a in (dims,) if isinstance(dims, int) else dims:
        if not -x.ndim <= a < max(x.ndim, 1):
            raise axis_error(axis, x)
    return dims


def _axis(axis, x):
    """A single int axis of `x`, checked (as torch's dim)."""
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise axis_error(axis, x)
    return axis


def _filled(x, value):
    return torch.where(torch.isnan(x), torch.full((), value, dtype=x.dtype, device=x.device), x)


def _nan_extremum(x, axis, keepdims, largest):
    x = tensor(x)
    if not x.is_floating_point():
        fn = torch.amax if largest else torch.amin
        return fn(x, dim=_dims(x, axis), keepdim=keepdims)
    fill = -torch.inf if largest else torch.inf
    fn = torch.amax if largest else torch.amin
    dims = _dims(x, axis)
    out = fn(_filled(x, fill), dim=dims, keepdim=keepdims)
    all_nan = torch.all(torch.isnan(x), dim=dims, keepdim=keepdims)
    return torch.where(all_nan, torch.full((), torch.nan, dtype=x.dtype, device=x.device), out)


@keras_op("Nanmax", module="numpy", init_args=("axis", "keepdims"))
def nanmax(x, axis=None, keepdims=False):
    """Maximum over `axis` ignoring NaN (NaN where every value is NaN)."""
    return _nan_extremum(x, axis, keepdims, largest=True)


@keras_op("Nanmin", module="numpy", init_args=("axis", "keepdims"))
def nanmin(x, axis=None, keepdims=False):
    """Minimum over `axis` ignoring NaN (NaN where every value is NaN)."""
    return _nan_extremum(x, axis, keepdims, largest=False)


@keras_op("Nansum", module="numpy", init_args=("axis", "keepdims"))
def nansum(x, axis=None, keepdims=False):
    """Sum over `axis` treating NaN as 0."""
    x = tensor(x)
    out = torch.nansum(x, dim=_dims(x, axis), keepdim=keepdims)
    return out.int() if x.dtype in _SMALL_INTS else out


@keras_op("Nanprod", module="numpy", init_args=("axis", "keepdims"))
def nanprod(x, axis=None, keepdims=False):
    """Product over `axis` treating NaN as 1."""
    x = tensor(x)
    if x.is_floating_point():
        x = _filled(x, 1.0)
    elif x.dtype in (torch.bool, torch.int8, torch.uint8, torch.int16):
        x = x.int()
    dims = _dims(x, axis)
    dims = (dims,) if isinstance(dims, int) else dims
    out = x
    for d in sorted((d % max(x.ndim, 1) for d in dims), reverse=True):
        out = torch.prod(out, dim=d, keepdim=keepdims)
    return out.int() if x.dtype in _SMALL_INTS else out.to(_no_f64(x.dtype))


@keras_op("Nanmean", module="numpy", init_args=("axis", "keepdims"))
def nanmean(x, axis=None, keepdims=False):
    """Mean over `axis` ignoring NaN."""
    x = float_tensor(x)
    return torch.nanmean(x, dim=_dims(x, axis), keepdim=keepdims).to(_no_f64(x.dtype))


@keras_op("Nanvar", module="numpy", init_args=("axis", "keepdims"))
def nanvar(x, axis=None, keepdims=False):
    """Population variance over `axis` ignoring NaN."""
    x = float_tensor(x)
    dims = _dims(x, axis)
    # NaNs are zeroed before any arithmetic so that no NaN reaches the gradients.
    valid = ~torch.isnan(x)
    count = torch.sum(valid, dim=dims, keepdim=True)
    x = torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
    mean = torch.sum(x, dim=dims, keepdim=True) / count
    centered = torch.where(valid, x - mean, torch.zeros((), dtype=x.dtype, device=x.device))
    out = torch.sum(torch.square(centered), dim=dims, keepdim=True) / count
    if not keepdims:
        out = out.squeeze(dims) if out.ndim else out
    return out.to(_no_f64(x.dtype))


@keras_op("Nanstd", module="numpy", init_args=("axis", "keepdims"))
def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation over `axis` ignoring NaN."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_arg(x, axis, keepdims, largest):
    x = tensor(x)
    fn = torch.argmax if largest else torch.argmin
    if x.dtype == torch.bool:
        x = x.int()
    if x.is_floating_point():
        x = _filled(x, -torch.inf if largest else torch.inf)
    if axis is None:
        out = fn(x.reshape(-1)).int()
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_axis(axis, x), keepdim=keepdims).int()


@keras_op("Nanargmax", module="numpy", init_args=("axis", "keepdims"))
def nanargmax(x, axis=None, keepdims=False):
    """Index of the maximum along `axis` ignoring NaN."""
    return _nan_arg(x, axis, keepdims, largest=True)


@keras_op("Nanargmin", module="numpy", init_args=("axis", "keepdims"))
def nanargmin(x, axis=None, keepdims=False):
    """Index of the minimum along `axis` ignoring NaN."""
    return _nan_arg(x, axis, keepdims, largest=False)


def _nan_cumulative(fn, fill, x, axis, dtype):
    x = tensor(x)
    if x.is_floating_point():
        x = _filled(x, fill)
    if dtype is not None:
        x = x.to(to_torch_dtype(dtype))
    elif x.dtype == torch.bool:
        x = x.int()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _axis(axis, x)
    # Keras keeps the input (or requested) dtype, except float64 which becomes float32.
    return fn(x, dim=axis).to(_no_f64(x.dtype))


@keras_op("Nancumsum", module="numpy", init_args=("axis", "dtype"))
def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (flattened when None) treating NaN as 0."""
    return _nan_cumulative(torch.cumsum, 0.0, x, axis, dtype)


@keras_op("Nancumprod", module="numpy", init_args=("axis", "dtype"))
def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (flattened when None) treating NaN as 1."""
    return _nan_cumulative(torch.cumprod, 1.0, x, axis, dtype)


@keras_op("Amax", module="numpy", init_args=("axis", "keepdims"))
def amax(x, axis=None, keepdims=False):
    """Maximum over `axis`."""
    x = tensor(x)
    return torch.amax(x, dim=_dims(x, axis), keepdim=keepdims)


@keras_op("Amin", module="numpy", init_args=("axis", "keepdims"))
def amin(x, axis=None, keepdims=False):
    """Minimum over `axis`."""
    x = tensor(x)
    return torch.amin(x, dim=_dims(x, axis), keepdim=keepdims)


@keras_op("Ptp", module="numpy", init_args=("axis", "keepdims"))
def ptp(x, axis=None, keepdims=False):
    """Peak to peak (`max - min`) over `axis`."""
    x = tensor(x)
    dims = _dims(x, axis)
    if x.dtype == torch.bool:
        raise TypeError("`ptp` does not support bool tensors (max - min is undefined for "
                        "booleans); cast `x` to an integer dtype first.")
    return torch.amax(x, dims, keepdims) - torch.amin(x, dims, keepdims)


@keras_op("Average", module="numpy", init_args=("axis",))
def average(x, axis=None, weights=None):
    """Mean over `axis`, weighted by `weights` (same shape, or 1-D along `axis`)."""
    x = float_tensor(x)
    if weights is None:
        return torch.mean(x, dim=_dims(x, axis)).to(_no_f64(x.dtype))
    w = float_tensor(weights)
    if axis is not None:
        _dims(x, axis)
    dtype = torch_result_type(x.dtype, w.dtype)
    x, w = x.to(dtype), w.to(dtype)
    if w.shape != x.shape:
        if axis is None or w.ndim != 1 or w.shape[0] != x.shape[axis]:
            raise ValueError(f"`average`: `weights` of shape {tuple(w.shape)} must match `x` "
                             f"{tuple(x.shape)} or be 1-D along axis={axis!r}.")
        shape = [1] * x.ndim
        shape[axis] = -1
        w = w.reshape(shape)
    dims = _dims(x, axis)
    return torch.sum(x * w, dim=dims) / torch.sum(w * torch.ones_like(x), dim=dims)


@keras_op("Bincount", module="numpy", init_args=("weights", "minlength", "sparse"))
def bincount(x, weights=None, minlength=0, sparse=False):
    """Count occurrences of each non-negative int in `x` (1-D, or 2-D counted per row)."""
    if sparse:
        raise ValueError("`bincount`: sparse output is not supported on torch.")
    x = tensor(x)
    if x.is_floating_point():
        raise TypeError(f"`bincount` expects an integer tensor; received {x.dtype}.")
    if x.ndim not in (1, 2):
        raise ValueError(f"`bincount` expects a 1-D or 2-D tensor; received rank {x.ndim}.")
    w = None if weights is None else tensor(weights)
    length = int(max(int(x.max()) + 1 if x.numel() else 0, minlength))
    flat, rows = x.long(), 1
    if x.ndim == 2:  # count each row into its own block of `length` bins
        rows = x.shape[0]
        flat = flat + torch.arange(rows, device=x.device)[:, None] * length
    flat = flat.reshape(-1)
    if w is None:
        out = torch.bincount(flat, minlength=length * rows)
    else:  # index_add (unlike torch.bincount) is differentiable in the weights
        w = w.reshape(-1).int() if w.dtype == torch.bool else w.reshape(-1)
        out = torch.zeros(length * rows, dtype=w.dtype, device=w.device).index_add(0, flat, w)
    if x.ndim == 2:
        out = out.reshape(rows, length)
    if w is None:
        return out.int()
    return out.to(w.dtype if w.dtype != torch.bool else torch.int32)


@keras_op("Histogram", module="numpy", init_args=("bins", "range"))
def histogram(x, bins=10, range=None):  # noqa: A002 (Keras' name)
    """Counts of 1-D `x` in `bins` equal-width bins over `range`; returns (counts, edges)."""
    x = float_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"`histogram` expects a 1-D tensor; received shape {tuple(x.shape)}.")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"`bins` must be a positive int; received {bins!r}.")
    lo, hi = (x.min(), x.max()) if range is None else (range[0], range[1])
    lo, hi = torch.as_tensor(lo, dtype=x.dtype), torch.as_tensor(hi, dtype=x.dtype)
    edges = torch.linspace(0, 1, bins + 1, dtype=x.dtype, device=x.device) * (hi - lo) + lo
    inside = (x >= lo) & (x <= hi)
    idx = torch.clamp(torch.searchsorted(edges, x, right=True) - 1, 0, bins - 1)
    # NOTE: Keras returns the counts in the (float) dtype of `x`, like torch.histogram.
    counts = torch.zeros(bins, dtype=x.dtype, device=x.device)
    counts.index_add_(0, idx[inside], torch.ones_like(idx[inside], dtype=x.dtype))
    return counts, edges


@keras_op("Corrcoef", module="numpy")
def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`."""
    x = float_tensor(x)
    if x.ndim > 2:
        raise ValueError(f"`corrcoef` expects a 1-D or 2-D tensor; received shape "
                         f"{tuple(x.shape)}.")
    # NOTE: by hand rather than torch.corrcoef, which reads values to pick a code path
    # (so it cannot run in a symbolic shape pass).
    compute = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    rows = compute.reshape(1, -1) if compute.ndim < 2 else compute
    centered = rows - rows.mean(dim=1, keepdim=True)
    cov = centered @ centered.mT
    std = torch.sqrt(torch.diagonal(cov))
    out = torch.clamp(cov / std[:, None] / std[None, :], -1, 1)
    return (out.reshape(()) if compute.ndim < 2 else out).to(x.dtype)


__all__ = [
    "amax",
    "amin",
    "average",
    "bincount",
    "corrcoef",
    "histogram",
    "median",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanpercentile",
    "nanprod",
    "nanquantile",
    "nanstd",
    "nansum",
    "nanvar",
    "percentile",
    "ptp",
    "quantile",
]
