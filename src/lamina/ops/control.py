"""`lamina.ops` functional control flow and casting helpers: scan, map, switch,
custom gradients, vectorized map, einops-style rearrange.

>>> import lamina
>>> carry, ys = lamina.ops.scan(lambda c, x: (c + x, c * x), 0.0, lamina.ops.arange(1.0, 4.0))
>>> float(carry), ys.tolist()
(6.0, [0.0, 2.0, 9.0])
"""

import inspect
import re

import torch

from lamina import tree
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops.operands import axis_error, tensor
from lamina.ops.operands import tensor as to_tensor
from lamina.ops.operation import keras_op


def _stack(outputs):
    return tree.map_structure(lambda *ys: torch.stack([tensor(y) for y in ys]), *outputs)


@keras_op("Scan", module="core", init_args=("length", "reverse", "unroll"))
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; returns
    `(final_carry, stacked_ys)`. With `xs=None`, runs `length` steps with `x=None`."""
    if xs is None:
        if length is None:
            raise ValueError("`scan`: pass `xs` or `length`.")
        steps = [None] * int(length)
    else:
        flat = [tensor(x) for x in tree.flatten(xs)]
        n = flat[0].shape[0]
        if length is not None and length != n:
            raise ValueError(f"`scan`: `length`={length} does not match the leading axis of "
                             f"`xs` ({n}).")
        steps = [tree.pack_sequence_as(xs, [x[i] for x in flat]) for i in range(n)]
    if reverse:
        steps = steps[::-1]
    carry, ys = tree.map_structure(tensor, init), []
    for x in steps:
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    if not ys or ys[0] is None:
        return carry, None
    return carry, _stack(ys)


@keras_op("AssociativeScan", module="core", init_args=("reverse", "axis"))
def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of the associative binary `f` along `axis` of `elems` (a tensor or
    a structure of tensors), e.g. a cumulative sum for `f = add`."""
    flat = [tensor(e) for e in tree.flatten(elems)]
    if not -flat[0].ndim <= axis < flat[0].ndim:
        raise axis_error(axis, flat[0])
    n = flat[0].shape[axis]
    if any(e.shape[axis] != n for e in flat):
        raise ValueError(f"`associative_scan`: every element needs the same size along "
                         f"axis {axis}; received shapes {[tuple(e.shape) for e in flat]}.")
    flat = [torch.movedim(e, axis, 0) for e in flat]
    if reverse:
        flat = [torch.flip(e, [0]) for e in flat]
    # NOTE: Hillis-Steele doubling: log2(n) vectorised calls to `f`.
    shift = 1
    while shift < n:
        left = tree.pack_sequence_as(elems, [e[:-shift] for e in flat])
        right = tree.pack_sequence_as(elems, [e[shift:] for e in flat])
        combined = [tensor(c) for c in tree.flatten(f(left, right))]
        flat = [torch.cat([e[:shift], c]) for e, c in zip(flat, combined)]
        shift *= 2
    if reverse:
        flat = [torch.flip(e, [0]) for e in flat]
    return tree.pack_sequence_as(elems, [torch.movedim(e, 0, axis) for e in flat])


@keras_op("Map", module="core")
def map(f, xs):  # noqa: A001 (Keras' name)
    """`f` applied to each slice of `xs` along the leading axis, results stacked."""
    flat = [tensor(x) for x in tree.flatten(xs)]
    if flat[0].ndim == 0:
        raise ValueError("`map` maps over the leading axis of `xs`; received a 0-d tensor.")
    n = flat[0].shape[0]
    ys = [f(tree.pack_sequence_as(xs, [x[i] for x in flat])) for i in range(n)]
    return _stack(ys)


@keras_op("Switch", module="core")
def switch(index, branches, *operands):
    """`branches[index](*operands)`, with `index` clamped to the valid range."""
    if not branches:
        raise ValueError("`switch`: `branches` must not be empty.")
    i = int(index)
    return branches[min(max(i, 0), len(branches) - 1)](*operands)


def vectorized_map(function, elements):
    """`function` mapped over the leading axis of `elements` with `torch.vmap`."""
    elements = tree.map_structure(tensor, elements)
    return torch.vmap(function)(elements)


