"""Generated sweep: every op of `lamina.ops.numpy` / `lamina.ops.elementwise` against
`keras.ops` (torch backend) over all dtypes, mixed pairs, scalars, empty arrays,
broadcasting and axis variants. Values, shapes and result dtypes must agree; where Keras
raises, lamina must raise too (or, where lamina deliberately accepts, match numpy)."""

import numpy as np
import pytest
import torch
from ops_oracle import DTYPES, arr, case_id, compare, keras_torch_departures, resolve

from lamina import ops

# NOTE: the module-level oracle (not the `K` fixture): ops create no named state and a
# session reset per case would dominate the run time.
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)


def _pos(shape, dtype):
    """Nonzero, non-negative operands (divisors, shifts, exponents)."""
    if dtype == "bool":
        return np.ones(shape, bool)
    x = arr(shape, dtype, low=1, high=4, rng=RNG)
    return x.clip(1) if dtype == "uint8" else x  # arr draws unsigned ints from 0


X = {d: arr((2, 3), d, rng=RNG) for d in DTYPES}
Y = {d: _pos((2, 3), d) for d in DTYPES}
ROW = {d: _pos((3,), d) for d in DTYPES}
COL = arr((2, 1), rng=RNG)
X4 = arr((2, 3, 4), rng=RNG)
EMPTY = np.zeros((0,), "float32")
EMPTY2 = np.zeros((2, 0), "int32")
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5], "float32")
CPLX = (arr((2, 3), rng=RNG) + 1j * arr((2, 3), rng=RNG)).astype("complex64")

UNARY = [
    "sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "tanh",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
    "reciprocal", "floor", "ceil", "round", "negative", "absolute", "abs", "sign", "square",
    "isnan", "isinf", "isfinite", "logical_not", "cbrt", "deg2rad", "rad2deg", "exp2",
    "fabs", "i0", "sinc", "erfc", "erfinv", "trunc", "signbit", "isneginf", "isposinf",
    "isreal", "nan_to_num", "real", "imag", "conjugate", "conj", "angle", "bitwise_invert",
    "bitwise_not",
]
BINARY = [
    "add", "subtract", "multiply", "divide", "true_divide", "mod", "power", "floor_divide",
    "maximum", "minimum", "arctan2", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift",
    "fmax", "fmin", "fmod", "gcd", "lcm", "heaviside", "hypot", "nextafter", "ldexp",
    "logaddexp", "logaddexp2", "divide_no_nan", "isclose", "allclose",
]
MIXED = [("float32", "float16"), ("float32", "bfloat16"), ("float16", "bfloat16"),
         ("int32", "float32"), ("int8", "uint8"), ("uint8", "bool"), ("int32", "float64"),
         ("int8", "int32"), ("bool", "float16"), ("uint8", "int32"), ("bool", "int8")]
REDUCE = ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any"]
ARG_AXIS = ["argmax", "argmin", "cumsum", "cumprod", "sort", "argsort", "count_nonzero"]


def _binary_operands():
    for d in DTYPES:
        yield X[d], Y[d]
    for a, b in MIXED:
        yield X[a], Y[b]
    yield X["float32"], ROW["float32"]  # broadcasting
    yield COL, ROW["int32"]
    yield X["int32"], 2
    yield X["float16"], 2.5
    yield X["uint8"], True
    yield X["bool"], 1
    yield 3, Y["float32"]
    yield 2.0, Y["int8"]
    yield np.float32(2.0), Y["int32"]
    yield 3, 2
    yield EMPTY, EMPTY
    yield EMPTY2, np.ones((1, 0), "int32")


