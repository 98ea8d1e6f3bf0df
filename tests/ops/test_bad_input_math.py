"""Bad input to the math, linalg, core and control-flow ops fails early with an error
that names the argument, what was expected and what was received."""

import numpy as np
import pytest

from lamina import ops

X = np.ones((2, 3), "float32")
SQ = np.eye(3, dtype="float32")
COMPLEX = np.ones(3, "complex64")
SPEC = (np.ones((3, 5), "float32"), np.ones((3, 5), "float32"))

# (call, error type, message pattern)
BAD = {
    # axes: name the axis and the rank
    "logsumexp_axis": (lambda: ops.logsumexp(X, axis=2), ValueError, r"`axis`=2 .* rank 2"),
    "logsumexp_axes": (lambda: ops.logsumexp(X, axis=(0, -3)), ValueError,
                       r"`axis`=\(0, -3\) .* rank 2"),
    "norm_axis": (lambda: ops.norm(X, axis=3), ValueError, r"`axis`=3 .* rank 2"),
    "norm_three_axes": (lambda: ops.norm(np.ones((2, 2, 2)), axis=(0, 1, 2)), ValueError,
                        r"one or two axes.*\(0, 1, 2\)"),
    "unstack_axis": (lambda: ops.unstack(X, axis=-3), ValueError, r"`axis`=-3 .* rank 2"),
    "unstack_num": (lambda: ops.unstack(X, num=5), ValueError, r"`num`=5 .* axis 0 \(2\)"),
    "associative_scan_axis": (lambda: ops.associative_scan(lambda a, b: a + b, X, axis=2),
                              ValueError, r"`axis`=2 .* rank 2"),
    "top_k_k": (lambda: ops.top_k(X, 4), ValueError, r"`k`=4 .* last axis \(3\)"),
    # matrices: name the shape
    "det_non_square": (lambda: ops.det(X), ValueError, r"`det` expects square .*\(2, 3\)"),
    "inv_non_square": (lambda: ops.inv(X), ValueError, r"`inv` expects square .*\(2, 3\)"),
    "cholesky_non_square": (lambda: ops.cholesky(X), ValueError,
                            r"`cholesky` expects square .*\(2, 3\)"),
    "cholesky_vector": (lambda: ops.cholesky(np.ones(3)), ValueError, r"rank >= 2.*\(3,\)"),
    "cholesky_not_spd": (lambda: ops.cholesky(-SQ), ValueError, "positive-definite"),
    "eigh_non_square": (lambda: ops.eigh(X), ValueError, r"`eigh` expects square .*\(2, 3\)"),
    "lu_factor_non_square": (lambda: ops.lu_factor(X), ValueError, r"\(2, 3\)"),
    "svd_vector": (lambda: ops.svd(np.ones(3)), ValueError, r"`svd` .*rank >= 2.*\(3,\)"),
    "solve_shapes": (lambda: ops.solve(SQ, np.ones((4, 2))), ValueError,
                     r"`a` of shape \(3, 3\) and `b` of shape \(4, 2\)"),
    "solve_triangular_shapes": (lambda: ops.solve_triangular(SQ, np.ones(4)), ValueError,
                                r"\(3, 3\) .* \(4,\)"),
    "lstsq_shapes": (lambda: ops.lstsq(np.ones((4, 3)), np.ones(5)), ValueError,
                     r"\(4, 3\) .* \(5,\)"),
    "segment_ids_shape": (lambda: ops.segment_sum(X, [0, 1, 1]), ValueError,
                          r"`segment_ids` .* \(3,\) and \(2, 3\)"),
    "in_top_k_shapes": (lambda: ops.in_top_k([0, 1, 2], X, 1), ValueError,
                        r"\(2, 3\) and \(3,\)"),
    "cdist_shapes": (lambda: ops.cdist(X, np.ones((2, 4))), ValueError, r"\(2, 3\) and \(2, 4\)"),
    "extract_sequences_short": (lambda: ops.extract_sequences(X, 5, 1), ValueError,
                                r"last axis \(3\) .* `sequence_length` \(5\)"),
    "fft_mismatch": (lambda: ops.fft((X, X.T)), ValueError, r"\(2, 3\) and \(3, 2\)"),
    "fft_not_pair": (lambda: ops.fft(X), ValueError, r"tuple \(real, imag\).*ndarray"),
    "view_as_complex_last_axis": (lambda: ops.view_as_complex(X), ValueError,
                                  r"last axis of size 2.*\(2, 3\)"),
    "stft_fft_length": (lambda: ops.stft(np.ones(16), 8, 2, 4), ValueError,
                        r"`fft_length` \(4\) must be >= `sequence_length` \(8\)"),
    "istft_window_shape": (lambda: ops.istft(SPEC, 8, 4, 8, window=np.ones(3)), ValueError,
                           r"`window` must have shape \(8,\); received \(3,\)"),
    "slice_rank": (lambda: ops.slice(X, (0,), (1, 1)), ValueError, r"rank-2 .*\(2, 3\)"),
    "slice_update_fit": (lambda: ops.slice_update(X, (1, 1), np.ones((2, 2))), ValueError,
                         r"\(2, 2\) at `start_indices`=\(1, 1\) .* \(2, 3\)"),
    "scan_length": (lambda: ops.scan(lambda c, x: (c, x), 0.0, X, length=5), ValueError,
                    r"`length`=5 .* \(2\)"),
    "scan_nothing": (lambda: ops.scan(lambda c, x: (c, x), 0.0), ValueError, "`xs` or `length`"),
    "map_scalar": (lambda: ops.map(lambda r: r, np.float32(1)), ValueError, "leading axis"),
    "switch_empty": (lambda: ops.switch(0, []), ValueError, "`branches` must not be empty"),
    # dtypes
    "cast_dtype": (lambda: ops.cast(X, "float99"), ValueError, r"'float99'.*Expected one of"),
    "saturate_cast_dtype": (lambda: ops.saturate_cast(X, "text"), ValueError, "'text'"),
    "convert_to_tensor_dtype": (lambda: ops.convert_to_tensor([1], dtype="foo"), ValueError,
                                "'foo'"),
    "det_float16": (lambda: ops.det(SQ.astype("float16")), TypeError,
                    r"`det` does not support float16 .*float32, float64 or complex"),
    "svd_bfloat16": (lambda: ops.svd(ops.cast(SQ, "bfloat16")), TypeError,
                     r"`svd` does not support bfloat16"),
    "erf_complex": (lambda: ops.erf(COMPLEX), TypeError, r"`erf` expects real input.*complex64"),
    "rfft_complex": (lambda: ops.rfft(COMPLEX), TypeError, r"`rfft` expects real .*complex64"),
    "stft_complex": (lambda: ops.stft(np.ones(16, "complex64"), 8, 4, 8), TypeError, "`stft`"),
    "view_as_real_real": (lambda: ops.view_as_real(X), ValueError, r"complex tensor.*float32"),
    # modes: list the valid choices
    "qr_mode": (lambda: ops.qr(X, mode="full"), ValueError, r"'reduced' or 'complete'.*'full'"),
    "norm_matrix_ord": (lambda: ops.norm(X, ord="max", axis=(0, 1)), ValueError,
                        r"'max'.*'fro', 'nuc', 1, -1, 2, -2, inf or -inf"),
    "norm_vector_ord": (lambda: ops.norm(X, ord="fro", axis=0), ValueError,
                        "only valid for matrix norms"),
    "scatter_update_reduction": (lambda: ops.scatter_update(X, [[0, 0]], [1.0], "avg"),
                                 ValueError, r"None, 'add', 'max', 'min' or 'mul'.*'avg'"),
    "stft_window": (lambda: ops.stft(np.ones(16), 4, 2, 4, window="kaiser"), ValueError,
                    r"'hann', 'hamming', a tensor or None; received 'kaiser'"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_a_clear_error(name):
    call, error, pattern = BAD[name]
    with pytest.raises(error, match=pattern):
        call()