def _wants_upstream_keyword(grad_fn):
    """True for `grad_fn(*args, upstream)`, the form Keras' torch backend calls with
    `upstream=`; every other form gets the upstream gradients positionally."""
    try:
        param = inspect.signature(grad_fn).parameters.get("upstream")
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return (param is not None and param.kind is param.KEYWORD_ONLY
            and param.default is param.empty)


def custom_gradient(f):
    """Decorate `f(*args)` returning `(output, grad_fn)`; backprop uses
    `grad_fn(*upstream_grads)` (a gradient per tensor argument) instead of autograd.

    >>> import torch
    >>> @custom_gradient
    ... def clip_grad(x):
    ...     return x * 2, lambda dy: dy * 0
    >>> x = torch.ones(2, requires_grad=True)
    >>> clip_grad(x).sum().backward(); x.grad.tolist()
    [0.0, 0.0]
    """

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            with torch.enable_grad():
                output, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            ctx.single = not isinstance(output, (list, tuple))
            outs = (output,) if ctx.single else tuple(output)
            return tuple(o.detach() if isinstance(o, torch.Tensor) else o for o in outs)

        @staticmethod
        def backward(ctx, *grads):
            if _wants_upstream_keyword(ctx.grad_fn):
                out = ctx.grad_fn(upstream=grads[0] if len(grads) == 1 else grads)
            else:
                out = ctx.grad_fn(*grads)
            return tuple(out) if isinstance(out, (list, tuple)) else (out,)

    def wrapped(*args):
        args = tuple(tensor(a) if not isinstance(a, torch.Tensor) else a for a in args)
        outs = _Function.apply(*args)
        if isinstance(outs, torch.Tensor):
            return outs
        return outs[0] if len(outs) == 1 else outs

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped


@keras_op("SaturateCast", module="core", init_args=("dtype",))
def saturate_cast(x, dtype):
    """Cast to `dtype`, clipping values to its range first (no integer wrap-around)."""
    x = tensor(x)
    target = to_torch_dtype(dtype)
    if target == torch.bool:  # saturate into [False, True]: negative values become False
        return x > 0
    info = torch.finfo(target) if target.is_floating_point else torch.iinfo(target)
    lo, hi = info.min, info.max
    if x.is_floating_point() and not target.is_floating_point:
        # NOTE: clamp in float64 so `hi` (e.g. 2**31 - 1) is exactly representable.
        return torch.clamp(x.double(), lo, hi).to(target)
    if not x.is_floating_point() and x.dtype != torch.bool:
        src = torch.iinfo(x.dtype)
        lo, hi = max(lo, src.min), min(hi, src.max)
    return torch.clamp(x, lo, hi).to(target)


_GROUP = re.compile(r"\(([^)]*)\)|(\S+)")


def _parse(side):
    return [[g2] if g2 else g1.split() for g1, g2 in _GROUP.findall(side)]


@keras_op("Rearrange", module="core")
def rearrange(tensor, pattern, **axes_lengths):  # noqa: F811 (Keras' name)
    """einops-style reshape/transpose, e.g. `"b (h w) c -> b h w c"` with `h=4`."""

    x = to_tensor(tensor)
    if "->" not in pattern:
        raise ValueError(f"`rearrange`: the pattern needs '->'; received {pattern!r}.")
    left, right = (_parse(s) for s in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(f"`rearrange`: the pattern's input side has {len(left)} axes but "
                         f"the tensor has rank {x.ndim} (shape {tuple(x.shape)}).")
    sizes = dict(axes_lengths)
    for group, dim in zip(left, x.shape):
        unknown = [n for n in group if n not in sizes]
        known = 1
        for n in group:
            known *= sizes.get(n, 1)
        if len(unknown) > 1:
            raise ValueError(f"`rearrange`: cannot infer sizes of {unknown}; pass them as "
                             "keyword arguments.")
        if unknown:
            sizes[unknown[0]] = dim // known
    names = [n for group in left for n in group]
    x = x.reshape([sizes[n] for n in names])
    order = [n for group in right for n in group]
    x = x.permute([names.index(n) for n in order])
    shape = []
    for group in right:
        size = 1
        for n in group:
            size *= sizes[n]
        shape.append(size)
    return x.reshape(shape)


__all__ = [
    "associative_scan", "custom_gradient", "map", "rearrange", "saturate_cast", "scan",
    "switch", "vectorized_map",
]
