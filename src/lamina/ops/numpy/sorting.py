"""Sorting, searching and set ops of `lamina.ops.numpy`.

>>> import lamina
>>> lamina.ops.sort([3, 1, 2]).tolist()
[1, 2, 3]
"""

import torch

from lamina.backend.symbolic import is_fake, unknown_size
from lamina.ops.operands import (
    axis_error,
    normalize_axis,
    promote,
    tensor,
)
from lamina.ops.operation import keras_op


@keras_op("Sort", module="numpy", init_args=("axis",))
def sort(x, axis=-1):
    """Values sorted ascending along `axis` (None: the flattened input)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    try:
        return torch.sort(x, dim=axis, stable=True).values
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("Argsort", module="numpy", init_args=("axis",))
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


@keras_op("Nonzero", module="numpy")
def nonzero(x):
    """Coordinates of the nonzero entries as one int32 tensor of shape `(x.ndim, count)`
    (as Keras' torch backend returns them; row `i` holds the indices along axis `i`)."""
    x = tensor(x)
    if is_fake(x):  # symbolic: the count depends on the values
        return torch.empty((x.ndim, unknown_size()), dtype=torch.int32)
    return torch.nonzero(x).T.int()


@keras_op("SearchSorted", module="numpy", init_args=("side",))
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


@keras_op("Digitize", module="numpy")
def digitize(x, bins):
    """Index of the bin (given by increasing `bins` edges) each value falls in."""
    x, bins = promote(tensor(x), tensor(bins))
    return torch.bucketize(x, bins, right=True, out_int32=True)


@keras_op("IsIn", module="numpy", init_args=("assume_unique", "invert"))
def isin(x1, x2, assume_unique=False, invert=False):
    """True where elements of `x1` occur in `x2` (False with `invert=True`)."""
    x1, x2 = promote(tensor(x1), tensor(x2))
    if x1.dtype == torch.bool:  # torch.isin has no bool kernel
        x1, x2 = x1.int(), x2.int()
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


@keras_op("Unique", module="numpy",
          init_args=("sorted", "return_index", "return_inverse", "return_counts", "axis", "size",
                     "fill_value"))
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


@keras_op("Argpartition", module="numpy", init_args=("kth", "axis"))
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


__all__ = [
    "argpartition",
    "argsort",
    "digitize",
    "isin",
    "nonzero",
    "searchsorted",
    "sort",
    "unique",
]
