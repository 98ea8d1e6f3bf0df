"""`lamina.ops` array extras: stacking/splitting, diagonals, set and search ops,
creation helpers and signal windows.

Re-exported by `lamina.ops.numpy`.

>>> import lamina
>>> lamina.ops.hstack([[1, 2], [3]]).tolist()
[1, 2, 3]
"""

import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import is_fake, unknown_size
from lamina.ops._helpers import (
    float_tensor,
    floatx_dtype,
    normalize_axis,
    promote,
    tensor,
    torch_result_type,
)
from lamina.ops.array import join_operands as _promoted
from lamina.ops.operation import keras_op


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else floatx_dtype()
    return to_torch_dtype(dtype)


# --- stacking and splitting -------------------------------------------------------------


@keras_op("Hstack")
def hstack(xs):
    """Concatenate along axis 1 (axis 0 for 1-D inputs)."""
    return _joined("hstack", torch.hstack, _promoted(xs))


@keras_op("Vstack")
def vstack(xs):
    """Concatenate along axis 0 (1-D inputs become rows)."""
    return _joined("vstack", torch.vstack, _promoted(xs))


@keras_op("Dstack")
def dstack(xs):
    """Concatenate along axis 2 (inputs are first made at least 3-D)."""
    return _joined("dstack", torch.dstack, _promoted(xs))


def _joined(name, fn, xs, **kwargs):
    try:
        return fn(xs, **kwargs)
    except RuntimeError:
        raise ValueError(f"`{name}`: the shapes {[tuple(x.shape) for x in xs]} do not match "
                         "outside the joining axis.") from None


@keras_op("Append")
def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (both flattened when None)."""
    x1, x2 = _promoted((x1, x2))
    if axis is None:
        return torch.cat([x1.reshape(-1), x2.reshape(-1)])
    if x1.ndim != x2.ndim:
        raise ValueError(f"`append`: ranks differ: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)} along axis={axis}.")
    return _joined("append", torch.cat, [x1, x2], dim=normalize_axis(axis, x1.ndim))


def _sections(indices_or_sections):
    if isinstance(indices_or_sections, int):
        return indices_or_sections
    return [int(i) for i in indices_or_sections]


@keras_op("ArraySplit")
def array_split(x, indices_or_sections, axis=0):
    """Split into sections that may differ in size by one (or at given indices)."""
    x = tensor(x)
    axis = normalize_axis(axis, x.ndim)
    return list(torch.tensor_split(x, _sections(indices_or_sections), dim=axis))


def _split_along(name, x, indices_or_sections, axis, min_rank):
    x = tensor(x)
    if x.ndim < min_rank:
        raise ValueError(f"`{name}` expects a tensor of rank >= {min_rank}; "
                         f"received shape {tuple(x.shape)}.")
    sections = _sections(indices_or_sections)
    if isinstance(sections, int) and x.shape[axis] % sections:
        raise ValueError(f"`{name}`: axis {axis} of size {x.shape[axis]} does not split into "
                         f"{sections} equal sections.")
    return list(torch.tensor_split(x, sections, dim=axis))


@keras_op("Hsplit")
def hsplit(x, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D input) into equal sections or at indices."""
    x = tensor(x)
    return _split_along("hsplit", x, indices_or_sections, 0 if x.ndim == 1 else 1, 1)


@keras_op("Vsplit")
def vsplit(x, indices_or_sections):
    """Split along axis 0 into equal sections or at indices."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


@keras_op("Dsplit")
def dsplit(x, indices_or_sections):
    """Split along axis 2 into equal sections or at indices."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


# --- flips, rotations, diagonals --------------------------------------------------------


@keras_op("Fliplr")
def fliplr(x):
    """Reverse axis 1."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`fliplr` expects rank >= 2; received shape {tuple(x.shape)}.")
    return torch.flip(x, [1])


@keras_op("Flipud")
def flipud(x):
    """Reverse axis 0."""
    x = tensor(x)
    if x.ndim < 1:
        raise ValueError("`flipud` expects rank >= 1; received a scalar.")
    return torch.flip(x, [0])


@keras_op("Rot90")
def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes`."""
    array = tensor(array)
    if array.ndim < 2:
        raise ValueError(f"`rot90` expects rank >= 2; received shape {tuple(array.shape)}.")
    if len(axes) != 2 or normalize_axis(axes[0], array.ndim) == normalize_axis(
        axes[1], array.ndim
    ):
        raise ValueError(f"`rot90`: `axes` must be two different axes; received {axes!r}.")
    return torch.rot90(array, k, list(axes))


