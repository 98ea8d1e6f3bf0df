"""`torch.autograd.gradcheck` for every differentiable op of `lamina.ops.numpy`'s
shape, creation, statistics and sorting modules, on small float64 inputs away from ties
and kinks."""


import numpy as np
import pytest
import torch

from lamina import ops

RNG = np.random.default_rng(0)
NAN_MASK = torch.tensor([[False, True, False, False], [False, False, False, True],
                         [True, False, False, False]])
I64 = torch.float64


def _with_nans(a):
    """`a` (3, 4) with NaN at fixed places: the NaN-aware ops must ignore them."""
    return torch.where(NAN_MASK, torch.tensor(torch.nan, dtype=a.dtype), a)


# (name, fn, input shapes). Inputs are distinct values in [0.5, 1.5] (no ties, no zeros).
CASES = [
    ("reshape", lambda a: ops.reshape(a, (3, -1)), ((2, 3, 2),)),
    ("transpose", lambda a: ops.transpose(a, (1, 2, 0)), ((2, 3, 2),)),
    ("expand_dims", lambda a: ops.expand_dims(a, (0, -1)), ((2, 3),)),
    ("squeeze", lambda a: ops.squeeze(a, 1), ((2, 1, 3),)),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=-1), ((2, 3), (2, 1))),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), ((2, 3), (2, 3))),
    ("split", lambda a: ops.split(a, [1, 3], axis=1)[1], ((2, 4),)),
    ("take", lambda a: ops.take(a, torch.tensor([[2, 0], [-1, 2]]), axis=1), ((2, 3),)),
    ("take_along_axis", lambda a: ops.take_along_axis(a, torch.tensor([[2, 0, 0]]), axis=1),
     ((2, 3),)),
    ("pad", lambda a: ops.pad(a, ((1, 0), (0, 2)), constant_values=1.0), ((2, 3),)),
    ("pad_reflect", lambda a: ops.pad(a, ((2, 1), (1, 1)), mode="reflect"), ((3, 3),)),
    ("pad_symmetric", lambda a: ops.pad(a, 3, mode="symmetric"), ((2, 2),)),
    ("tile", lambda a: ops.tile(a, (2, 1, 2)), ((2, 3),)),
    ("repeat", lambda a: ops.repeat(a, torch.tensor([1, 0, 3]), axis=1), ((2, 3),)),
    ("flip", lambda a: ops.flip(a, axis=(0, -1)), ((2, 3),)),
    ("roll", lambda a: ops.roll(a, 2), ((2, 3),)),
    ("broadcast_to", lambda a: ops.broadcast_to(a, (2, 2, 3)), ((1, 3),)),
    ("ravel", lambda a: ops.ravel(a), ((2, 3),)),
    ("swapaxes", lambda a: ops.swapaxes(a, 0, 2), ((2, 3, 2),)),
    ("moveaxis", lambda a: ops.moveaxis(a, 0, -1), ((2, 3, 2),)),
    ("get_item", lambda a: ops.get_item(a, (slice(None), torch.tensor([2, 0, 2]))), ((2, 3),)),
    ("full", lambda a: ops.full((2, 3), a, dtype="float64"), ((3,),)),
    ("full_like", lambda a: ops.full_like(torch.zeros(2, 3), a, dtype="float64"), ((3,),)),
    ("linspace", lambda a, b: ops.linspace(a, b + 2, 4, dtype="float64"), ((2,), (2,))),
    ("tril", lambda a: ops.tril(a, k=-1), ((3, 3),)),
    ("triu", lambda a: ops.triu(a, k=1), ((2, 3, 3),)),
    ("diag", lambda a: ops.diag(a, k=1), ((3,),)),
    # manipulation
    ("hstack", lambda a, b: ops.hstack([a, b]), ((2, 3), (2, 1))),
    ("vstack", lambda a, b: ops.vstack([a, b]), ((3,), (2, 3))),
    ("dstack", lambda a, b: ops.dstack([a, b]), ((2, 3), (2, 3))),
    ("append", lambda a, b: ops.append(a, b, axis=0), ((2, 3), (1, 3))),
    ("array_split", lambda a: ops.array_split(a, 3, axis=1)[0], ((2, 5),)),
    ("hsplit", lambda a: ops.hsplit(a, 2)[1], ((2, 4),)),
    ("vsplit", lambda a: ops.vsplit(a, [1])[1], ((3, 2),)),
    ("dsplit", lambda a: ops.dsplit(a, 2)[0], ((2, 2, 4),)),
    ("fliplr", lambda a: ops.fliplr(a), ((2, 3),)),
    ("flipud", lambda a: ops.flipud(a), ((2, 3),)),
    ("rot90", lambda a: ops.rot90(a, k=3, axes=(1, 0)), ((2, 3),)),
    ("diagflat", lambda a: ops.diagflat(a, k=-1), ((2, 2),)),
    ("diagonal", lambda a: ops.diagonal(a, offset=1, axis1=2, axis2=0), ((3, 2, 3),)),
    ("trace", lambda a: ops.trace(a, offset=-1), ((3, 3),)),
    ("select", lambda a, b: ops.select([a > 1.0, b > 1.2], [a, b * 2], default=-1.0),
     ((2, 3), (2, 3))),
    ("array", lambda a: ops.array(a), ((2, 3),)),
    ("copy", lambda a: ops.copy(a), ((2, 3),)),
    ("logspace", lambda a: ops.logspace(a, 1.0, 3, dtype="float64"), ((2,),)),
    ("geomspace", lambda a: ops.geomspace(a, 4.0, 4, dtype="float64"), ((2,),)),
    ("meshgrid", lambda a, b: ops.meshgrid(a, b), ((3,), (2,))),
    ("view", lambda a: ops.view(a), ((2, 3),)),
    ("vectorize", lambda a, b: ops.vectorize(lambda u, v: u * v + u)(a, b), ((3,), (3,))),
    # statistics
    ("nanmax", lambda a: ops.nanmax(_with_nans(a), axis=1), ((3, 4),)),
    ("nanmin", lambda a: ops.nanmin(_with_nans(a), axis=0, keepdims=True), ((3, 4),)),
    ("nansum", lambda a: ops.nansum(_with_nans(a), axis=(0, 1)), ((3, 4),)),
    ("amax", lambda a: ops.amax(a, axis=(0, 2)), ((2, 3, 2),)),
    ("amin", lambda a: ops.amin(a, axis=-1), ((2, 3),)),
    ("ptp", lambda a: ops.ptp(a, axis=0), ((3, 2),)),
    ("corrcoef", lambda a: ops.corrcoef(a), ((3, 4),)),
    ("bincount", lambda w: ops.bincount(torch.tensor([0, 2, 2, 1]), weights=w), ((4,),)),
]
# Keras computes these in float32 even for float64 input (and lamina matches), so the
# finite differences of the float32 output are checked with a wider step and tolerance.
FLOAT32_OUT = [
    ("nanprod", lambda a: ops.nanprod(_with_nans(a), axis=1), ((3, 4),)),
    ("nanmean", lambda a: ops.nanmean(_with_nans(a), axis=0), ((3, 4),)),
    ("nanvar", lambda a: ops.nanvar(_with_nans(a), axis=1), ((3, 4),)),
    ("nanstd", lambda a: ops.nanstd(_with_nans(a)), ((3, 4),)),
    ("nancumsum", lambda a: ops.nancumsum(_with_nans(a), axis=1), ((3, 4),)),
    ("nancumprod", lambda a: ops.nancumprod(_with_nans(a)), ((3, 4),)),
    ("average", lambda a, w: ops.average(a, axis=1, weights=w), ((2, 3), (3,))),
    ("vander", lambda a: ops.vander(a, N=3), ((3,),)),
    ("quantile", lambda a: ops.quantile(a, torch.tensor([0.3, 0.8], dtype=I64), axis=1),
     ((2, 5),)),
    ("percentile", lambda a: ops.percentile(a, 40.0, axis=0, method="linear"), ((4, 3),)),
    ("nanquantile", lambda a: ops.nanquantile(_with_nans(a), 0.4, axis=1), ((3, 4),)),
    ("nanpercentile", lambda a: ops.nanpercentile(_with_nans(a), 70, axis=0), ((3, 4),)),
    ("median", lambda a: ops.median(a, axis=-1, keepdims=True), ((2, 5),)),
    ("nanmedian", lambda a: ops.nanmedian(_with_nans(a), axis=1), ((3, 4),)),
]
NOT_DIFFERENTIABLE = {
    "arange", "eye", "identity", "zeros", "ones", "zeros_like", "ones_like", "empty",
    "empty_like", "tri", "nonzero", "searchsorted", "digitize", "isin", "unique",
    "unravel_index", "argpartition", "nanargmax", "nanargmin", "histogram", "bartlett",
    "blackman", "hamming", "hanning", "kaiser",
}


