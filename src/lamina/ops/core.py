"""`lamina.ops.core`: conversion, casting, slicing/scattering and control flow.

>>> import lamina
>>> lamina.ops.cast([1.7, -1.7], "int32").tolist()
[1, -1]
"""

import builtins

import numpy as np
import torch

from lamina import tree
from lamina.backend import convert
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import KerasTensor
from lamina.ops.operands import axis_error, tensor
from lamina.ops.operation import keras_op


@keras_op("Cast", module="core", init_args=("dtype",))
def cast(x, dtype):
    """`x` converted to `dtype` (floats to ints truncate toward zero)."""
    return tensor(x).to(to_torch_dtype(dtype))


@keras_op("ConvertToTensor", module="core", init_args=("dtype", "sparse", "ragged"))
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` (array, scalar, nested list or tensor) as a torch tensor, optionally cast."""
    return convert.convert_to_tensor(x, dtype=dtype, sparse=sparse, ragged=ragged)


def convert_to_numpy(x):
    """`x` as a numpy array (a symbolic KerasTensor cannot be converted)."""
    if isinstance(x, KerasTensor):
        raise ValueError(
            "convert_to_numpy: a symbolic KerasTensor has no values. Received: "
            f"{x!r}. Call this on real tensors (eager execution) only."
        )
    return convert.convert_to_numpy(x)


def shape(x):
    """The shape as a tuple (None for unknown sizes of a KerasTensor)."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def dtype(x):
    """The Keras dtype name of `x`, e.g. `"float32"`."""
    return convert.dtype_of(x)


def is_tensor(x):
    """True for torch tensors (including Variables)."""
    return isinstance(x, torch.Tensor)


@keras_op("StopGradient", module="core")
def stop_gradient(variable):
    """The same values with gradients blocked."""
    return tensor(variable).detach()


@keras_op("Ndim", module="numpy")
def ndim(x):
    """Number of axes."""
    return tensor(x).ndim


@keras_op("Size", module="numpy")
def size(x):
    """Number of elements, as a 0-d tensor."""
    x = tensor(x)
    return torch.tensor(x.numel(), device=x.device)


def _int(v):
    return int(v) if not isinstance(v, torch.Tensor) else int(v.item())


def _slices(start_indices, sizes, x, name):
    """The index of the block of `sizes` at `start_indices` (one entry per axis of `x`)."""
    if len(start_indices) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(f"`{name}`: `start_indices` ({len(start_indices)} values) and the "
                         f"slice shape ({len(sizes)} values) need one entry per axis of the "
                         f"rank-{x.ndim} input (shape {tuple(x.shape)}).")
    return tuple(
        builtins.slice(_int(s), _int(s) + _int(n)) for s, n in zip(start_indices, sizes)
    )


@keras_op("Slice", module="core", init_args=("shape",))
def slice(inputs, start_indices, shape):  # noqa: A001 (Keras' name)
    """The block of `shape` starting at `start_indices` (one index per axis)."""
    x = tensor(inputs)
    sizes = [x.shape[i] - _int(s) if _int(n) == -1 else n
             for i, (s, n) in enumerate(zip(start_indices, shape))]
    sizes += list(shape[len(sizes):])  # keep a length mismatch visible to the check
    return x[_slices(start_indices, sizes, x, "slice")]


@keras_op("SliceUpdate", module="core")
def slice_update(inputs, start_indices, updates):
    """A copy of `inputs` with the block at `start_indices` replaced by `updates`."""
    x = tensor(inputs).clone()
    updates = tensor(updates)
    block = _slices(start_indices, updates.shape, x, "slice_update")
    if any(s.stop > n for s, n in zip(block, x.shape)):
        raise ValueError(f"`slice_update`: `updates` of shape {tuple(updates.shape)} at "
                         f"`start_indices`={tuple(_int(i) for i in start_indices)} does not fit "
                         f"in `inputs` of shape {tuple(x.shape)}.")
    x[block] = updates.to(x.dtype)
    return x


def _index_tuple(indices):
    indices = tensor(indices).long()
    return tuple(indices[..., i] for i in range(indices.shape[-1]))


@keras_op("Scatter", module="core", init_args=("shape",))
def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (duplicates sum).

    `indices` has shape `(..., k)`: each row addresses the first `k` axes."""
    values = tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    return out.index_put_(_index_tuple(indices), values, accumulate=True)


_REDUCTIONS = {"max": "amax", "min": "amin", "mul": "prod", "prod": "prod"}


@keras_op("ScatterUpdate", module="core", init_args=("reduction",))
def scatter_update(inputs, indices, updates, reduction=None):
    """A copy of `inputs` with `updates` written at `indices` (rows of `k` indices).

    `reduction` combines with the existing values: None (replace), "add", "max", "min"
    or "mul"."""
    x = tensor(inputs).clone()
    updates = tensor(updates).to(x.dtype)
    index = _index_tuple(indices)
    if reduction is None:
        return x.index_put_(index, updates)
    if reduction == "add":
        return x.index_put_(index, updates, accumulate=True)
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "`scatter_update`: reduction must be None, 'add', 'max', 'min' or 'mul'. "
            f"Received: reduction={reduction!r}"
        )
    k = len(index)
    flat_index = torch.zeros_like(index[0])
    for i, idx in enumerate(index):
        flat_index = flat_index * x.shape[i] + idx
    rest = x.shape[k:]
    flat = x.reshape(-1, *rest)
    flat_updates = updates.reshape(-1, *rest)
    flat_index = flat_index.reshape(-1, *([1] * len(rest))).expand_as(flat_updates)
    flat.scatter_reduce_(0, flat_index, flat_updates, _REDUCTIONS[reduction])
    return flat.reshape(x.shape)


@keras_op("Cond", module="core")
def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`."""
    return true_fn() if pred else false_fn()


def _as_tensors(values):
    return tree.map_structure(lambda v: v if isinstance(v, torch.Tensor) else tensor(v), values)


@keras_op("ForiLoop", module="core", init_args=("lower", "upper", "body_fun"))
def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for `i` in `range(lower, upper)`; returns the final `val`."""
    val = init_val
    for i in range(_int(lower), _int(upper)):
        val = body_fun(i, val)
    return val


@keras_op("WhileLoop", module="core", init_args=("cond", "body", "maximum_iterations"))
def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: F811 (Keras' name)
    """Run `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`; at most
    `maximum_iterations` times when given. A single (non-tuple) `loop_vars` is passed
    and returned as is."""
    is_sequence = isinstance(loop_vars, (list, tuple))
    values = tuple(loop_vars) if is_sequence else (loop_vars,)
    values = _as_tensors(values)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and cond(*values):
        out = body(*values)
        values = _as_tensors(tuple(out) if is_sequence else (out,))
        steps += 1
    return values if is_sequence else values[0]


@keras_op("Unstack", module="core", init_args=("num", "axis"))
def unstack(x, num=None, axis=0):
    """Split along `axis` into a list of tensors with that axis removed."""
    x = tensor(x)
    if not -x.ndim <= axis < x.ndim:
        raise axis_error(axis, x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"`unstack`: `num`={num} does not match the size of axis {axis} "
                         f"({x.shape[axis]}) of a tensor of shape {tuple(x.shape)}.")
    return list(torch.unbind(x, dim=axis))


__all__ = [
    "cast", "cond", "convert_to_numpy", "convert_to_tensor", "dtype", "fori_loop",
    "is_tensor", "ndim", "scatter", "scatter_update", "shape", "size", "slice",
    "slice_update", "stop_gradient", "unstack", "while_loop",
]