@keras_op("Diagflat")
def diagflat(x, k=0):
    """A 2-D tensor with the flattened `x` on diagonal `k`."""
    return torch.diagflat(tensor(x), offset=k)


@keras_op("Diagonal")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the planes spanned by `axis1` and `axis2` (moved last)."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`diagonal` expects rank >= 2; received shape {tuple(x.shape)}.")
    axis1, axis2 = normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim)
    if axis1 == axis2:
        raise ValueError(f"`diagonal`: axis1 and axis2 must differ; both are axis {axis1}.")
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2)


@keras_op("Trace")
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of diagonal `offset` over the planes of `axis1` and `axis2`."""
    x = tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.uint8, torch.int16) \
        else x.dtype
    return torch.sum(diagonal(x, offset, axis1, axis2), dim=-1, dtype=dtype)


# --- search, sets, selection ------------------------------------------------------------


@keras_op("Nonzero")
def nonzero(x):
    """Coordinates of the nonzero entries as one int32 tensor of shape `(x.ndim, count)`
    (as Keras' torch backend returns them; row `i` holds the indices along axis `i`)."""
    x = tensor(x)
    if is_fake(x):  # symbolic: the count depends on the values
        return torch.empty((x.ndim, unknown_size()), dtype=torch.int32)
    return torch.nonzero(x).T.int()


@keras_op("Searchsorted")
def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted to keep the 1-D `sorted_sequence` sorted."""
    if side not in ("left", "right"):
        raise ValueError(f"`side` must be 'left' or 'right'; received {side!r}.")
    seq, vals = promote(tensor(sorted_sequence), tensor(values))
    if seq.ndim != 1:
        raise ValueError(f"`searchsorted` expects a 1-D `sorted_sequence`; received shape "
                         f"{tuple(seq.shape)}.")
    out_int32 = seq.shape[0] < 2**31 - 1
    return torch.searchsorted(seq, vals, side=side, out_int32=out_int32)


@keras_op("Digitize")
def digitize(x, bins):
    """Index of the bin (given by increasing `bins` edges) each value falls in."""
    x, bins = promote(tensor(x), tensor(bins))
    return torch.bucketize(x, bins, right=True, out_int32=True)


@keras_op("Isin")
def isin(x1, x2, assume_unique=False, invert=False):
    """True where elements of `x1` occur in `x2` (False with `invert=True`)."""
    x1, x2 = promote(tensor(x1), tensor(x2))
    if x1.dtype == torch.bool:  # torch.isin has no bool kernel
        x1, x2 = x1.int(), x2.int()
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


@keras_op("Unique")
def unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
           return_counts=False, axis=None, size=None, fill_value=None):
    """Unique elements (sorted); optionally first indices, inverse and counts.

    With `size`, the result is truncated or padded to `size` with `fill_value`
    (default 0). Index, inverse and count tensors are int64."""
    x = tensor(x)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim)
    flat = x.reshape(-1) if axis is None else x
    if is_fake(flat):  # symbolic: how many are unique depends on the values
        k, dim = unknown_size(), 0 if axis is None else axis
        values = flat.new_empty(flat.shape[:dim] + (k,) + flat.shape[dim + 1:])
        inverse = torch.empty(flat.shape[dim], dtype=torch.int64)
        counts = torch.empty(k, dtype=torch.int64)
    else:
        values, inverse, counts = torch.unique(flat, sorted=True, return_inverse=True,
                                               return_counts=True, dim=axis)
    sized = (lambda t, fill: t) if size is None else (lambda t, fill: _resize_1d(t, size, fill))
    outputs = [sized(values, fill_value)]
    if return_index:
        n = flat.shape[0 if axis is None else axis]
        positions = torch.arange(n, device=x.device)
        first = torch.full((values.shape[0 if axis is None else axis],), n, device=x.device,
                           dtype=positions.dtype)
        first = first.scatter_reduce(0, inverse.reshape(-1), positions, reduce="amin")
        outputs.append(sized(first, 0))
    if return_inverse:
        outputs.append(inverse if axis is not None else inverse.reshape(x.shape))
    if return_counts:
        outputs.append(sized(counts, 0))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _resize_1d(t, size, fill):
    if t.shape[0] >= size:
        return t[:size]
    fill = 0 if fill is None else fill
    pad = torch.full((size - t.shape[0], *t.shape[1:]), fill, dtype=t.dtype, device=t.device)
    return torch.cat([t, pad])


@keras_op("UnravelIndex")
def unravel_index(indices, shape):
    """Flat `indices` as a tuple of coordinate tensors for an array of `shape`."""
    indices = tensor(indices)
    if indices.is_floating_point():
        raise TypeError(f"`unravel_index` expects integer indices; received {indices.dtype}.")
    coords = []
    for dim in reversed(tuple(int(s) for s in shape)):
        coords.append(torch.remainder(indices, dim))
        indices = torch.div(indices, dim, rounding_mode="floor")
    return tuple(c.int() for c in reversed(coords))


@keras_op("Select")
def select(condlist, choicelist, default=0):
    """Pick from `choicelist[i]` where `condlist[i]` is first true, else `default`."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"`select`: `condlist` and `choicelist` must have the same length; "
                         f"received {len(condlist)} and {len(choicelist)}.")
    if not condlist:
        raise ValueError("`select`: `condlist` must not be empty.")
    choices = [tensor(c) for c in choicelist]
    # NOTE: as in Keras, the dtype is promoted pairwise from the last choice (with the
    # default) to the first, so it can depend on the order of `choicelist`.
    out = default if isinstance(default, (bool, int, float)) else tensor(default)
    wide = any(c.dtype == torch.float64 for c in choices)
    for cond, choice in zip(reversed(condlist), reversed(choices)):
        key = out.dtype if isinstance(out, torch.Tensor) else type(out)
        dtype = torch.float64 if wide else torch_result_type(choice.dtype, key)
        if not isinstance(out, torch.Tensor):
            out = torch.tensor(out, dtype=dtype, device=choice.device)
        cond = tensor(cond)
        try:
            out = torch.where(cond.bool(), choice.to(dtype), out.to(dtype))
        except RuntimeError:
            raise ValueError(
                f"`select`: condition of shape {tuple(cond.shape)}, choice of shape "
                f"{tuple(choice.shape)} and default/result of shape {tuple(out.shape)} cannot "
                "be broadcast together."
            ) from None
    return out


