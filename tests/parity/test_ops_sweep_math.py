"""Table-driven parity of the math, linalg, core and control-flow ops against `keras.ops`
(torch backend): values, shapes and result dtypes for every argument, the dtype families
Keras accepts, 0-d and empty inputs. Decompositions with a sign/phase ambiguity (eig, eigh,
svd, qr) are compared through invariants; when Keras raises, lamina must raise too."""

import numpy as np
import pytest
import torch
from ops_oracle import DTYPES, arr, case_id, compare, resolve

from lamina import ops, tree

keras = pytest.importorskip("keras")

FLOATS = ("float32", "float64", "float16", "bfloat16")
# torch's first forward-mode call warns about its own deprecated jit use; lamina's jvp
# silences that, Keras' does not, so warm torch up through lamina once.
ops.jvp(torch.sin, (torch.ones(1),), (torch.ones(1),))
RNG = np.random.default_rng(7)


def _spd(n, dtype="float32", batch=()):
    a = RNG.random((*batch, n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _complex(n):
    return (RNG.random(n) + 1j * RNG.random(n)).astype("complex64")


def _square(n, dtype="float32", batch=()):
    return (RNG.random((*batch, n, n)) + n * np.eye(n)).astype(dtype)


# Keras' torch backend hands these arguments to torch unconverted (numpy input fails
# there); lamina converts, so its oracle gets the same values as tensors.
TENSOR_ORACLE = {"stop_gradient", "unstack", "vectorized_map", "jvp", "shape", "dtype"}
# id(case) -> how the oracle's arguments differ from lamina's (a function of `args`).
ORACLE_ARGS = {}
# id(case) -> an independent reference used instead of Keras, where Keras' torch backend
# raises or returns a value that contradicts its own documented/symbolic result.
REFERENCES = {}


def _floatx_args(args):
    """Integer matrices: lamina's linalg computes them in floatx() (Keras' torch backend
    raises; its symbolic spec accepts them), so the oracle is Keras on float32 input."""
    return tuple(a.astype("float32") if a.dtype.kind in "iu" else a for a in args)


def _tensor_args(name, args):
    if name in ("shape", "dtype"):
        return (keras.ops.convert_to_tensor(args[0]),)
    return tuple(tree.map_structure(
        lambda a: torch.as_tensor(a) if isinstance(a, np.ndarray) else a, a) for a in args)


def _cases():
    cases = []
    add = cases.append

    def special(table, case, value):
        add(case)
        table[id(case)] = value

    # --- element-wise special functions over every dtype family, 0-d and empty ------------
    ranges = {"erf": (-3, 3), "erfc": (-3, 3), "erfinv": (-0.95, 0.95), "rsqrt": (0.1, 4)}
    for name, (low, high) in ranges.items():
        int_range = (1, 5) if name == "rsqrt" else (-1, 2)
        for dtype in DTYPES:
            add((name, (arr((2, 3), dtype, *((low, high) if dtype in FLOATS else int_range)),),
                 {}))
        add((name, (arr((), "float32", low, high),), {}))
        add((name, (arr((0, 2), "float32", low, high),), {}))
    # --- logsumexp -------------------------------------------------------------------------
    for dtype in ("float32", "float64", "float16", "bfloat16", "int32", "bool"):
        add(("logsumexp", (arr((3, 4), dtype),), {}))
    x = arr((2, 3, 4))
    for kwargs in ({"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 2)},
                   {"axis": None, "keepdims": True}):
        add(("logsumexp", (x,), kwargs))
    add(("logsumexp", (arr(()),), {}))
    add(("logsumexp", (_complex(3),), {}))
    add(("rsqrt", (_complex(3),), {}))
    add(("erf", (_complex(3),), {}))
    add(("rfft", (_complex(4),), {}))
    add(("logsumexp", (arr((0, 3)),), {"axis": 0}))
    add(("logsumexp", (np.full((2, 3), -np.inf, "float32"),), {"axis": 1}))
    # --- top_k / in_top_k --------------------------------------------------------------------
    for dtype in ("float32", "float64", "float16", "bfloat16", "int32", "int8", "uint8"):
        add(("top_k", (arr((3, 6), dtype, -50, 50), 2), {}))
    add(("top_k", (RNG.permutation(8).astype("float32"), 8), {}))
    add(("top_k", (arr((2, 3, 5)), 3), {"sorted": True}))
    add(("top_k", (arr((2, 6)), 3), {"sorted": False}))
    # torch has no CPU topk for bool (Keras raises); lamina ranks False < True.
    special(REFERENCES, ("top_k", (np.array([False, True, False]), 1), {}),
            lambda x, k: (torch.tensor([True]), torch.tensor([1])))
    add(("top_k", (arr((2, 0)), 0), {}))
    preds = arr((4, 5))
    for dtype in ("int32", "int64"):
        add(("in_top_k", (np.array([0, 4, 2, 1], dtype), preds, 2), {}))
    add(("in_top_k", (np.array([0, 4, 2, 1]), arr((4, 5), "int32"), 1), {}))
    add(("in_top_k", (np.array([0, 1, 2, 3]), preds, 5), {}))
    add(("in_top_k", (np.array([0, 1]), np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 2.0]],
                                                 "float32"), 1), {}))
    # --- segments ----------------------------------------------------------------------------
    ids = np.array([0, 0, 2, 3, 3])
    for name in ("segment_sum", "segment_max", "segment_min", "segment_prod"):
        for dtype in ("float32", "float64", "float16", "int32"):
            if (name, dtype) != ("segment_min", "int32"):
                add((name, (arr((5, 3), dtype), ids), {}))
        add((name, (arr((5,)), ids), {"num_segments": 6}))
        add((name, (arr((5, 2, 2)), ids), {"num_segments": 4, "sorted": True}))
        add((name, (arr((5, 3)), np.array([1, 0, 1, 2, 0], "int32")), {"num_segments": 3}))
    add(("segment_sum", (arr((0, 2)), np.zeros(0, "int32")), {"num_segments": 2}))
    add(("unstack", (arr((0, 3)),), {"axis": 1}))
    add(("extract_sequences", (arr((2, 0, 6)), 2, 2), {}))
    # Keras' torch backend fills empty integer segments of segment_min with iinfo.min (an
    # inf-to-int overflow); the identity of `min` (iinfo.max) is what TF and JAX return.
    data = arr((5, 3), "int32")
    special(REFERENCES, ("segment_min", (data, ids), {}), lambda d, i: np.stack(
        [d[i == s].min(0) if (i == s).any() else np.full(3, 2**31 - 1, "int32")
         for s in range(4)]))
    # --- Fourier transforms --------------------------------------------------------------------
    re, im = arr((2, 8)), arr((2, 8))
    for name in ("fft", "fft2", "ifft2"):
        add((name, ((re, im),), {}))
        add((name, ((re.astype("float64"), im.astype("float64")),), {}))
    add(("fft", ((arr((3,)), arr((3,))),), {}))
    add(("fft2", ((arr((2, 3, 4)), arr((2, 3, 4))),), {}))
    for dtype in ("float32", "float64", "int32"):
        add(("rfft", (arr((2, 10), dtype),), {}))
    add(("rfft", (arr((2, 10)),), {"fft_length": 6}))
    add(("rfft", (arr((10,)),), {"fft_length": 16}))
    add(("irfft", ((arr((2, 5)), arr((2, 5))),), {}))
    add(("irfft", ((arr((2, 5)), arr((2, 5))),), {"fft_length": 7}))
    add(("irfft", ((arr((5,), "float64"), arr((5,), "float64")),), {"fft_length": 12}))
    sig = arr((2, 40))
    window = arr((8,), "float32", 0, 1)
    for kwargs in ({}, {"window": "hamming"}, {"window": None}, {"window": window},
                   {"center": False}, {"window": None, "center": False}):
        add(("stft", (sig, 8, 4, 8), kwargs))
    add(("stft", (sig, 8, 3, 16), {}))
    add(("stft", (sig, 7, 5, 10), {"center": False}))
    add(("stft", (arr((40,), "float64"), 8, 4, 8), {}))
    add(("stft", (arr((2, 1, 33)), 6, 2, 8), {"window": "hamming"}))
    for seq, stride, fft_len, kwargs in (
        (8, 4, 8, {}), (8, 4, 8, {"center": False}), (8, 2, 8, {"window": "hamming"}),
        (8, 4, 8, {"window": None}), (8, 2, 8, {"window": window}),
        (6, 3, 8, {}), (6, 2, 10, {"center": False}), (8, 4, 16, {"length": 30}),
        (8, 4, 8, {"length": 50}), (8, 4, 8, {"length": 20, "center": False}),
        (7, 3, 9, {"window": "hamming"}),
    ):
        frames = 40 // stride + 1 if kwargs.get("center", True) else (40 - fft_len) // stride + 1
        spec = (arr((2, frames, fft_len // 2 + 1)), arr((2, frames, fft_len // 2 + 1)))
        add(("istft", (spec, seq, stride, fft_len), kwargs))
    add(("istft", ((arr((9, 5), "float64"), arr((9, 5), "float64")), 8, 4, 8), {}))
    # Past the last frame lamina zero-pads to `length` (as Keras does when center=True and
    # sequence_length == fft_length); Keras' other path returns fewer samples.
    spec = (arr((9, 5)), arr((9, 5)))
    special(REFERENCES, ("istft", (spec, 6, 4, 8), {"length": 50}), lambda *a, **k: np.pad(
        keras.ops.istft(*a, **k).numpy(), (0, 50 - 36)))
    for dtype in ("float32", "float64", "int32", "bool"):
        add(("extract_sequences", (arr((2, 12), dtype), 4, 3), {}))
    add(("extract_sequences", (arr((12,)), 12, 1), {}))
    add(("extract_sequences", (arr((2, 3, 10)), 3, 3), {}))
    # --- cdist, complex views, logdet ----------------------------------------------------------
    for dtype in ("float32", "float64", "int32"):
        add(("cdist", (arr((3, 4), dtype), arr((5, 4), dtype)), {}))
    add(("cdist", (arr((2, 3, 4)), arr((2, 5, 4))), {}))
    add(("cdist", (arr((3, 4)), arr((5, 4), "float64")), {}))
    add(("view_as_complex", (arr((3, 2)),), {}))
    add(("view_as_complex", (arr((2, 4, 2), "float64"),), {}))
    add(("view_as_real", ((arr((3,)) + 1j * arr((3,))).astype("complex64"),), {}))
    add(("view_as_real", ((arr((2, 3)) + 1j * arr((2, 3))).astype("complex128"),), {}))
    for dtype in ("float32", "float64"):
        add(("logdet", (_spd(3, dtype),), {}))
    add(("logdet", (_spd(3, batch=(2,)),), {}))
    # --- linalg --------------------------------------------------------------------------------
    for dtype in ("float32", "float64", "int32"):
        m = _spd(3, dtype) if dtype != "int32" else np.array([[4, 1], [1, 3]], "int32")
        for name in ("cholesky", "det", "inv", "eigh", "eig", "slogdet", "svd", "qr",
                     "lu_factor", "matrix_rank", "pinv"):
            special(ORACLE_ARGS, (name, (m,), {}), _floatx_args)
    for dtype in ("float16", "bfloat16"):  # torch's CPU LAPACK paths lack half types
        half = torch.tensor(_spd(3)).to(getattr(torch, dtype))
        for name in ("cholesky", "det", "inv", "svd", "qr", "eigh", "slogdet"):
            add((name, (half,), {}))
        add(("solve", (half, half[:, :1]), {}))
    add(("cholesky", (_spd(3, batch=(2,)),), {"upper": True}))
    add(("cholesky_inverse", (np.linalg.cholesky(_spd(3)),), {}))
    add(("cholesky_inverse", (np.linalg.cholesky(_spd(3, "float64")).T,), {"upper": True}))
    add(("det", (_square(3, batch=(2, 2)),), {}))
    add(("det", (_square(0),), {}))
    add(("det", (_square(2) * (1 + 1j),), {}))
    add(("inv", (_square(2) + 1j * _square(2),), {}))
    add(("inv", (_square(4, batch=(2,)),), {}))
    add(("eig", (arr((3, 3)),), {}))
    add(("eig", (arr((2, 4, 4), "float64"),), {}))
    add(("eigh", (_spd(4, batch=(2,)),), {}))
    add(("lu_factor", (arr((2, 4, 4)),), {}))
    add(("lu_factor", (arr((3, 3), "float64"),), {}))
    rect = arr((5, 3))
    for kwargs in ({}, {"mode": "reduced"}, {"mode": "complete"}):
        add(("qr", (rect,), kwargs))
        add(("qr", (rect.T.copy(),), kwargs))
    add(("qr", (arr((2, 4, 3), "float64"),), {"mode": "complete"}))
    for kwargs in ({}, {"full_matrices": False}, {"compute_uv": False},
                   {"full_matrices": False, "compute_uv": False}):
        add(("svd", (rect,), kwargs))
        add(("svd", (rect.T.copy(),), kwargs))
    add(("svd", (arr((2, 3, 4), "float64"),), {"full_matrices": False}))
    sq = _square(3)
    b = arr((3, 2))
    tril, triu = np.tril(sq), np.triu(sq)
    for dtype in ("float32", "float64"):
        add(("solve", (sq.astype(dtype), b.astype(dtype)), {}))
    # Mixed float32/float64: lamina promotes with Keras' `result_type` (float32, as Keras'
    # solve_triangular does); Keras' torch solve and lstsq raise on mixed dtypes.
    special(ORACLE_ARGS, ("solve", (sq, b.astype("float64")), {}),
            lambda args: tuple(a.astype("float32") for a in args))
    special(ORACLE_ARGS, ("lstsq", (sq.astype("float64"), b), {}),
            lambda args: tuple(a.astype("float32") for a in args))
    add(("solve_triangular", (triu, b.astype("float64")), {}))
    special(ORACLE_ARGS, ("solve", (np.array([[3, 1], [1, 2]], "int32"),
                                    np.array([[9], [8]], "int32")), {}), _floatx_args)
    add(("solve", (_square(3, batch=(2,)), arr((2, 3, 2))), {}))
    add(("solve", (_square(3, batch=(2,)), arr((2, 3))), {}))
    add(("solve_triangular", (triu, b), {}))
    add(("solve_triangular", (tril, b), {"lower": True}))
    add(("solve_triangular", (tril.astype("float64"), b.astype("float64")), {"lower": True}))
    add(("solve_triangular", (triu, b[:, 0]), {}))
    add(("solve_triangular", (np.tril(_square(3, batch=(2,))), arr((2, 3, 4))),
         {"lower": True}))
    tall = arr((6, 3))
    add(("lstsq", (tall, arr((6,))), {}))
    add(("lstsq", (tall, arr((6, 2))), {}))
    add(("lstsq", (tall.astype("float64"), arr((6, 2), "float64")), {}))
    add(("lstsq", (tall, arr((6, 2))), {"rcond": 0.5}))
    add(("lstsq", (arr((3, 5)), arr((3,))), {}))
    add(("lstsq", (np.ones((4, 2), "float32"), arr((4,))), {}))
    lowrank = arr((4, 2)) @ arr((2, 5))
    add(("matrix_rank", (lowrank,), {}))
    add(("matrix_rank", (lowrank,), {"tol": 1e3}))
    add(("matrix_rank", (arr((2, 3, 3)),), {}))
    add(("pinv", (lowrank,), {}))
    add(("pinv", (rect,), {"rcond": 0.3}))
    add(("pinv", (arr((2, 3, 4), "float64"),), {}))
    v, m3 = arr((5,)), arr((3, 4))
    for ord_ in (None, 0, 1, 2, 3.5, np.inf, -np.inf, -1):
        add(("norm", (v,), {"ord": ord_}))
    for ord_ in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        add(("norm", (m3,), {"ord": ord_, "axis": (0, 1)}))
    add(("norm", (arr((2, 3, 4)),), {}))
    add(("norm", (arr((2, 3, 4)),), {"axis": -1, "keepdims": True}))
    add(("norm", (arr((2, 3, 4)),), {"axis": (2, 0), "ord": 1, "keepdims": True}))
    add(("norm", (m3,), {"ord": "fro"}))
    add(("norm", (m3,), {"ord": 2}))
    for dtype in ("float16", "bfloat16", "int32"):
        add(("norm", (arr((3, 4), dtype),), {}))
    add(("norm", (_complex(4),), {}))
    # float64 stays float64 (Keras' symbolic result); Keras' torch eager returns float32.
    special(REFERENCES, ("norm", (arr((3, 4), "float64"),), {}),
            lambda x: np.asarray(np.linalg.norm(x)))
    add(("norm", (arr(()),), {}))
    # --- core: conversion, casting, slicing, scatters ---------------------------------------
    for src in ("float32", "float64", "int32", "bool", "bfloat16"):
        for dst in ("float32", "float16", "int32", "uint8", "bool", "bfloat16", "int64"):
            add(("cast", (arr((2, 3), src, -300, 300), dst), {}))
    add(("cast", (2.7, "int32"), {}))
    for src, dst in (("float32", "int8"), ("float32", "uint8"), ("float64", "int32"),
                     ("int32", "int8"), ("int32", "uint8"), ("float32", "float16"),
                     ("int32", "bool"), ("float32", "bfloat16"), ("int32", "float32")):
        case = ("saturate_cast", (arr((2, 3), src, -1e5, 1e5), dst), {})
        if (src, dst) == ("int32", "float32"):
            # Keras' torch backend clips with float32(int32 max) cast back to int32, which
            # overflows and maps everything to -2**31; float32 holds every int32 range.
            special(REFERENCES, case, lambda x, dtype: x.astype(dtype))
        else:
            add(case)
    add(("saturate_cast", (arr((2, 3), "float32"), "bool"), {}))
    # Keras clips in float32, where 2**31 - 1 rounds up to 2**31 and wraps to -2**31.
    special(REFERENCES, ("saturate_cast", (np.array([np.inf, -np.inf, 3e9, -3e9], "float32"),
                                           "int32"), {}),
            lambda x, dtype: np.array([2**31 - 1, -(2**31)] * 2, "int32"))
    for value in ([1, 2], [1.5, 2], [[True, False]], 3, 2.5, True, np.float64(1.5),
                  arr((2, 2), "float64"), arr((2,), "int8"), arr((0, 3))):
        add(("convert_to_tensor", (value,), {}))
    add(("convert_to_tensor", ([1, 2],), {"dtype": "float16"}))
    add(("convert_to_tensor", (arr((2,)),), {"dtype": "int32"}))
    add(("convert_to_tensor", (arr((2,)),), {"sparse": False, "ragged": False}))
    for value in (arr((2, 3)), torch.ones(2), [1, 2], 3.0):
        add(("convert_to_numpy", (value,), {}))
        add(("shape", (value,), {}))
        add(("is_tensor", (value,), {}))
        add(("dtype", (value,), {}))
    add(("shape", (arr(()),), {}))
    # Keras returns an ml_dtypes bfloat16 array; lamina has no ml_dtypes dependency.
    special(REFERENCES, ("convert_to_numpy", (arr((2,), "bfloat16"),), {}),
            lambda x: x.float().numpy())
    add(("dtype", (arr((2,), "uint8"),), {}))
    for dtype in ("float32", "int32", "bool", "float16"):
        add(("stop_gradient", (arr((2, 2), dtype),), {}))
    x = arr((4, 5, 3))
    add(("slice", (x, (1, 0, 2), (2, 5, 1)), {}))
    # A size of -1 takes the rest of the axis; Keras' torch backend returns an empty slice.
    special(REFERENCES, ("slice", (x, [0, 2, 0], [4, -1, 3]), {}), lambda x, i, s: x[:, 2:])
    add(("slice", (arr((6,), "int32"), (2,), (0,)), {}))
    add(("slice_update", (x, (1, 2, 0), arr((2, 2, 3))), {}))
    add(("slice_update", (arr((4, 5), "int32"), (0, 3), arr((4, 2), "int32")), {}))
    add(("slice_update", (arr((4, 5)), (1, 1), arr((2, 2), "float64")), {}))
    idx = np.array([[0, 1], [2, 3], [0, 1]])
    add(("scatter", (idx, arr((3,)), (3, 4)), {}))
    add(("scatter", (idx, arr((3,), "int32"), (3, 4)), {}))
    add(("scatter", (np.array([[1], [0]]), arr((2, 4)), (3, 4)), {}))
    add(("scatter", (idx.astype("int32"), arr((3, 2), "float64"), (3, 4, 2)), {}))
    upd = np.array([[0, 1], [2, 3]])
    for reduction in (None, "add", "max", "min", "mul"):
        add(("scatter_update", (arr((3, 4)), upd, arr((2,))), {"reduction": reduction}))
    add(("scatter_update", (arr((3, 4), "int32"), np.array([[1]]), arr((1, 4), "int32")), {}))
    add(("scatter_update", (arr((3, 4)), upd, arr((2,), "int32")), {}))
    for kwargs in ({}, {"axis": 1}, {"axis": -1, "num": 4}, {"num": 3}):
        add(("unstack", (arr((3, 2, 4)),), kwargs))
    add(("unstack", (arr((2, 3), "int32"),), {"axis": 1}))
    # --- control flow (the same callables go to both libraries) -----------------------------
    add(("cond", (True, lambda: ops.ones(2), lambda: ops.zeros(2)), {}))
    add(("cond", (np.array(False), lambda: ops.ones(2), lambda: ops.zeros(2)), {}))
    add(("cond", (torch.tensor(0), lambda: (_t(1.0), _t(2)), lambda: (_t(3.0), _t(4))), {}))
    add(("fori_loop", (0, 5, lambda i, v: v + i, 0), {}))
    add(("fori_loop", (2, 5, lambda i, v: v * 2.0, arr((3,))), {}))
    add(("fori_loop", (torch.tensor(1), np.int32(4), lambda i, v: (v[0] + i, v[1] * 2),
                       (_t(0), _t(1.0))), {}))
    add(("fori_loop", (3, 3, lambda i, v: v + 1, _t(7)), {}))
    add(("while_loop", (lambda i: i < 10, lambda i: i + 3, 0), {}))
    add(("while_loop", (lambda i, s: i < 4, lambda i, s: (i + 1, s * 2.0), (0, _t(1.0))), {}))
    add(("while_loop", (lambda i, s: i < 4, lambda i, s: [i + 1, s + i], [_t(0), _t(0)]), {}))
    add(("while_loop", (lambda i: i < 100, lambda i: i + 1, _t(0)),
         {"maximum_iterations": 7}))
    add(("while_loop", (lambda i, s: i < 5, lambda i, s: (i + 1, s - 1.0), (0, arr((2,)))),
         {"maximum_iterations": 2}))
    add(("while_loop", (lambda i: i < 0, lambda i: i + 1, (_t(4),)), {}))
    xs = arr((4, 3))
    add(("scan", (lambda c, x: (c + x, c * x), np.zeros(3, "float32"), xs), {}))
    add(("scan", (lambda c, x: (c + x, c * x), np.zeros(3, "float32"), xs), {"reverse": True}))
    add(("scan", (lambda c, x: (c + x, c), _t(0.0), xs[:, 0]), {"unroll": 2}))
    add(("scan", (lambda c, x: (c + x, c), _t(0.0), xs[:, 1]), {"unroll": True, "length": 4}))
    add(("scan", (lambda c, x: (c * 2, c), _t(1.0), None), {"length": 3}))
    add(("scan", (lambda c, x: (c * 2, c), _t(1.0)), {"length": 3, "reverse": True}))
    add(("scan", (lambda c, x: ((c[0] + x["a"], c[1]), {"s": x["a"] * x["b"]}),
                  (np.zeros(3, "float32"), _t(2)), {"a": xs, "b": arr((4, 3))}), {}))
    # `ys` is None when `f` returns None (as in JAX); Keras' torch backend gives zeros.
    xs3 = arr((3,))
    special(REFERENCES, ("scan", (lambda c, x: (c + x, None), _t(0.0), xs3), {}),
            lambda f, init, xs: (torch.tensor(xs.sum()), None))
    add(("associative_scan", (lambda a, b: a + b, arr((5, 2))), {}))
    add(("associative_scan", (lambda a, b: a + b, arr((2, 7))), {"axis": 1}))
    # Keras' torch backend returns float32 here; its symbolic result (and JAX's) is int32.
    special(REFERENCES, ("associative_scan", (lambda a, b: a * b, arr((6,), "int32", 1, 4)),
                         {"reverse": True}),
            lambda f, x, reverse: np.cumprod(x[::-1])[::-1].astype("int32"))
    add(("associative_scan", (lambda a, b: ops.maximum(a, b), arr((3, 4))), {"axis": -1,
                                                                          "reverse": True}))
    add(("associative_scan", (lambda a, b: (a[0] + b[0], a[1] * b[1]),
                              (arr((5,)), arr((5,), "float32", 0.5, 1.5))), {}))
    add(("associative_scan", (lambda a, b: a + b, arr((1, 3))), {}))
    add(("map", (lambda x: x * 2, arr((3, 2))), {}))
    add(("map", (lambda x: ops.sum(x), arr((3, 2), "int32")), {}))
    add(("map", (lambda x: {"s": x["a"] + x["b"], "p": x["a"]}, {"a": arr((3, 2)),
                                                                  "b": arr((3, 2))}), {}))
    add(("map", (lambda x: (x[0], x[1] * 2), (arr((2,)), arr((2, 3)))), {}))
    branches = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y]
    for index in (0, 1, 2, -1, 5, np.int32(1), torch.tensor(2)):
        add(("switch", (index, branches, arr((2,)), arr((2,))), {}))
    add(("switch", (0, [lambda: _t(1.0)]), {}))
    add(("vectorized_map", (lambda x: x @ x, arr((3, 4))), {}))
    add(("vectorized_map", (lambda x: x[0] * x[1], (arr((3, 2)), arr((3, 2)))), {}))
    add(("vectorized_map", (lambda x: ops.sum(x["a"], axis=0), {"a": arr((2, 3, 4))}), {}))
    add(("vectorize", (lambda a, b: a + b,), {}))
    add(("vectorize", (lambda a: ops.sum(a),), {"signature": "(n)->()"}))
    add(("vectorize", (lambda a, b: a @ b,), {"signature": "(n,m),(m)->(n)"}))
    add(("custom_gradient", (_log1pexp,), {}))
    add(("custom_gradient", (_clipped_identity,), {}))
    add(("custom_gradient", (_keyword_upstream,), {}))
    add(("jvp", (lambda x: x * x, (arr((3,)),), (arr((3,)),)), {}))
    add(("jvp", (lambda x, y: x @ y, (arr((2, 3)), arr((3,))), (arr((2, 3)), arr((3,)))), {}))
    add(("jvp", (lambda x: (ops.sin(x), ops.cos(x)), (arr((2,), "float64"),),
                 (arr((2,), "float64"),)), {"has_aux": True}))
    return cases


def _log1pexp(x):
    e = ops.exp(x)

    def grad(*args, upstream=None):  # the portable form: Keras' torch backend passes
        if upstream is None:  # `upstream=`, other backends (and lamina) positionally
            (upstream,) = args
        return upstream * (1.0 - 1.0 / (1 + e))

    return ops.log(1 + e), grad


def _clipped_identity(x):
    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        return ops.clip(upstream, -0.5, 0.5)

    return x * 1.0, grad


def _keyword_upstream(x):
    def grad(*args, upstream):  # the torch-only form: upstream passed by keyword
        return upstream * 2 * x

    return x * x, grad


def _t(value):
    return ops.convert_to_tensor(value)


CASES = _cases()

VECTORIZE_INPUTS = {
    None: (arr((2, 3)), arr((3,))),
    "(n)->()": (arr((4, 5)),),
    "(n,m),(m)->(n)": (arr((2, 3, 4)), arr((4,))),
}


def _sorted_complex(values):
    values = values.detach().cpu().numpy()
    return np.sort_complex(values.reshape(-1, values.shape[-1]))


def _check_eig(ours, theirs, x):
    (w, v), (kw, kv) = ours, theirs
    compare((w.real, v.real), (kw.real, kv.real))  # dtypes and shapes
    assert w.dtype == kw.dtype and v.dtype == kv.dtype
    np.testing.assert_allclose(_sorted_complex(w), _sorted_complex(kw), rtol=1e-4, atol=1e-4)
    a = torch.as_tensor(np.asarray(x)).to(v.dtype)
    np.testing.assert_allclose((a @ v).numpy(), (v * w[..., None, :]).numpy(), atol=1e-4)


def _check_eigh(ours, theirs, x):
    (w, v), (kw, kv) = ours, theirs
    compare(w, kw, rtol=1e-4, atol=1e-4)  # ascending eigenvalues are unique
    compare(v.abs(), kv.abs(), rtol=1e-3, atol=1e-3)  # distinct eigenvalues: sign only
    a = torch.as_tensor(np.asarray(x)).to(v.dtype)
    np.testing.assert_allclose((a @ v).numpy(), (v * w[..., None, :]).numpy(), atol=1e-3)


def _check_svd(ours, theirs, x):
    if isinstance(theirs, torch.Tensor):
        return compare(ours, theirs, rtol=1e-4, atol=1e-4)
    (u, s, vh), (ku, ks, kvh) = ours, theirs
    compare(s, ks, rtol=1e-4, atol=1e-4)
    compare((u.abs(), vh.abs()), (ku.abs(), kvh.abs()), rtol=1e-3, atol=1e-3)
    k = s.shape[-1]
    rebuilt = (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]
    np.testing.assert_allclose(rebuilt.numpy(), np.asarray(x, rebuilt.numpy().dtype),
                               atol=1e-4)


def _check_qr(ours, theirs, x):
    (q, r), (kq, kr) = ours, theirs
    compare((q.abs(), r.abs()), (kq.abs(), kr.abs()), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose((q @ r).numpy(), np.asarray(x, q.numpy().dtype), atol=1e-4)


INVARIANTS = {"eig": _check_eig, "eigh": _check_eigh, "svd": _check_svd, "qr": _check_qr}


def _apply(name, fn, case):
    """Ops returning a function are compared through a call of that function."""
    if name == "vectorize":
        return fn(*VECTORIZE_INPUTS[case[2].get("signature")])
    if name == "custom_gradient":
        x = torch.tensor([-30.0, -1.0, 0.0, 2.0, 40.0], requires_grad=True)
        y = fn(x)
        (y * torch.tensor([3.0, -2.0, 1.0, 0.25, 1.0])).sum().backward()
        return y.detach(), x.grad
    return fn


def _plain(result):
    """Results as flat lists of tensors / Python values (numpy arrays become tensors)."""
    return [torch.from_numpy(np.array(r)) if isinstance(r, np.ndarray) else r
            for r in tree.flatten(result)]


class _Label:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _label(a):
    if isinstance(a, np.ndarray):
        return _Label(f"{a.dtype}{list(a.shape)}")
    if callable(a) and not isinstance(a, torch.Tensor):
        return _Label(getattr(a, "__name__", "fn").replace("<lambda>", "fn"))
    if isinstance(a, dict):
        return _Label("{" + ",".join(f"{k}:{_label(v)!r}" for k, v in a.items()) + "}")
    if isinstance(a, (list, tuple)):
        return type(a)(_label(v) for v in a)
    return a


def _id(case):
    name, args, kwargs = case
    return case_id((name, _label(args), {k: _label(v) for k, v in kwargs.items()}))


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_op_matches_keras(case):
    name, args, kwargs = case
    ours_fn = resolve(ops, name)
    if id(case) in REFERENCES:  # see the comment where the case is made
        expected = REFERENCES[id(case)](*args, **kwargs)
        return compare(_plain(ours_fn(*args, **kwargs)), _plain(expected), rtol=1e-4, atol=1e-4)
    keras_args = ORACLE_ARGS.get(id(case), lambda a: a)(args)
    if name in TENSOR_ORACLE:
        keras_args = _tensor_args(name, keras_args)
    try:
        theirs = resolve(keras.ops, name)(*keras_args, **kwargs)
    except Exception:  # noqa: BLE001 -- whatever Keras rejects, lamina must reject too
        with pytest.raises(Exception):  # noqa: B017
            ours_fn(*args, **kwargs)
        return
    ours = _apply(name, ours_fn(*args, **kwargs), case)
    theirs = _apply(name, theirs, case)
    if name in INVARIANTS:
        return INVARIANTS[name](ours, theirs, keras_args[0])
    if name == "convert_to_numpy":
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype
    compare(_plain(ours), _plain(theirs), rtol=1e-4, atol=1e-4)