def _cases():
    for name in UNARY:
        for d in DTYPES:
            yield name, (X[d],), {}
        yield name, (np.float32(2.0),), {}
        for scalar in (2.0, 3, True):
            yield name, (scalar,), {}
        yield name, (EMPTY,), {}
        yield name, (EMPTY2,), {}
        yield name, (SPECIAL,), {}
    for name in BINARY:
        for a, b in _binary_operands():
            yield name, (a, b), {}
    for name in REDUCE:
        for d in DTYPES:
            yield name, (X[d],), {}
            yield name, (X[d],), {"axis": -1, "keepdims": True}
        for axis in (None, 0, 1, -1, (0, 2), (-1, 0)):
            yield name, (X4,), {"axis": axis}
            yield name, (X4,), {"axis": axis, "keepdims": True}
        yield name, (EMPTY2,), {"axis": 0}
        yield name, (np.float32(2.0),), {}
    for name in ARG_AXIS:
        for d in DTYPES:
            yield name, (X[d],), {}
        for axis in (None, 0, -1, 2):
            yield name, (X4,), {"axis": axis}
        yield name, (EMPTY2,), {"axis": 0}
    # 64-bit operands: Keras-torch keeps float64/int64 in some ops, narrows in others.
    f64, i64 = X["float64"], X["int32"].astype("int64")
    for name in ("where", "clip", "outer", "kron", "einsum", "gcd", "bitwise_and", "ldexp",
                 "inner", "dot", "matmul", "tensordot", "cross", "fmod", "maximum", "add",
                 "hypot", "heaviside", "isclose", "divide_no_nan", "left_shift"):
        for a, b in ((f64, f64), (i64, i64), (f64, X["float32"]), (i64, f64), (i64, 2)):
            if name in ("cross", "einsum") and np.ndim(b) == 0:
                continue
            args = {"where": (X["bool"], a, b), "clip": (a, -1, 1.5), "ldexp": (a, i64),
                    "einsum": ("ij,kj", a, b), "tensordot": (a, b.T if np.ndim(b) else b),
                    "matmul": (a, b.T if np.ndim(b) else b)}.get(name, (a, b))
            yield name, args, {}
    for name in ("sum", "mean", "max", "prod", "std", "var", "cumsum", "cumprod", "sort",
                 "argmax", "abs", "square", "sign", "round", "floor", "sqrt", "cbrt", "trunc",
                 "diff", "trapezoid", "nan_to_num", "exp2", "fabs", "real", "conj"):
        yield name, (f64,), {}
        yield name, (i64,), {}
    yield from [
        ("max", (X4,), {"axis": 1, "initial": 1.0}), ("min", (X["int32"],), {"initial": -1}),
        ("prod", (X["int8"],), {"axis": 0, "dtype": "float32"}),
        ("prod", (X["float32"],), {"dtype": "int32"}),
        ("argmax", (X4,), {"axis": 1, "keepdims": True}),
        ("argmin", (X4,), {"keepdims": True}),
        ("cumsum", (X["int8"],), {"axis": 1, "dtype": "float32"}),
        ("cumprod", (X["bool"],), {"axis": 0, "dtype": "int32"}),
        ("count_nonzero", (X4,), {"axis": (0, 2)}),
        ("round", (X["float32"] * 10, 1), {}), ("round", (np.array([15, 25, -35]), -1), {}),
        ("round", (X["float16"] * 10, -1), {}),
        ("clip", (X["float32"], -1.0, 1.0), {}), ("clip", (X["int32"], 1.5, 2), {}),
        ("clip", (X["uint8"], 1, 2), {}), ("clip", (X["bool"], 0, 1), {}),
        ("clip", (X["bfloat16"], -1, 1), {}), ("clip", (X["int8"], ROW["int8"], 3), {}),
        ("where", (X["bool"], X["float32"], 0.0), {}), ("where", (X["bool"], 1, 2.0), {}),
        ("where", (X["bool"], X["int8"], 2), {}), ("where", (X["int32"], X["float16"],
                                                              Y["bfloat16"]), {}),
        ("where", (X["bool"],), {}), ("where", (X["bool"], ROW["uint8"], COL), {}),
        ("nan_to_num", (SPECIAL,), {"nan": 5.0, "posinf": 9.0, "neginf": -9.0}),
        ("isclose", (X["float32"], X["float32"] + 1e-3), {"rtol": 0.0, "atol": 1e-2}),
        ("isclose", (SPECIAL, SPECIAL), {"equal_nan": True}),
        ("allclose", (SPECIAL, SPECIAL), {"equal_nan": True}),
        ("allclose", (X["float32"], X["float32"] + 1e-3), {"atol": 1e-2}),
        ("real", (CPLX,), {}), ("imag", (CPLX,), {}), ("conj", (CPLX,), {}),
        ("conjugate", (CPLX,), {}), ("angle", (CPLX,), {}), ("isreal", (CPLX,), {}),
        ("matmul", (X4, arr((4, 2), rng=RNG)), {}), ("matmul", (ROW["float32"], X4[0]), {}),
        ("matmul", (X["int8"], Y["int8"].T), {}), ("matmul", (X["int32"], X["float16"].T), {}),
        ("matmul", (X["bool"], X["bool"].T), {}), ("matmul", (X["uint8"], X["int8"].T), {}),
        ("matmul", (X["bfloat16"], X["bfloat16"].T), {}),
        ("matmul", (X["float64"], X["float64"].T), {}),
        ("matmul", (arr((2, 1, 3, 4), rng=RNG), arr((3, 4, 2), rng=RNG)), {}),
        ("matmul", (X["float32"], ROW["float32"]), {}),
        ("dot", (X["float32"], ROW["float32"]), {}), ("dot", (X["float32"], 2.0), {}),
        ("dot", (X["int8"], Y["int8"].T), {}), ("dot", (X["bool"], X["float16"].T), {}),
        ("dot", (ROW["int32"], ROW["float64"]), {}),
        ("tensordot", (X4, arr((3, 4, 2), rng=RNG)), {}),
        ("tensordot", (X4, arr((3, 2), rng=RNG)), {"axes": ([1], [0])}),
        ("tensordot", (X4, arr((4, 3), rng=RNG)), {"axes": ((1, 2), (1, 0))}),
        ("tensordot", (X["int8"], Y["uint8"]), {"axes": 0}),
        ("tensordot", (X["float32"], X["float32"]), {"axes": 2}),
        ("outer", (ROW["float32"], X["int32"]), {}), ("outer", (X["int8"], 1), {}),
        ("outer", (X["bool"], X["bool"]), {}), ("outer", (ROW["bfloat16"], ROW["float16"]), {}),
        ("einsum", ("ij,jk->ik", X["float32"], X["float32"].T), {}),
        ("einsum", ("i,i->", ROW["float32"], ROW["float32"]), {}),
        ("einsum", ("bij->bji", X4), {}), ("einsum", ("ij,kj", X["int8"], Y["int8"]), {}),
        ("einsum", ("ij,j->i", X["int32"], ROW["float16"]), {}),
        ("einsum", ("ij,ij->i", X["bool"], X["bool"]), {}),
        ("einsum", ("...j,j", X4, arr((4,), rng=RNG)), {}),
        ("cross", (arr((4, 3), rng=RNG), arr((4, 3), rng=RNG)), {}),
        ("cross", (arr((4, 2), rng=RNG), arr((4, 2), rng=RNG)), {}),
        ("cross", (arr((4, 3), rng=RNG), arr((4, 2), rng=RNG)), {}),
        ("cross", (arr((3, 4), rng=RNG), arr((3, 4), rng=RNG)), {"axis": 0}),
        ("cross", (arr((3, 4), rng=RNG), arr((4, 3), rng=RNG)), {"axisa": 0, "axisc": 0}),
        ("cross", (arr((2, 3), "int32", rng=RNG), arr((3,), rng=RNG)), {}),
        ("cross", (arr((4, 3), rng=RNG), arr((3, 4), rng=RNG)), {"axisb": 0}),
        ("inner", (X["float32"], Y["float32"]), {}), ("inner", (ROW["int8"], ROW["int8"]), {}),
        ("inner", (X["float32"], 2.0), {}), ("inner", (X4, X["float32"][:, :1].repeat(4, 1)),
                                                 {}),
        ("vdot", (X["float32"], Y["float32"]), {}), ("vdot", (ROW["int32"], ROW["float16"]), {}),
        ("vdot", (CPLX, CPLX), {}),
        ("kron", (X["float32"], Y["int32"]), {}), ("kron", (ROW["int8"], X["uint8"]), {}),
        ("kron", (X["bool"], X["bool"]), {}),
        ("correlate", (arr((5,), rng=RNG), arr((3,), rng=RNG)), {}),
        ("correlate", (arr((5,), rng=RNG), arr((3,), rng=RNG)), {"mode": "same"}),
        ("correlate", (arr((5,), rng=RNG), arr((4,), rng=RNG)), {"mode": "same"}),
        ("correlate", (arr((3,), rng=RNG), arr((5,), rng=RNG)), {"mode": "full"}),
        ("correlate", (arr((5,), "int32", rng=RNG), arr((2,), "int32", rng=RNG)), {}),
        ("diff", (X["float32"],), {}), ("diff", (X4,), {"n": 2, "axis": 1}),
        ("diff", (X["int8"],), {"axis": 0}), ("diff", (X["bool"],), {}),
        ("diff", (X["uint8"],), {"n": 0}),
        ("trapezoid", (X["float32"],), {}), ("trapezoid", (X4,), {"dx": 0.5, "axis": 1}),
        ("trapezoid", (X["int32"],), {"x": ROW["float32"]}),
        ("trapezoid", (X["float64"],), {"axis": 0}),
    ]