@keras_op("Argpartition")
def argpartition(x, kth, axis=-1):
    """Indices that partition `x` along `axis` around its `kth` smallest element."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    axis = normalize_axis(axis, x.ndim)
    if not -x.shape[axis] <= kth < x.shape[axis]:
        raise ValueError(f"`kth`={kth} is out of bounds for axis {axis} of size "
                         f"{x.shape[axis]}.")
    # NOTE: a stable full sort is a valid partition (every element before kth is <= it).
    return torch.argsort(x, dim=axis, stable=True).int()


# --- creation ---------------------------------------------------------------------------


@keras_op("Array")
def array(x, dtype=None):
    """`x` as a tensor (of `dtype` when given)."""
    x = tensor(x)
    return x if dtype is None else x.to(to_torch_dtype(dtype))


@keras_op("Copy")
def copy(x):
    """A copy of `x`."""
    return tensor(x).clone()


def empty(shape, dtype=None):
    """An uninitialised tensor of `shape` (`floatx()` unless `dtype` is given)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    return torch.empty(shape, dtype=_dtype(dtype), device=config.get_device())


@keras_op("EmptyLike")
def empty_like(x, dtype=None):
    """An uninitialised tensor with the shape (and dtype, unless given) of `x`."""
    return torch.empty_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras' names)
    """An `N x M` tensor with ones at and below diagonal `k`."""
    M = N if M is None else M  # noqa: N806
    ones = torch.ones((N, M), dtype=_dtype(dtype), device=config.get_device())
    return torch.tril(ones, diagonal=k)


def _spaced(start, stop, num, endpoint, dtype, axis):
    start, stop = torch.broadcast_tensors(*_promoted((float_tensor(start), float_tensor(stop))))
    steps = torch.arange(num, dtype=start.dtype, device=start.device)
    steps = steps / (num - 1 if endpoint else num) if num > 1 else steps * 0
    steps = steps.reshape((num,) + (1,) * start.ndim)
    out = start + steps * (stop - start)
    if endpoint and num > 1:  # the exact endpoint (out of place: keeps autograd happy)
        out = torch.cat([out[:-1], stop.unsqueeze(0)])
    return torch.movedim(out, 0, normalize_axis(axis, out.ndim)), start.dtype


