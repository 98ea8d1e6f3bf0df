"""Shape, indexing and creation ops of `lamina.ops.numpy` (re-exported there).

>>> import lamina
>>> lamina.ops.expand_dims(lamina.ops.zeros((2, 3)), (0, -1)).shape
torch.Size([1, 2, 3, 1])
"""

import builtins

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._helpers import (
    PY_NUMBERS,
    axis_error,
    floatx_dtype,
    normalize_axis,
    promote,
    tensor,
    torch_result_type,
)
from lamina.ops.operation import keras_op, same_dtype_tensors


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(-1 if d is None else int(d) for d in shape)


_WIDE = frozenset({torch.int64, torch.float64, torch.uint64, torch.complex128})
_REVERSED_AXES = [tuple(range(n - 1, -1, -1)) for n in range(9)]


def join_operands(xs):
    """Tensors for the join ops (concatenate, stack, hstack, ...) in their common dtype.

    Keras' promotion, except that with any 64-bit operand Keras joins with torch's
    promotion (so float64 and int64 are kept, not canonicalised to 32 bits)."""
    if same_dtype_tensors(xs):
        return xs  # one dtype, nothing to promote
    xs = [tensor(x) for x in xs]
    if any(x.dtype in _WIDE for x in xs):  # Keras-torch: torch's promotion, nothing narrowed
        dtype = xs[0].dtype
        for x in xs:
            dtype = torch.promote_types(dtype, x.dtype)
        return [x.to(dtype) for x in xs]
    return promote(*xs) if len(xs) > 1 else xs


@keras_op("Reshape", bound=torch.reshape, tensors=("x",))
def reshape(x, newshape):
    """`x` with shape `newshape` (one entry may be -1 or None: inferred)."""
    if x.__class__ is not torch.Tensor:
        x = tensor(x)
    try:
        if type(newshape) is tuple and None not in newshape:
            return torch.reshape(x, newshape)
        return torch.reshape(x, _shape_tuple(newshape))
    except RuntimeError:
        raise ValueError(
            f"`reshape`: cannot reshape a tensor of shape {tuple(x.shape)} "
            f"({x.numel()} values) into shape {tuple(np.atleast_1d(newshape).tolist())}."
        ) from None


@keras_op("Transpose")
def transpose(x, axes=None):
    """Permute the axes (None: reverse them)."""
    if x.__class__ is not torch.Tensor:
        x = tensor(x)
    if axes is None:
        ndim = x.ndim
        if ndim == 2:
            return x.mT  # the same view as permute((1, 0)), at half the call cost
        axes = _REVERSED_AXES[ndim] if ndim < 9 else tuple(range(ndim - 1, -1, -1))
        return torch.permute(x, axes)
    try:
        return x.permute(*axes)
    except (RuntimeError, IndexError):
        raise ValueError(
            f"`transpose`: axes={tuple(axes)} is not a permutation of the {x.ndim} axes "
            f"of a tensor of shape {tuple(x.shape)}."
        ) from None


@keras_op("ExpandDims")
def expand_dims(x, axis):
    """Insert size-1 axes at `axis` (an int or a tuple, positions in the output)."""
    x = tensor(x)
    if isinstance(axis, int):
        try:
            return torch.unsqueeze(x, axis)
        except IndexError:
            raise ValueError(
                f"`axis`={axis} is out of bounds for expand_dims on a tensor of rank "
                f"{x.ndim}; valid axes are {-x.ndim - 1} to {x.ndim}."
            ) from None
    out_ndim = x.ndim + len(axis)
    for a in sorted(normalize_axis(a, out_ndim) for a in axis):
        x = torch.unsqueeze(x, a)
    return x


@keras_op("Squeeze")
def squeeze(x, axis=None):
    """Remove size-1 axes: all of them, or those in `axis` (which must have size 1)."""
    x = tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        a = normalize_axis(a, x.ndim)
        if x.shape[a] != 1:
            raise ValueError(
                f"`squeeze`: axis {a} has size {x.shape[a]}, not 1 (input shape "
                f"{tuple(x.shape)}); only size-1 axes can be removed."
            )
    return torch.squeeze(x, axes)


@keras_op("Concatenate", bound=torch.cat, tensors=("xs",), guard=same_dtype_tensors)
def concatenate(xs, axis=0):
    """Join tensors along an existing `axis` (None: flatten them first)."""
    xs = join_operands(xs)
    if axis is None:
        xs, axis = [x.reshape(-1) for x in xs], 0
    try:
        return torch.cat(xs, dim=axis)
    except (RuntimeError, IndexError):
        if xs and xs[0].ndim:
            normalize_axis(axis, xs[0].ndim)
        shapes = [tuple(x.shape) for x in xs]
        raise ValueError(
            f"`concatenate`: shapes {shapes} must match except along axis {axis}."
        ) from None


