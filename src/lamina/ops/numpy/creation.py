"""Creation ops of `lamina.ops.numpy`: filled tensors, ranges, grids, triangular and
diagonal matrices, and signal windows.

>>> import lamina
>>> lamina.ops.arange(3).tolist()
[0, 1, 2]
"""

import builtins
import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import floatx_dtype, to_torch_dtype
from lamina.backend.symbolic import is_fake
from lamina.ops.operands import (
    PY_NUMBERS,
    float_tensor,
    join_operands,
    normalize_axis,
    shape_tuple,
    tensor,
    torch_result_type,
)
from lamina.ops.operation import keras_op


def _dtype_or_floatx(dtype):
    return floatx_dtype() if dtype is None else to_torch_dtype(dtype)


def zeros(shape, dtype=None):
    """A tensor of zeros (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    return torch.zeros(shape_tuple(shape), dtype=dtype, device=config.get_device())


def ones(shape, dtype=None):
    """A tensor of ones (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    return torch.ones(shape_tuple(shape), dtype=dtype, device=config.get_device())


@keras_op("ZerosLike", module="numpy", init_args=("dtype",))
def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype, unless given) of `x`."""
    return torch.zeros_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


@keras_op("OnesLike", module="numpy", init_args=("dtype",))
def ones_like(x, dtype=None):
    """Ones with the shape (and dtype, unless given) of `x`."""
    return torch.ones_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


@keras_op("Full", module="numpy", init_args=("shape", "dtype"))
def full(shape, fill_value, dtype=None):
    """A tensor of `shape` filled with `fill_value` (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    if isinstance(fill_value, PY_NUMBERS):
        return torch.full(shape_tuple(shape), fill_value, dtype=dtype, device=config.get_device())
    fill = tensor(fill_value).to(dtype)
    return torch.broadcast_to(fill, shape_tuple(shape)).clone()


@keras_op("FullLike", module="numpy", init_args=("dtype",))
def full_like(x, fill_value, dtype=None):
    """A tensor shaped like `x` filled with `fill_value` (dtype of `x` unless given)."""
    x = tensor(x)
    dtype = x.dtype if dtype is None else to_torch_dtype(dtype)
    if isinstance(fill_value, PY_NUMBERS):
        return torch.full_like(x, fill_value, dtype=dtype)
    return torch.broadcast_to(tensor(fill_value).to(dtype), x.shape).clone()


def _number_kind(v):
    if isinstance(v, torch.Tensor):
        return v.dtype
    if isinstance(v, (np.ndarray, np.generic)):
        return v.dtype
    return type(v)


@keras_op("Arange", module="numpy", init_args=("dtype",))
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)`; ints give int32, floats `floatx()`."""
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    if dtype is None:
        dtype = torch_result_type(*[_number_kind(v) for v in (start, stop, step)])
    else:
        dtype = to_torch_dtype(dtype)
    values = [v.item() if hasattr(v, "item") else v for v in (start, stop, step)]
    return torch.arange(*values, dtype=dtype, device=config.get_device())


@keras_op("Linspace", module="numpy", init_args=("num", "endpoint", "retstep", "dtype", "axis"))
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (array bounds give one line per
    element, stacked along `axis`)."""
    dtype = _dtype_or_floatx(dtype)
    start = tensor(start).to(torch.float64)
    stop = tensor(stop).to(torch.float64)
    div = num - 1 if endpoint else num
    step = (stop - start) / builtins.max(div, 1)
    t = torch.arange(num, dtype=torch.float64, device=start.device)
    t = t.reshape(-1, *([1] * builtins.max(start.ndim, stop.ndim)))
    values = start + t * step
    if endpoint and num > 1:
        values[-1] = stop
    if values.ndim > 1 and axis != 0:
        values = torch.movedim(values, 0, normalize_axis(axis, values.ndim))
    values = values.to(dtype)
    if retstep:
        return values, step.to(dtype) if step.ndim else step.item()
    return values


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras' names)
    """A 2-D tensor with ones on the `k`-th diagonal and zeros elsewhere."""
    M = N if M is None else M  # noqa: N806
    device = config.get_device()
    rows = torch.arange(N, device=device).unsqueeze(1)
    cols = torch.arange(M, device=device).unsqueeze(0)
    return (cols - rows == k).to(_dtype_or_floatx(dtype))


def identity(n, dtype=None):
    """The `n x n` identity matrix."""
    return eye(n, dtype=dtype)


@keras_op("Tril", module="numpy", init_args=("k",))
def tril(x, k=0):
    """Zero the values above the `k`-th diagonal (over the last two axes)."""
    return torch.tril(_matrices("tril", x), diagonal=k)


@keras_op("Triu", module="numpy", init_args=("k",))
def triu(x, k=0):
    """Zero the values below the `k`-th diagonal (over the last two axes)."""
    return torch.triu(_matrices("triu", x), diagonal=k)


def _matrices(name, x):
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`{name}` expects a tensor of rank >= 2; received shape "
                         f"{tuple(x.shape)}.")
    return x


@keras_op("Diag", module="numpy", init_args=("k",))
def diag(x, k=0):
    """A 1-D input becomes a diagonal matrix; a 2-D input gives its `k`-th diagonal."""
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"`diag` expects a 1-D or 2-D tensor. Received shape {tuple(x.shape)}.")
    return torch.diag(x, k)


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else floatx_dtype()
    return to_torch_dtype(dtype)


@keras_op("Diagflat", module="numpy", init_args=("k",))
def diagflat(x, k=0):
    """A 2-D tensor with the flattened `x` on diagonal `k`."""
    return torch.diagflat(tensor(x), offset=k)


@keras_op("Array", module="numpy", init_args=("dtype",))
def array(x, dtype=None):
    """`x` as a tensor (of `dtype` when given)."""
    x = tensor(x)
    return x if dtype is None else x.to(to_torch_dtype(dtype))


@keras_op("Copy", module="numpy")
def copy(x):
    """A copy of `x`."""
    return tensor(x).clone()


def empty(shape, dtype=None):
    """An uninitialised tensor of `shape` (`floatx()` unless `dtype` is given)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    return torch.empty(shape, dtype=_dtype(dtype), device=config.get_device())


@keras_op("EmptyLike", module="numpy", init_args=("dtype",))
def empty_like(x, dtype=None):
    """An uninitialised tensor with the shape (and dtype, unless given) of `x`."""
    return torch.empty_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras' names)
    """An `N x M` tensor with ones at and below diagonal `k`."""
    M = N if M is None else M  # noqa: N806
    ones = torch.ones((N, M), dtype=_dtype(dtype), device=config.get_device())
    return torch.tril(ones, diagonal=k)


def _spaced(start, stop, num, endpoint, dtype, axis):
    start, stop = torch.broadcast_tensors(*join_operands((float_tensor(start), float_tensor(stop))))
    steps = torch.arange(num, dtype=start.dtype, device=start.device)
    steps = steps / (num - 1 if endpoint else num) if num > 1 else steps * 0
    steps = steps.reshape((num,) + (1,) * start.ndim)
    out = start + steps * (stop - start)
    if endpoint and num > 1:  # the exact endpoint (out of place: keeps autograd happy)
        out = torch.cat([out[:-1], stop.unsqueeze(0)])
    return torch.movedim(out, 0, normalize_axis(axis, out.ndim)), start.dtype


@keras_op("Logspace", module="numpy", init_args=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`num` values evenly spaced on a log scale from `base**start` to `base**stop`."""
    exps, default = _spaced(start, stop, num, endpoint, dtype, axis)
    return torch.pow(torch.tensor(base, dtype=exps.dtype), exps).to(_dtype(dtype, default))


@keras_op("Geomspace", module="numpy", init_args=("num", "endpoint", "dtype", "axis"))
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values in geometric progression from `start` to `stop`."""
    start, stop = float_tensor(start), float_tensor(stop)
    if not is_fake(start) and (torch.any(start == 0) or torch.any(stop == 0)):
        raise ValueError("`geomspace`: `start` and `stop` must be nonzero.")
    start, stop = torch.broadcast_tensors(*join_operands((start, stop)))
    sign = torch.sign(start)
    logs, default = _spaced(torch.log10(torch.abs(start)), torch.log10(torch.abs(stop)),
                            num, endpoint, None, 0)
    out = sign * torch.pow(10.0, logs)
    if num > 1:  # the exact endpoints, free of log/pow rounding
        last = stop if endpoint else out[-1]
        out = torch.cat([start.unsqueeze(0), out[1:-1], last.unsqueeze(0)])
    elif num == 1:
        out = start.unsqueeze(0)
    return torch.movedim(out, 0, normalize_axis(axis, out.ndim)).to(_dtype(dtype, default))


@keras_op("Meshgrid", module="numpy", init_args=("indexing",))
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors (`indexing`: "xy" or "ij")."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"`indexing` must be 'xy' or 'ij'; received {indexing!r}.")
    vectors = [tensor(v).reshape(-1) for v in x]
    shape = [v.shape[0] for v in vectors]
    # Broadcast views (not torch.meshgrid) so that each grid keeps its own dtype, as in numpy.
    grids = [v.reshape([-1 if i == j else 1 for j in range(len(shape))]).expand(shape)
             for i, v in enumerate(vectors)]
    if indexing == "xy" and len(grids) > 1:
        grids = [g.transpose(0, 1) for g in grids]
    return grids


@keras_op("Vander", module="numpy", init_args=("N", "increasing"))
def vander(x, N=None, increasing=False):  # noqa: N803 (Keras' name)
    """Vandermonde matrix of 1-D `x` with `N` columns of powers."""
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"`vander` expects a 1-D tensor; received shape {tuple(x.shape)}.")
    dtype = torch.float32 if x.dtype == torch.float64 else x.dtype  # Keras' result dtype
    if x.dtype == torch.bool:
        x = x.int()
    n = x.shape[0] if N is None else int(N)
    # NOTE: powers by broadcasting, not torch.vander, whose backward fails (in-place op).
    powers = torch.arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    return torch.pow(x.unsqueeze(-1), powers).to(dtype)


def _window(name, fn, x):
    if isinstance(x, torch.Tensor):
        x = int(x)
    if not isinstance(x, (int, np.integer)):
        raise TypeError(f"`{name}` expects an int window length; received {x!r}.")
    x = int(x)
    if x <= 1:
        return torch.ones(max(x, 0), dtype=floatx_dtype(), device=config.get_device())
    return fn(x).to(floatx_dtype())


def _cosine_window(a, n):
    k = torch.arange(n, dtype=torch.float64, device=config.get_device())
    phase = 2 * math.pi * k / (n - 1)
    return sum(c * (-1) ** i * torch.cos(i * phase) for i, c in enumerate(a))


@keras_op("Bartlett", module="numpy")
def bartlett(x):
    """The triangular Bartlett window of length `x`."""
    def fn(n):
        k = torch.arange(n, dtype=torch.float64, device=config.get_device())
        return 1 - torch.abs(2 * k / (n - 1) - 1)
    return _window("bartlett", fn, x)


@keras_op("Blackman", module="numpy")
def blackman(x):
    """The Blackman window of length `x`."""
    return _window("blackman", lambda n: _cosine_window((0.42, 0.5, 0.08), n), x)


@keras_op("Hamming", module="numpy")
def hamming(x):
    """The Hamming window of length `x`."""
    return _window("hamming", lambda n: _cosine_window((0.54, 0.46), n), x)


@keras_op("Hanning", module="numpy")
def hanning(x):
    """The Hann window of length `x`."""
    return _window("hanning", lambda n: _cosine_window((0.5, 0.5), n), x)


@keras_op("Kaiser", module="numpy")
def kaiser(x, beta):
    """The Kaiser window of length `x` with shape parameter `beta`."""
    def fn(n):
        k = torch.arange(n, dtype=torch.float64, device=config.get_device())
        ratio = 2 * k / (n - 1) - 1
        beta64 = torch.tensor(float(beta), dtype=torch.float64)
        return torch.special.i0(beta64 * torch.sqrt(1 - ratio**2)) / torch.special.i0(beta64)
    return _window("kaiser", fn, x)


__all__ = [
    "arange",
    "array",
    "bartlett",
    "blackman",
    "copy",
    "diag",
    "diagflat",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "geomspace",
    "hamming",
    "hanning",
    "identity",
    "kaiser",
    "linspace",
    "logspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "tril",
    "triu",
    "vander",
    "zeros",
    "zeros_like",
]
