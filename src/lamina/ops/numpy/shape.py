"""Shape and indexing ops of `lamina.ops.numpy`: reshaping, transposing, joining,
splitting, flipping, padding, repeating and gathering.

>>> import lamina
>>> lamina.ops.reshape(lamina.ops.arange(6), (2, 3)).shape
torch.Size([2, 3])
"""

import builtins

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops.operands import (
    axis_error,
    join_operands,
    normalize_axis,
    shape_tuple,
    tensor,
)
from lamina.ops.operation import keras_op

_REVERSED_AXES = [tuple(range(n - 1, -1, -1)) for n in range(9)]


def _explain_reshape(error, x, newshape):
    if isinstance(error, RuntimeError):
        raise ValueError(
            f"`reshape`: cannot reshape a tensor of shape {tuple(x.shape)} "
            f"({x.numel()} values) into shape {tuple(np.atleast_1d(newshape).tolist())}."
        ) from None


@keras_op("Reshape", module="numpy", init_args=("newshape",), bound=torch.reshape,
          guard="x.__class__ is Tensor and newshape.__class__ is tuple and None not in newshape",
          explain=_explain_reshape)
def reshape(x, newshape):
    """`x` with shape `newshape` (one entry may be -1 or None: inferred)."""
    if x.__class__ is not torch.Tensor:
        x = tensor(x)
    try:
        return torch.reshape(x, shape_tuple(newshape))
    except RuntimeError as error:
        _explain_reshape(error, x, newshape)
        raise


@keras_op("Transpose", module="numpy", init_args=("axes",))
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


@keras_op("ExpandDims", module="numpy", init_args=("axis",))
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


@keras_op("Squeeze", module="numpy", init_args=("axis",))
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


def _explain_concatenate(error, xs, axis):
    if isinstance(error, (RuntimeError, IndexError)):
        if xs and xs[0].ndim:
            normalize_axis(axis, xs[0].ndim)
        shapes = [tuple(x.shape) for x in xs]
        raise ValueError(
            f"`concatenate`: shapes {shapes} must match except along axis {axis}."
        ) from None


@keras_op("Concatenate", module="numpy", init_args=("axis",), bound=torch.cat,
          guard="same_dtype_tensors(xs) and axis.__class__ is int",
          explain=_explain_concatenate)
def concatenate(xs, axis=0):
    """Join tensors along an existing `axis` (None: flatten them first)."""
    xs = join_operands(xs)
    if axis is None:
        xs, axis = [x.reshape(-1) for x in xs], 0
    try:
        return torch.cat(xs, dim=axis)
    except (RuntimeError, IndexError) as error:
        _explain_concatenate(error, xs, axis)
        raise


def _explain_stack(error, xs, axis):
    if isinstance(error, (RuntimeError, IndexError)):
        if xs:  # the new axis may go anywhere in the rank + 1 output
            normalize_axis(axis, xs[0].ndim + 1)
        shapes = [tuple(t.shape) for t in xs]
        raise ValueError(
            f"`stack`: all shapes must be equal, got {shapes} (axis={axis})."
        ) from None


@keras_op("Stack", module="numpy", init_args=("axis",), bound=torch.stack,
          guard="same_dtype_tensors(x) and axis.__class__ is int", explain=_explain_stack)
def stack(x, axis=0):
    """Join same-shaped tensors along a new `axis`."""
    xs = join_operands(x)
    try:
        return torch.stack(xs, dim=axis)
    except (RuntimeError, IndexError) as error:
        _explain_stack(error, xs, axis)
        raise


@keras_op("Split", module="numpy", init_args=("indices_or_sections", "axis"))
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