@keras_op("Stack", bound=torch.stack, tensors=("x",), guard=same_dtype_tensors)
def stack(x, axis=0):
    """Join same-shaped tensors along a new `axis`."""
    xs = join_operands(x)
    try:
        return torch.stack(xs, dim=axis)
    except (RuntimeError, IndexError):
        if xs:  # the new axis may go anywhere in the rank + 1 output
            normalize_axis(axis, xs[0].ndim + 1)
        shapes = [tuple(t.shape) for t in xs]
        raise ValueError(
            f"`stack`: all shapes must be equal, got {shapes} (axis={axis})."
        ) from None


@keras_op("Split")
def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices; returns a list."""
    x = tensor(x)
    axis = normalize_axis(axis, x.ndim)
    if isinstance(indices_or_sections, int):
        size = x.shape[axis]
        if size % indices_or_sections:
            raise ValueError(
                f"`split`: axis {axis} of size {size} cannot be split into "
                f"{indices_or_sections} equal sections."
            )
        return list(torch.split(x, size // indices_or_sections, dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


def _index_tensor(indices, size):
    """Indices as int64 with negative entries counted from the end; float indices are
    truncated toward zero, as Keras does."""
    indices = tensor(indices)
    if indices.dtype != torch.int64:
        if indices.is_complex():
            raise TypeError(f"Indices must be integers; received a {indices.dtype} tensor.")
        indices = indices.long()
    return torch.where(indices < 0, indices + size, indices)


@keras_op("Take")
def take(x, indices, axis=None):
    """Values of `x` at `indices` along `axis` (None: of the flattened `x`)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = normalize_axis(axis, x.ndim)
    idx = _index_tensor(indices, x.shape[axis])
    out = torch.index_select(x, axis, idx.reshape(-1))
    return out.reshape((*x.shape[:axis], *idx.shape, *x.shape[axis + 1 :]))


@keras_op("TakeAlongAxis")
def take_along_axis(x, indices, axis=None):
    """Values of `x` at `indices` along `axis`, the other axes broadcasting."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
        indices = tensor(indices).reshape(-1)
    axis = normalize_axis(axis, x.ndim)
    indices = _index_tensor(indices, x.shape[axis])
    try:
        return torch.take_along_dim(x, indices, dim=axis)
    except RuntimeError:
        raise ValueError(
            f"`take_along_axis`: indices of shape {tuple(indices.shape)} do not broadcast with "
            f"`x` of shape {tuple(x.shape)} outside axis {axis}."
        ) from None


def _pad_index(size, before, after, mode, device):
    # NOTE: numpy's reflect/symmetric modes fold the index back and forth, so pads
    # longer than the axis work too.
    i = torch.arange(-before, size + after, device=device)
    if mode == "reflect":
        period = builtins.max(2 * (size - 1), 1)
        i = i.remainder(period)
        return torch.where(i >= size, period - i, i)
    period = 2 * size
    i = i.remainder(period)
    return torch.where(i >= size, period - 1 - i, i)


@keras_op("Pad")
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad `x`; `pad_width` is numpy's: an int, a `(before, after)` pair, or one per axis.

    `mode` is "constant" (with `constant_values`, default 0), "reflect" or "symmetric".
    """
    x = tensor(x)
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    except ValueError:
        raise ValueError(
            f"`pad`: pad_width={pad_width!r} does not give (before, after) pairs for the "
            f"{x.ndim} axes of a tensor of shape {tuple(x.shape)}."
        ) from None
    if mode not in ("constant", "reflect", "symmetric"):
        raise ValueError(
            f"`pad`: mode must be 'constant', 'reflect' or 'symmetric'. Received: mode={mode!r}"
        )
    if mode == "constant":
        flat = [int(v) for pair in widths[::-1] for v in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    if constant_values is not None:
        raise ValueError(
            f"`pad`: constant_values is only used with mode='constant'. Received: mode={mode!r}"
        )
    for axis, (before, after) in enumerate(widths):
        if before or after:
            idx = _pad_index(x.shape[axis], int(before), int(after), mode, x.device)
            x = torch.index_select(x, axis, idx)
    return x


@keras_op("Tile")
def tile(x, repeats):
    """Repeat the whole tensor `repeats` times per axis (numpy.tile)."""
    repeats = _shape_tuple(repeats)
    if builtins.min(repeats, default=0) < 0:
        raise ValueError(f"`tile`: repeats must be non-negative; received {repeats}.")
    return torch.tile(tensor(x), repeats)


@keras_op("Repeat")
def repeat(x, repeats, axis=None):
    """Repeat each element `repeats` times along `axis` (None: flattened)."""
    x = tensor(x)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim)
    if not isinstance(repeats, int):
        repeats = tensor(repeats)
        if repeats.is_floating_point():
            raise TypeError(f"`repeat`: repeats must be integers; received {repeats.dtype}.")
        repeats = repeats.long()
    return torch.repeat_interleave(x, repeats, dim=axis)