@keras_op("Logspace")
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`num` values evenly spaced on a log scale from `base**start` to `base**stop`."""
    exps, default = _spaced(start, stop, num, endpoint, dtype, axis)
    return torch.pow(torch.tensor(base, dtype=exps.dtype), exps).to(_dtype(dtype, default))


@keras_op("Geomspace")
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values in geometric progression from `start` to `stop`."""
    start, stop = float_tensor(start), float_tensor(stop)
    if not is_fake(start) and (torch.any(start == 0) or torch.any(stop == 0)):
        raise ValueError("`geomspace`: `start` and `stop` must be nonzero.")
    start, stop = torch.broadcast_tensors(*_promoted((start, stop)))
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


@keras_op("Meshgrid")
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


@keras_op("Vander")
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


@keras_op("Bartlett")
def bartlett(x):
    """The triangular Bartlett window of length `x`."""
    def fn(n):
        k = torch.arange(n, dtype=torch.float64, device=config.get_device())
        return 1 - torch.abs(2 * k / (n - 1) - 1)
    return _window("bartlett", fn, x)


@keras_op("Blackman")
def blackman(x):
    """The Blackman window of length `x`."""
    return _window("blackman", lambda n: _cosine_window((0.42, 0.5, 0.08), n), x)


@keras_op("Hamming")
def hamming(x):
    """The Hamming window of length `x`."""
    return _window("hamming", lambda n: _cosine_window((0.54, 0.46), n), x)


@keras_op("Hanning")
def hanning(x):
    """The Hann window of length `x`."""
    return _window("hanning", lambda n: _cosine_window((0.5, 0.5), n), x)


@keras_op("Kaiser")
def kaiser(x, beta):
    """The Kaiser window of length `x` with shape parameter `beta`."""
    def fn(n):
        k = torch.arange(n, dtype=torch.float64, device=config.get_device())
        ratio = 2 * k / (n - 1) - 1
        beta64 = torch.tensor(float(beta), dtype=torch.float64)
        return torch.special.i0(beta64 * torch.sqrt(1 - ratio**2)) / torch.special.i0(beta64)
    return _window("kaiser", fn, x)


# --- views and functional helpers -------------------------------------------------------


@keras_op("View")
def view(x, dtype=None):
    """The bytes of `x` reinterpreted as `dtype` (the last axis rescales by item size)."""
    x = tensor(x)
    if dtype is None:
        return x
    dtype = to_torch_dtype(dtype)
    try:
        return x.view(dtype)
    except RuntimeError:
        raise ValueError(
            f"`view`: a {x.dtype} tensor of shape {tuple(x.shape)} cannot be viewed as "
            f"{dtype}: the last axis times the item size must divide into whole items."
        ) from None


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` mapped over the leading axis of its tensor arguments (numpy-style).

    Without `signature` the function is applied element-wise via `torch.vmap`."""
    excluded = set(excluded or ())

    def wrapped(*args, **kwargs):
        tensor_pos = [i for i, a in enumerate(args) if i not in excluded]
        args = [tensor(a) if i in tensor_pos else a for i, a in enumerate(args)]
        core = _core_ranks(signature, len(tensor_pos))
        fn = pyfunc
        shapes = torch.broadcast_shapes(*[args[i].shape[:args[i].ndim - c]
                                          for i, c in zip(tensor_pos, core)])
        for i, c in zip(tensor_pos, core):
            args[i] = args[i].expand(*shapes, *args[i].shape[args[i].ndim - c:])
        in_dims = tuple(0 if i in tensor_pos else None for i in range(len(args)))
        for _ in range(len(shapes)):
            fn = torch.vmap(fn, in_dims=in_dims)
        return fn(*args, **kwargs)

    return wrapped


def _core_ranks(signature, n):
    if signature is None:
        return [0] * n
    inputs = signature.split("->")[0]
    groups = inputs.replace(" ", "").strip("()").split("),(")
    return [len([d for d in g.split(",") if d]) for g in groups]


__all__ = [
    "append", "argpartition", "array", "array_split", "bartlett", "blackman", "copy",
    "diagflat", "diagonal", "digitize", "dsplit", "dstack", "empty", "empty_like", "fliplr",
    "flipud", "geomspace", "hamming", "hanning", "hsplit", "hstack", "isin", "kaiser",
    "logspace", "meshgrid", "nonzero", "rot90", "searchsorted", "select", "trace", "tri",
    "unique", "unravel_index", "vander", "vectorize", "view", "vsplit", "vstack",
]