@keras_op("Take", module="numpy", init_args=("axis",))
def take(x, indices, axis=None):
    """Values of `x` at `indices` along `axis` (None: of the flattened `x`)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = normalize_axis(axis, x.ndim)
    idx = _index_tensor(indices, x.shape[axis])
    out = torch.index_select(x, axis, idx.reshape(-1))
    return out.reshape((*x.shape[:axis], *idx.shape, *x.shape[axis + 1 :]))


@keras_op("TakeAlongAxis", module="numpy", init_args=("axis",))
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


@keras_op("Pad", module="numpy", init_args=("pad_width", "mode"))
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


@keras_op("Tile", module="numpy", init_args=("repeats",))
def tile(x, repeats):
    """Repeat the whole tensor `repeats` times per axis (numpy.tile)."""
    repeats = shape_tuple(repeats)
    if builtins.min(repeats, default=0) < 0:
        raise ValueError(f"`tile`: repeats must be non-negative; received {repeats}.")
    return torch.tile(tensor(x), repeats)


@keras_op("Repeat", module="numpy", init_args=("repeats", "axis"))
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


@keras_op("Flip", module="numpy", init_args=("axis",))
def flip(x, axis=None):
    """Reverse the order along `axis` (None: all axes)."""
    x = tensor(x)
    dims = range(x.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    try:
        return torch.flip(x, tuple(dims))
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Roll", module="numpy", init_args=("shift", "axis"))
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


@keras_op("BroadcastTo", module="numpy", init_args=("shape",))
def broadcast_to(x, shape):
    """`x` broadcast (as a view) to `shape`."""
    x = tensor(x)
    try:
        return torch.broadcast_to(x, shape_tuple(shape))
    except RuntimeError:
        raise ValueError(
            f"`broadcast_to`: cannot broadcast shape {tuple(x.shape)} to {tuple(shape)}."
        ) from None


@keras_op("Ravel", module="numpy")
def ravel(x):
    """The flattened (1-D) tensor."""
    return torch.ravel(tensor(x))


@keras_op("Swapaxes", module="numpy", init_args=("axis1", "axis2"))
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    x = tensor(x)
    try:
        return torch.swapaxes(x, axis1, axis2)
    except IndexError:
        raise axis_error((axis1, axis2), x) from None


@keras_op("Moveaxis", module="numpy", init_args=("source", "destination"))
def moveaxis(x, source, destination):
    """Move axes `source` to positions `destination` (ints or sequences)."""
    x = tensor(x)
    try:
        return torch.movedim(x, source, destination)
    except IndexError:
        raise axis_error((source, destination), x) from None


@keras_op("GetItem", module="numpy")
def get_item(x, key):
    """`x[key]` with numpy-style indexing."""
    return tensor(x)[key]


@keras_op("Hstack", module="numpy")
def hstack(xs):
    """Concatenate along axis 1 (axis 0 for 1-D inputs)."""
    return _joined("hstack", torch.hstack, join_operands(xs))


@keras_op("Vstack", module="numpy")
def vstack(xs):
    """Concatenate along axis 0 (1-D inputs become rows)."""
    return _joined("vstack", torch.vstack, join_operands(xs))


@keras_op("Dstack", module="numpy")
def dstack(xs):
    """Concatenate along axis 2 (inputs are first made at least 3-D)."""
    return _joined("dstack", torch.dstack, join_operands(xs))


def _joined(name, fn, xs, **kwargs):
    try:
        return fn(xs, **kwargs)
    except RuntimeError:
        raise ValueError(f"`{name}`: the shapes {[tuple(x.shape) for x in xs]} do not match "
                         "outside the joining axis.") from None


@keras_op("Append", module="numpy", init_args=("axis",))
def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (both flattened when None)."""
    x1, x2 = join_operands((x1, x2))
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


@keras_op("ArraySplit", module="numpy", init_args=("indices_or_sections", "axis"))
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


@keras_op("Hsplit", module="numpy", init_args=("indices_or_sections",))
def hsplit(x, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D input) into equal sections or at indices."""
    x = tensor(x)
    return _split_along("hsplit", x, indices_or_sections, 0 if x.ndim == 1 else 1, 1)


@keras_op("Vsplit", module="numpy", init_args=("indices_or_sections",))
def vsplit(x, indices_or_sections):
    """Split along axis 0 into equal sections or at indices."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


@keras_op("Dsplit", module="numpy", init_args=("indices_or_sections",))
def dsplit(x, indices_or_sections):
    """Split along axis 2 into equal sections or at indices."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


@keras_op("Fliplr", module="numpy")
def fliplr(x):
    """Reverse axis 1."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`fliplr` expects rank >= 2; received shape {tuple(x.shape)}.")
    return torch.flip(x, [1])


@keras_op("Flipud", module="numpy")
def flipud(x):
    """Reverse axis 0."""
    x = tensor(x)
    if x.ndim < 1:
        raise ValueError("`flipud` expects rank >= 1; received a scalar.")
    return torch.flip(x, [0])


@keras_op("Rot90", module="numpy", init_args=("k", "axes"))
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


@keras_op("Diagonal", module="numpy", init_args=("offset", "axis1", "axis2"))
def diagonal(x, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the planes spanned by `axis1` and `axis2` (moved last)."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`diagonal` expects rank >= 2; received shape {tuple(x.shape)}.")
    axis1, axis2 = normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim)
    if axis1 == axis2:
        raise ValueError(f"`diagonal`: axis1 and axis2 must differ; both are axis {axis1}.")
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2)


@keras_op("UnravelIndex", module="numpy", init_args=("shape",))
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


@keras_op("View", module="numpy", init_args=("dtype",))
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


__all__ = [
    "append",
    "array_split",
    "broadcast_to",
    "concatenate",
    "diagonal",
    "dsplit",
    "dstack",
    "expand_dims",
    "flip",
    "fliplr",
    "flipud",
    "get_item",
    "hsplit",
    "hstack",
    "moveaxis",
    "pad",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "rot90",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "take",
    "take_along_axis",
    "tile",
    "transpose",
    "unravel_index",
    "view",
    "vsplit",
    "vstack",
]