CASES = list(_cases())


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()
    return np.asarray(x)


def _np_cross(a, b, axisa=-1, axisb=-1, axisc=-1):
    """np.cross without numpy 2's deprecated 2-vector path (pad to 3, keep z if both 2)."""
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    both_2d = a.shape[-1] == b.shape[-1] == 2
    pad = [(0, 0)] * (a.ndim - 1)
    a = np.pad(a, [*pad, (0, 3 - a.shape[-1])])
    b = np.pad(b, [*[(0, 0)] * (b.ndim - 1), (0, 3 - b.shape[-1])])
    out = np.cross(a, b)
    return out[..., 2] if both_2d else np.moveaxis(out, -1, axisc)


def _numpy_reference(name, args, kwargs):
    """numpy's answer where Keras' torch backend departs from numpy semantics or refuses
    an input numpy accepts (lamina follows numpy there), else None."""
    x = args[0]
    reference = keras_torch_departures(name, x, kwargs)
    if reference is not None:
        return reference
    if name in ("max", "min") and np.size(x) == 0:
        return getattr(np, name)(x, **kwargs)  # Keras-torch refuses any empty input
    if name in ("real", "imag", "conj", "conjugate") and not isinstance(x, np.ndarray):
        # Keras-torch: `torch.from_numpy` on Python/numpy scalars raises; imag of a real
        # tensor raises in torch (numpy gives zeros).
        if name == "imag" or not isinstance(x, torch.Tensor):
            return getattr(np, name)(_np(x))
    if name == "imag" and not np.iscomplexobj(x):
        return np.imag(x)
    if name == "cross" and (
        np.shape(args[0])[-1] == 2 or np.shape(args[1])[-1] == 2 or np.ndim(args[0]) !=
        np.ndim(args[1]) or {"axisa", "axisb", "axisc"} & set(kwargs)
    ):
        return _np_cross(*args, **kwargs)  # Keras-torch: no 2-vectors/broadcast/axisa..c
    if name == "vdot" and np.ndim(x) > 1:
        return np.vdot(*args)  # Keras-torch refuses N-d input (numpy flattens)
    if name == "einsum" and (
        len({str(o.dtype) for o in args[1:]}) > 1 or args[1].dtype == np.bool_
    ):
        # Keras-torch does not promote mixed dtypes and has no bool `bmm`; lamina sums
        # bools as int32 (as Keras' other backends do).
        return np.einsum(args[0], *[_np(o).astype("float64") for o in args[1:]])
    if name == "hypot" and getattr(x, "dtype", None) == np.bool_:
        # Keras-torch has no bool kernel; lamina computes in float.
        return np.hypot(x.astype("float32"), args[1])
    if name in ("bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift") and (
        getattr(x, "dtype", None) == np.bool_ and isinstance(args[1], int)
    ):
        # Keras-torch returns int64 here (torch promotion), against Keras' own bool + weak
        # int -> int32 rule that every other op follows; lamina gives int32.
        return getattr(np, name.replace("bitwise_", ""))(x.astype("int32"), args[1])
    return None