@keras_op("Flip")
def flip(x, axis=None):
    """Reverse the order along `axis` (None: all axes)."""
    x = tensor(x)
    dims = range(x.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    try:
        return torch.flip(x, tuple(dims))
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Roll")
def roll(x, shift, axis=None):
    """Shift elements cyclically along `axis` (None: over the flattened tensor)."""
    x = tensor(x)
    if isinstance(axis, (tuple, list)) and isinstance(shift, int):
        shift = (shift,) * len(axis)  # numpy broadcasts one shift over several axes
    try:
        if axis is None:
            return torch.roll(x, shift)
        return torch.roll(x, shift, dims=axis)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("BroadcastTo")
def broadcast_to(x, shape):
    """`x` broadcast (as a view) to `shape`."""
    x = tensor(x)
    try:
        return torch.broadcast_to(x, _shape_tuple(shape))
    except RuntimeError:
        raise ValueError(
            f"`broadcast_to`: cannot broadcast shape {tuple(x.shape)} to {tuple(shape)}."
        ) from None


@keras_op("Ravel")
def ravel(x):
    """The flattened (1-D) tensor."""
    return torch.ravel(tensor(x))


@keras_op("Swapaxes")
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    x = tensor(x)
    try:
        return torch.swapaxes(x, axis1, axis2)
    except IndexError:
        raise axis_error((axis1, axis2), x) from None


@keras_op("Moveaxis")
def moveaxis(x, source, destination):
    """Move axes `source` to positions `destination` (ints or sequences)."""
    x = tensor(x)
    try:
        return torch.movedim(x, source, destination)
    except IndexError:
        raise axis_error((source, destination), x) from None


@keras_op("GetItem")
def get_item(x, key):
    """`x[key]` with numpy-style indexing."""
    return tensor(x)[key]


# --- creation -------------------------------------------------------------------------


def _dtype_or_floatx(dtype):
    return floatx_dtype() if dtype is None else to_torch_dtype(dtype)


def zeros(shape, dtype=None):
    """A tensor of zeros (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    return torch.zeros(_shape_tuple(shape), dtype=dtype, device=config.get_device())


def ones(shape, dtype=None):
    """A tensor of ones (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    return torch.ones(_shape_tuple(shape), dtype=dtype, device=config.get_device())


@keras_op("ZerosLike")
def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype, unless given) of `x`."""
    return torch.zeros_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


@keras_op("OnesLike")
def ones_like(x, dtype=None):
    """Ones with the shape (and dtype, unless given) of `x`."""
    return torch.ones_like(tensor(x), dtype=None if dtype is None else to_torch_dtype(dtype))


@keras_op("Full")
def full(shape, fill_value, dtype=None):
    """A tensor of `shape` filled with `fill_value` (`floatx()` unless `dtype` is given)."""
    dtype = _dtype_or_floatx(dtype)
    if isinstance(fill_value, PY_NUMBERS):
        return torch.full(_shape_tuple(shape), fill_value, dtype=dtype, device=config.get_device())
    fill = tensor(fill_value).to(dtype)
    return torch.broadcast_to(fill, _shape_tuple(shape)).clone()


@keras_op("FullLike")
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


@keras_op("Arange")
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


@keras_op("Linspace")
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


@keras_op("Tril")
def tril(x, k=0):
    """Zero the values above the `k`-th diagonal (over the last two axes)."""
    return torch.tril(_matrices("tril", x), diagonal=k)


@keras_op("Triu")
def triu(x, k=0):
    """Zero the values below the `k`-th diagonal (over the last two axes)."""
    return torch.triu(_matrices("triu", x), diagonal=k)


def _matrices(name, x):
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`{name}` expects a tensor of rank >= 2; received shape "
                         f"{tuple(x.shape)}.")
    return x


@keras_op("Diag")
def diag(x, k=0):
    """A 1-D input becomes a diagonal matrix; a 2-D input gives its `k`-th diagonal."""
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"`diag` expects a 1-D or 2-D tensor. Received shape {tuple(x.shape)}.")
    return torch.diag(x, k)


__all__ = [
    "arange", "broadcast_to", "concatenate", "diag", "expand_dims", "eye", "flip", "full",
    "full_like", "get_item", "identity", "linspace", "moveaxis", "ones", "ones_like", "pad",
    "ravel", "repeat", "reshape", "roll", "split", "squeeze", "stack", "swapaxes", "take",
    "take_along_axis", "tile", "transpose", "tril", "triu", "zeros", "zeros_like",
]