def _inputs(shapes):
    out = []
    for shape in shapes:
        n = int(np.prod(shape))
        values = RNG.permutation(np.linspace(0.5, 1.5, n)) + RNG.uniform(0, 0.3 / n, n)
        out.append(torch.tensor(values.reshape(shape), dtype=torch.float64, requires_grad=True))
    return tuple(out)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, shapes):
    inputs = _inputs(shapes)
    out = fn(*inputs)
    assert all(o.dtype == torch.float64 for o in (out if isinstance(out, list) else [out]))
    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("name,fn,shapes", FLOAT32_OUT, ids=[c[0] for c in FLOAT32_OUT])
def test_gradcheck_float32_result(name, fn, shapes):
    inputs = _inputs(shapes)
    assert fn(*inputs).dtype == torch.float32
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-3, atol=1e-3, rtol=1e-2)


def test_nan_entries_get_zero_gradient():
    a = _inputs(((3, 4),))[0]
    for fn in (ops.nansum, ops.nanmean, ops.nanprod, ops.nanstd, ops.nanvar, ops.nancumsum):
        (grad,) = torch.autograd.grad(fn(_with_nans(a)).sum(), a)
        assert torch.all(grad[NAN_MASK] == 0) and torch.all(grad[~NAN_MASK] != 0), fn


def test_every_differentiable_op_is_checked():
    names = {n for m in ("shape", "creation", "statistics", "sorting")
             for n in getattr(ops.numpy, m).__all__} | {"select", "trace", "vectorize"}
    names -= {"sort", "argsort"}  # (checked in test_gradcheck_numpy)
    checked = {c[0] for c in CASES + FLOAT32_OUT}
    assert names - NOT_DIFFERENTIABLE <= checked, names - NOT_DIFFERENTIABLE - checked