def check_case(case):
    """Compare one case; raises AssertionError on a mismatch."""
    name, args, kwargs = case
    reference = _numpy_reference(name, args, kwargs)
    if reference is not None:
        ours = resolve(ops, name)(*args, **kwargs)
        ours = ours if isinstance(ours, (tuple, list)) else [ours]
        refs = reference if isinstance(reference, tuple) else [reference]
        assert len(ours) == len(refs), f"{len(ours)} outputs, numpy gives {len(refs)}"
        for a, r in zip(ours, refs):
            assert tuple(a.shape) == np.shape(r), f"shape {tuple(a.shape)} != {np.shape(r)}"
            low = a.dtype in (torch.float16, torch.bfloat16)
            tol = 1e-2 if low else 1e-5
            np.testing.assert_allclose(_np(a.float() if low else a), r, rtol=tol, atol=tol)
        return
    try:
        theirs = resolve(keras.ops, name)(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 (any Keras refusal must be mirrored)
        try:
            resolve(ops, name)(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError, NotImplementedError):
            return
        raise AssertionError(f"keras raises {type(e).__name__}: {e}; lamina does not") from e
    compare(resolve(ops, name)(*args, **kwargs), theirs)


# NOTE: one test per op (its cases run in a loop, every mismatch reported) keeps pytest's
# per-test overhead off ~2500 tiny cases.
BY_NAME = {}
for _case in CASES:
    BY_NAME.setdefault(_case[0], []).append(_case)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_op_matches_keras(name):
    failures = []
    for case in BY_NAME[name]:
        try:
            check_case(case)
        except Exception as e:  # noqa: BLE001 (collect every mismatch of this op)
            failures.append(f"{case_id(case)}: {type(e).__name__}: {str(e)[:300]}")
    assert not failures, f"{len(failures)}/{len(BY_NAME[name])} cases differ:\n" + "\n".join(
        failures
    )
