"""Bad input to the shape, manipulation and statistics ops: errors name the argument,
what was expected and what was received."""

import pytest
import torch

from lamina import ops

X = torch.rand(2, 3)
X3 = torch.rand(2, 3, 4)
LONG = torch.zeros(2, 1, dtype=torch.long)

# (id, call, regex): a wrong axis names the axis and the rank.
AXIS_CASES = [
    ("expand_dims", lambda: ops.expand_dims(X, 5), r"`axis`=5 .*rank 2"),
    ("expand_dims_tuple", lambda: ops.expand_dims(X, (0, 9)), r"`axis`=9 .*rank 4"),
    ("squeeze", lambda: ops.squeeze(X, 5), r"`axis`=5 .*rank 2"),
    ("concatenate", lambda: ops.concatenate([X, X], axis=5), r"`axis`=5 .*rank 2"),
    ("stack", lambda: ops.stack([X, X], axis=-4), r"`axis`=-4 .*rank 3"),
    ("split", lambda: ops.split(X, 2, axis=5), r"`axis`=5 .*rank 2"),
    ("split_indices", lambda: ops.split(X, [1], axis=-3), r"`axis`=-3 .*rank 2"),
    ("take", lambda: ops.take(X, [0], axis=5), r"`axis`=5 .*rank 2"),
    ("take_along_axis", lambda: ops.take_along_axis(X, LONG, axis=5), r"`axis`=5 .*rank 2"),
    ("repeat", lambda: ops.repeat(X, 2, axis=5), r"`axis`=5 .*rank 2"),
    ("flip", lambda: ops.flip(X, axis=5), r"`axis`=5 .*rank 2"),
    ("roll", lambda: ops.roll(X, 1, axis=5), r"`axis`=5 .*rank 2"),
    ("swapaxes", lambda: ops.swapaxes(X, 0, 5), r"`axis`=\(0, 5\) .*rank 2"),
    ("moveaxis", lambda: ops.moveaxis(X, 5, 0), r"`axis`=\(5, 0\) .*rank 2"),
    ("transpose", lambda: ops.transpose(X, (0, 5)), r"axes=\(0, 5\).*2 axes"),
    ("linspace", lambda: ops.linspace(torch.zeros(2), 1.0, 3, axis=5), r"`axis`=5 .*rank 2"),
    ("amax", lambda: ops.amax(X, axis=5), r"`axis`=5 .*rank 2"),
    ("amin", lambda: ops.amin(X, axis=(0, -5)), r"`axis`=\(0, -5\) .*rank 2"),
    ("ptp", lambda: ops.ptp(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanmax", lambda: ops.nanmax(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanmin", lambda: ops.nanmin(X, axis=2), r"`axis`=2 .*rank 2"),
    ("nansum", lambda: ops.nansum(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanprod", lambda: ops.nanprod(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanmean", lambda: ops.nanmean(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanvar", lambda: ops.nanvar(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanstd", lambda: ops.nanstd(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanargmax", lambda: ops.nanargmax(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanargmin", lambda: ops.nanargmin(X, axis=-3), r"`axis`=-3 .*rank 2"),
    ("nancumsum", lambda: ops.nancumsum(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nancumprod", lambda: ops.nancumprod(X, axis=5), r"`axis`=5 .*rank 2"),
    ("quantile", lambda: ops.quantile(X, 0.5, axis=5), r"`axis`=5 .*rank 2"),
    ("percentile", lambda: ops.percentile(X, 50, axis=-3), r"`axis`=-3 .*rank 2"),
    ("median", lambda: ops.median(X, axis=5), r"`axis`=5 .*rank 2"),
    ("nanmedian", lambda: ops.nanmedian(X, axis=(0, 5)), r"`axis`=\(0, 5\) .*rank 2"),
    ("average", lambda: ops.average(X, axis=5), r"`axis`=5 .*rank 2"),
    ("average_weights", lambda: ops.average(X, axis=5, weights=torch.rand(3)),
     r"`axis`=5 .*rank 2"),
    ("diagonal", lambda: ops.diagonal(X, axis1=0, axis2=5), r"`axis`=5 .*rank 2"),
    ("trace", lambda: ops.trace(X, axis1=5), r"`axis`=5 .*rank 2"),
    ("rot90", lambda: ops.rot90(X, axes=(0, 5)), r"`axis`=5 .*rank 2"),
    ("argpartition", lambda: ops.argpartition(X, 1, axis=5), r"`axis`=5 .*rank 2"),
    ("unique", lambda: ops.unique(X, axis=5), r"`axis`=5 .*rank 2"),
    ("array_split", lambda: ops.array_split(X, 2, axis=5), r"`axis`=5 .*rank 2"),
    ("append", lambda: ops.append(X, X, axis=5), r"`axis`=5 .*rank 2"),
    ("logspace", lambda: ops.logspace(torch.zeros(2), 1.0, 3, axis=5), r"`axis`=5 .*rank 2"),
    ("geomspace", lambda: ops.geomspace(torch.ones(2), 2.0, 3, axis=5), r"`axis`=5 .*rank 2"),
]

# Incompatible shapes or ranks: the message names the shapes.
SHAPE_CASES = [
    ("concatenate_rank", lambda: ops.concatenate([X, X3]), r"\(2, 3\), \(2, 3, 4\)"),
    ("concatenate", lambda: ops.concatenate([X, torch.rand(3, 3)], axis=1),
     r"\(2, 3\), \(3, 3\).*axis 1"),
    ("stack", lambda: ops.stack([X, X.T]), r"\(2, 3\), \(3, 2\)"),
    ("hstack", lambda: ops.hstack([X, torch.rand(3, 3)]), r"`hstack`.*\(2, 3\), \(3, 3\)"),
    ("vstack", lambda: ops.vstack([X, torch.rand(3, 4)]), r"`vstack`.*\(2, 3\), \(3, 4\)"),
    ("dstack", lambda: ops.dstack([X, torch.rand(3, 3)]), r"`dstack`.*\(2, 3\), \(3, 3\)"),
    ("append", lambda: ops.append(X, torch.rand(2, 4), axis=0), r"`append`.*\(2, 3\), \(2, 4\)"),
    ("append_rank", lambda: ops.append(X, torch.rand(3), axis=0), r"\(2, 3\) and \(3,\)"),
    ("broadcast_to", lambda: ops.broadcast_to(X, (4, 3, 2)), r"\(2, 3\) to \(4, 3, 2\)"),
    ("reshape", lambda: ops.reshape(X, (4, 2)), r"shape \(2, 3\) \(6 values\) into shape \(4, 2\)"),
    ("select", lambda: ops.select([X > 0.5], [torch.rand(4)]), r"`select`.*\(2, 3\).*\(4,\)"),
    ("select_lengths", lambda: ops.select([X > 0], [X, X]), r"same length; received 1 and 2"),
    ("select_empty", lambda: ops.select([], []), r"`condlist` must not be empty"),
    ("take_along_axis", lambda: ops.take_along_axis(X, torch.zeros(3, 5, dtype=torch.long),
                                                    axis=1), r"\(3, 5\).*\(2, 3\)"),
    ("average_weights", lambda: ops.average(X, axis=1, weights=torch.rand(4)),
     r"`weights` of shape \(4,\) must match `x` \(2, 3\)"),
    ("split_unequal", lambda: ops.split(X, 2, axis=1), r"size 3 cannot be split into 2"),
    ("hsplit_unequal", lambda: ops.hsplit(X, 2), r"size 3 does not split into 2"),
    ("vsplit_rank", lambda: ops.vsplit(torch.rand(3), 1), r"rank >= 2; received shape \(3,\)"),
    ("dsplit_rank", lambda: ops.dsplit(X, 1), r"rank >= 3; received shape \(2, 3\)"),
    ("squeeze_size", lambda: ops.squeeze(X, 0), r"axis 0 has size 2, not 1"),
    ("pad_width", lambda: ops.pad(X, ((1, 1), (1, 1), (1, 1))), r"pad_width=.*shape \(2, 3\)"),
    ("tile_negative", lambda: ops.tile(X, (2, -1)), r"non-negative; received \(2, -1\)"),
    ("tril_rank", lambda: ops.tril(torch.rand(3)), r"`tril`.*rank >= 2.*\(3,\)"),
    ("triu_rank", lambda: ops.triu(torch.rand(3)), r"`triu`.*rank >= 2.*\(3,\)"),
    ("diag_rank", lambda: ops.diag(X3), r"1-D or 2-D.*\(2, 3, 4\)"),
    ("vander_rank", lambda: ops.vander(X), r"1-D.*\(2, 3\)"),
    ("fliplr_rank", lambda: ops.fliplr(torch.rand(3)), r"rank >= 2.*\(3,\)"),
    ("flipud_scalar", lambda: ops.flipud(torch.tensor(1.0)), r"rank >= 1"),
    ("rot90_rank", lambda: ops.rot90(torch.rand(3)), r"rank >= 2.*\(3,\)"),
    ("rot90_same_axes", lambda: ops.rot90(X, axes=(1, -1)), r"two different axes"),
    ("diagonal_same_axes", lambda: ops.diagonal(X, axis1=1, axis2=-1), r"must differ"),
    ("diagonal_rank", lambda: ops.diagonal(torch.rand(3)), r"rank >= 2.*\(3,\)"),
    ("histogram_rank", lambda: ops.histogram(X), r"1-D.*\(2, 3\)"),
    ("histogram_bins", lambda: ops.histogram(torch.rand(3), bins=0), r"`bins`.*received 0"),
    ("searchsorted_rank", lambda: ops.searchsorted(X, X), r"1-D `sorted_sequence`.*\(2, 3\)"),
    ("bincount_rank", lambda: ops.bincount(torch.zeros(2, 2, 2, dtype=torch.int32)),
     r"1-D or 2-D.*rank 3"),
    ("corrcoef_rank", lambda: ops.corrcoef(X3), r"1-D or 2-D.*\(2, 3, 4\)"),
    ("view_size", lambda: ops.view(torch.zeros(3, dtype=torch.int8), "int32"),
     r"int8 tensor of shape \(3,\) cannot be viewed as torch.int32"),
    ("argpartition_kth", lambda: ops.argpartition(X, 5), r"`kth`=5 .*size 3"),
    ("geomspace_zero", lambda: ops.geomspace(0.0, 2.0, 3), r"nonzero"),
]

# Bad values or unsupported dtypes / options.
TYPE_CASES = [
    ("ptp_bool", lambda: ops.ptp(X > 0), TypeError, r"`ptp` does not support bool"),
    ("bincount_float", lambda: ops.bincount(torch.rand(3)), TypeError, r"integer.*float32"),
    ("bincount_sparse", lambda: ops.bincount(torch.tensor([1]), sparse=True), ValueError,
     r"sparse"),
    ("unravel_float", lambda: ops.unravel_index(torch.rand(3), (2, 2)), TypeError,
     r"integer indices; received torch.float32"),
    ("take_complex_indices", lambda: ops.take(X, torch.tensor([1j])), TypeError,
     r"Indices must be integers.*complex64"),
    ("repeat_float", lambda: ops.repeat(X, torch.tensor([1.5])), TypeError,
     r"`repeat`: repeats must be integers; received torch.float32"),
    ("arange_dtype", lambda: ops.arange(3, dtype="foo"), ValueError, r"Invalid dtype: 'foo'"),
    ("zeros_dtype", lambda: ops.zeros(3, dtype="float7"), ValueError, r"'float7'"),
    ("view_dtype", lambda: ops.view(X, "foo"), ValueError, r"'foo'"),
    ("nancumsum_dtype", lambda: ops.nancumsum(X, dtype="foo"), ValueError, r"'foo'"),
    ("window_length", lambda: ops.hamming(2.5), TypeError, r"`hamming` expects an int.*2.5"),
    ("pad_mode", lambda: ops.pad(X, 1, mode="edge"), ValueError, r"mode=.edge."),
    ("pad_constant_values", lambda: ops.pad(X, 1, mode="reflect", constant_values=1),
     ValueError, r"constant_values is only used with mode='constant'"),
    ("quantile_q", lambda: ops.quantile(X, 1.5), ValueError, r"`q` must be in \[0, 1\]"),
    ("quantile_method", lambda: ops.quantile(X, 0.5, method="bad"), ValueError,
     r"`method` must be one of .*'bad'"),
    ("meshgrid_indexing", lambda: ops.meshgrid(X, indexing="bad"), ValueError,
     r"`indexing` must be 'xy' or 'ij'; received 'bad'"),
    ("searchsorted_side", lambda: ops.searchsorted(torch.rand(3), X, side="middle"),
     ValueError, r"`side` must be 'left' or 'right'; received 'middle'"),
]


@pytest.mark.parametrize("call,match", [c[1:] for c in AXIS_CASES],
                         ids=[c[0] for c in AXIS_CASES])
def test_bad_axis(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call,match", [c[1:] for c in SHAPE_CASES],
                         ids=[c[0] for c in SHAPE_CASES])
def test_bad_shape(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call,error,match", [c[1:] for c in TYPE_CASES],
                         ids=[c[0] for c in TYPE_CASES])
def test_bad_dtype_or_option(call, error, match):
    with pytest.raises(error, match=match):
        call()
