"""Sweep of the shape, creation, sorting and statistics ops (`lamina.ops.numpy.shape`,
`.creation`, `.sorting`, `.statistics`) against `keras.ops` (torch backend): values, shapes and
result dtypes over every dtype family, 0-d and empty inputs, and each argument."""

import numpy as np
import pytest
import torch
from ops_oracle import DTYPES, arr, case_id, compare, resolve

from lamina import ops

# NOTE: the module-level oracle (not the `K` fixture): ops create no named state.
keras = pytest.importorskip("keras")

X = {dt: arr((2, 3, 4), dt) for dt in DTYPES}
M = {dt: arr((3, 4), dt) for dt in DTYPES}
V = {dt: arr((5,), dt) for dt in DTYPES}
S = {dt: arr((), dt) if dt != "bfloat16" else torch.tensor(1.5).bfloat16() for dt in DTYPES}
E0, E20 = arr((0,)), arr((2, 0))
FLOATS = ("float32", "float16", "bfloat16", "float64")


def _with_nans(x):
    x = x.copy()
    x.reshape(-1)[::5] = np.nan
    x[0, 0] = np.nan  # an all-NaN slice along the last axis
    return x


NAN = {dt: _with_nans(arr((2, 3, 4), dt)) for dt in ("float32", "float16", "float64")}
NAN["bfloat16"] = torch.tensor(NAN["float32"]).bfloat16()
NAN2 = _with_nans(arr((4, 5)))
NAN2[0, 0] = 1.0  # no all-NaN row: the nanargs are defined everywhere

REDUCTIONS = ["amax", "amin", "ptp", "nanmax", "nanmin", "nansum", "nanprod", "nanmean",
              "nanvar", "nanstd", "median", "nanmedian"]
SAME_DTYPE_UNARY = ["ravel", "flip", "flipud", "copy", "array", "zeros_like", "ones_like",
                    "empty_like", "transpose", "tril", "triu", "fliplr", "rot90", "diagonal",
                    "trace", "nonzero", "unique"]
WINDOWS = ["bartlett", "blackman", "hamming", "hanning"]


def _reduction_cases():
    for name in REDUCTIONS:
        source = NAN if name.startswith("nan") else X
        for dt in DTYPES:
            yield name, (source.get(dt, X[dt]),), {}
            yield name, (S[dt],), {}
        x = source["float32"]
        for axis in (1, -1, (0, 2)):
            yield name, (x,), {"axis": axis}
        yield name, (x,), {"axis": None, "keepdims": True}
        yield name, (x,), {"axis": (0, 2), "keepdims": True}
        yield name, (X["int32"],), {"axis": -2, "keepdims": True}
        yield name, (E20,), {"axis": 0}
    for name in ("nanargmax", "nanargmin"):
        for dt in DTYPES:
            yield name, (X[dt],), {"axis": 1}
        for axis in (None, 0, -1):
            yield name, (NAN2,), {"axis": axis}
            yield name, (NAN2,), {"axis": axis, "keepdims": True}
        yield name, (S["float32"],), {}
    for name in ("nancumsum", "nancumprod"):
        for dt in DTYPES:
            yield name, (NAN.get(dt, X[dt]),), {"axis": 1}
        for axis in (None, 0, -1):
            yield name, (NAN["float32"],), {"axis": axis}
        yield name, (X["int8"],), {"axis": 2, "dtype": "float32"}
        yield name, (NAN["float32"],), {"axis": 0, "dtype": "float64"}
        yield name, (E0,), {}
    for name, q in (("quantile", 0.3), ("nanquantile", 0.3), ("percentile", 30),
                    ("nanpercentile", 30)):
        scale = 1 if "quantile" in name else 100
        source = NAN if name.startswith("nan") else X
        for dt in DTYPES:
            yield name, (source.get(dt, X[dt]), q), {}
        x = source["float32"]
        yield name, (x, np.array([0.1, 0.5, 1.0]) * scale), {"axis": 1}
        yield name, (x, [0.0, 0.75 * scale]), {"axis": (0, 2), "keepdims": True}
        yield name, (x, q), {"axis": -1, "keepdims": True}
        yield name, (x, q), {"axis": None, "keepdims": True}
        for method in ("linear", "lower", "higher", "midpoint", "nearest"):
            yield name, (M["float32"], 0.35 * scale), {"axis": 0, "method": method}
        yield name, (S["float32"], q), {}
    yield "average", (X["float32"],), {}
    yield "average", (X["int32"],), {"axis": 1}
    yield "average", (X["float16"],), {"axis": -1, "weights": V["float16"][:4]}
    yield "average", (M["float32"],), {"weights": np.abs(M["float64"]) + 0.1}
    yield "average", (M["int8"],), {"axis": 0, "weights": np.array([1, 2, 3])}
    yield "average", (S["float32"],), {}
    for dt in ("int32", "int8", "uint8"):
        yield "bincount", (np.abs(V[dt]),), {}
    yield "bincount", (np.array([0, 2, 2, 5]),), {"minlength": 8}
    yield "bincount", (np.array([0, 2, 2, 1]),), {"weights": np.array([0.5, 1, 2, 3], "float32")}
    yield "bincount", (np.array([0, 2, 2, 1]),), {"weights": np.array([1, 2, 3, 4], "int32")}
    yield "bincount", (np.array([[0, 2, 2], [1, 1, 0]]),), {"minlength": 4}
    yield "bincount", (np.array([], "int32"),), {"minlength": 3}
    for dt in ("float32", "float64", "int32"):
        yield "histogram", (V[dt],), {}
    yield "histogram", (arr((20,)),), {"bins": 4}
    yield "histogram", (arr((20,)),), {"bins": 5, "range": (-1.0, 2.0)}
    for dt in ("float32", "float64", "int32", "float16", "bfloat16"):
        yield "corrcoef", (M[dt],), {}
    yield "corrcoef", (V["float32"],), {}


def _array_cases():
    for dt in DTYPES:
        x, m = X[dt], M[dt]
        yield "reshape", (x, (4, -1)), {}
        yield "transpose", (x,), {"axes": (2, 0, 1)}
        yield "expand_dims", (m, -1), {}
        yield "squeeze", (x[:1] if dt != "bfloat16" else x[:1],), {"axis": 0}
        yield "concatenate", ([x, X["float32"]],), {"axis": -1}
        yield "stack", ([m, M["int8"]],), {"axis": 1}
        yield "split", (x, 2), {"axis": -1}
        yield "take", (x, np.array([[0, -1]])), {"axis": -1}
        yield "take_along_axis", (m, np.array([[0], [3], [-1]])), {"axis": 1}
        yield "pad", (m, ((1, 0), (0, 2))), {}
        yield "tile", (m, (1, 2)), {}
        yield "repeat", (m, 2), {"axis": -1}
        yield "roll", (x, 2), {"axis": (0, -1)}
        yield "broadcast_to", (V[dt], (2, 5)), {}
        yield "swapaxes", (x, 0, -1), {}
        yield "moveaxis", (x, -1, 0), {}
        yield "get_item", (x, (slice(None), 1)), {}
        yield "diag", (V[dt],), {"k": 1}
        yield "full_like", (m, 2), {}
        for name in SAME_DTYPE_UNARY:
            yield name, (m,), {}
        yield "flip", (x,), {"axis": (0, -1)}
        yield "empty", ((2, 3),), {"dtype": dt}
        for name in ("zeros", "ones", "eye", "identity", "tri"):
            yield name, ((2, 3) if name in ("zeros", "ones") else 3,), {"dtype": dt}
        yield "full", ((2, 3), 1), {"dtype": dt}
        yield "arange", (0, 4), {"dtype": dt} if dt != "bool" else {"dtype": "int32"}
        yield "hstack", ([m, M["float32"]],), {}
        yield "vstack", ([m, m],), {}
        yield "dstack", ([m, M["int8"]],), {}
        yield "append", (m, V[dt]), {}
        yield "array_split", (V[dt], 3), {}
        yield "hsplit", (m, 2), {}
        yield "vsplit", (arr((4, 3), dt), 2), {}
        yield "dsplit", (x, [1, 3]), {}
        yield "diagflat", (V[dt],), {}
        yield "isin", (m, V[dt]), {}
        yield "searchsorted", (np.sort(arr((6,), dt)) if dt != "bfloat16"
                               else torch.sort(V[dt])[0], m), {}
        yield "digitize", (m, np.sort(arr((4,), "float32"))), {}
        yield "select", ([m > 0, m < 1], [m, M["float32"]]), {}
        yield "vander", (V[dt],), {}
        yield "argpartition", (m, 1), {}
        yield "linspace", (0, 4, 5), {"dtype": dt}
        yield "meshgrid", (V[dt], V[dt][:3]), {}
    # scalars and empties
    for name in ("ravel", "flip", "copy", "array", "zeros_like", "ones_like", "empty_like",
                 "transpose", "nonzero", "unique", "expand_dims", "squeeze"):
        args = (S["float32"], 0) if name == "expand_dims" else (S["float32"],)
        yield name, args, {}
        for empty in (E0, E20):
            args = (empty, 0) if name == "expand_dims" else (empty,)
            if name != "squeeze":
                yield name, args, {}
    yield "reshape", (S["int32"], (1, 1)), {}
    yield "reshape", (E20, (0, 5)), {}
    yield "reshape", (X["float32"], 24), {}
    yield "reshape", (X["float32"], [3, None]), {}
    yield "concatenate", ([E20, M["float32"][:2]],), {"axis": 1}
    yield "concatenate", ([V["int8"], V["uint8"]],), {"axis": None}
    yield "stack", ([S["float32"], S["float32"]],), {}
    i64 = np.array([[1, 2], [3, 4]])
    yield "concatenate", ([i64, i64],), {}
    yield "concatenate", ([i64, i64.astype("int32"), i64.astype("uint8")],), {"axis": 1}
    yield "concatenate", ([i64.astype("float64"), i64.astype("int32")],), {}
    yield "stack", ([i64, i64.astype("bool")],), {}
    yield "hstack", ([i64, i64.astype("float16")],), {}
    yield "append", (i64, i64.astype("int8")), {}
    yield "pad", (E20, 1), {}
    yield "pad", (M["float32"], 2), {"mode": "symmetric"}
    yield "pad", (M["int32"], ((2, 1), (1, 3))), {"mode": "reflect"}
    yield "pad", (M["float32"], (1, 2)), {"constant_values": -1.5}
    yield "split", (E20, 2), {}
    yield "split", (V["float32"], [2, 4]), {}
    yield "split", (X["float32"], [1]), {"axis": 0}
    yield "take", (X["float32"], 3), {}
    yield "take", (X["float32"], np.array([0, 5, -1])), {"axis": None}
    yield "take", (E20, np.array([], "int32")), {"axis": 1}
    yield "take", (M["float32"], np.array([0.0, 2.7], "float32")), {"axis": 1}  # truncated
    yield "take_along_axis", (M["float32"], np.array([[0.0], [1.9], [3.2]], "float32")), {
        "axis": 1}
    yield "take_along_axis", (X["float32"], np.array([[[0]], [[1]]])), {"axis": 0}
    yield "take_along_axis", (M["float32"], np.array([0, 11, -1])), {"axis": None}
    yield "tile", (S["float32"], 3), {}
    yield "tile", (V["float32"], (2, 1, 2)), {}
    yield "repeat", (M["float32"], 3), {}
    yield "repeat", (M["float32"], np.array([1, 0, 2])), {"axis": 0}
    yield "roll", (M["float32"], -3), {}
    yield "roll", (E0, 1), {}
    yield "broadcast_to", (S["float32"], (2, 3)), {}
    yield "broadcast_to", (M["float32"], [2, 3, 4]), {}
    yield "squeeze", (arr((1, 3, 1)),), {}
    yield "squeeze", (arr((1, 3, 1)),), {"axis": (0, -1)}
    yield "expand_dims", (M["float32"], (0, -1)), {}
    yield "expand_dims", (M["float32"], (1, 2)), {}
    yield "swapaxes", (M["float32"], 1, 1), {}
    yield "moveaxis", (X["float32"], (0, 1), (-1, -2)), {}
    yield "transpose", (X["float32"], [1, 2, 0]), {}
    yield "get_item", (X["float32"], (Ellipsis, None, -1)), {}
    yield "get_item", (X["float32"], np.array([1, 0])), {}
    yield "get_item", (M["float32"], M["float32"] > 0), {}
    yield "tril", (X["float32"],), {"k": -1}
    yield "triu", (X["int32"],), {"k": 2}
    yield "diag", (M["float32"],), {}
    yield "diag", (M["float32"],), {"k": -1}
    yield "diag", (V["float32"],), {"k": -2}
    yield "zeros", (3,), {}
    yield "ones", ((0, 2),), {}
    yield "zeros", ((),), {}
    yield "zeros_like", (M["float32"],), {"dtype": "int8"}
    yield "ones_like", (M["int32"],), {"dtype": "bfloat16"}
    yield "empty_like", (M["int32"],), {"dtype": "float16"}
    yield "empty", (3,), {}
    yield "full", ((2,), 1.5), {}
    yield "full", (3, 2), {"dtype": "int32"}
    yield "full", ((2, 3), V["float32"][:3]), {}
    yield "full", ((2, 2), True), {}
    yield "full_like", (M["float32"], 1.7), {"dtype": "int32"}
    yield "full_like", (M["int32"], 1.7), {}
    yield "full_like", (M["float32"], V["float32"][:4]), {}
    yield "arange", (5,), {}
    yield "arange", (1.5,), {}
    yield "arange", (2, 9, 3), {}
    yield "arange", (-1, 1, 0.25), {}
    yield "arange", (5, 1, -1), {}
    yield "arange", (np.int8(3),), {}
    yield "arange", (0, 0), {}
    yield "linspace", (0, 1), {}
    yield "linspace", (0, 1, 7), {"endpoint": False}
    yield "linspace", (0, 1, 1), {}
    yield "linspace", (0, 1, 0), {}
    yield "linspace", (-2.0, 2.0, 5), {"retstep": True}
    yield "linspace", (V["float32"], V["float32"] + 2, 3), {"axis": -1}
    yield "linspace", (V["float32"][:2], 3.0, 4), {"axis": 1}
    yield "eye", (3, 4), {"k": 1}
    yield "eye", (3,), {"M": 2, "k": -1}
    yield "identity", (2,), {}
    yield "tri", (3,), {}
    yield "tri", (2, 4), {"k": -1}
    yield "tri", (3, 2), {"k": 1, "dtype": "int32"}


def _manipulation_cases():
    f, i = M["float32"], M["int32"]
    yield "append", (f, f), {"axis": 0}
    yield "append", (S["float32"], E0), {}
    yield "array_split", (arr((7, 2)), [2, 5]), {}
    yield "array_split", (f, 3), {"axis": -1}
    yield "array_split", (E0, 2), {}
    yield "hsplit", (V["float32"], 5), {}
    yield "hsplit", (f, [1, 3]), {}
    yield "vsplit", (arr((5, 2)), [1, 3]), {}
    yield "dsplit", (X["float32"], 2), {}
    yield "hstack", ([V["float32"], V["int32"]],), {}
    yield "hstack", ([S["float32"], S["int32"]],), {}
    yield "vstack", ([V["float32"], V["int8"]],), {}
    yield "vstack", ([S["float32"], S["float32"]],), {}
    yield "dstack", ([V["float32"], V["float32"]],), {}
    yield "dstack", ([X["float32"], X["int8"]],), {}
    yield "fliplr", (X["float32"],), {}
    yield "flipud", (V["int8"],), {}
    yield "rot90", (X["float32"],), {"k": 2, "axes": (1, 2)}
    yield "rot90", (f,), {"k": -1}
    yield "rot90", (f,), {"k": 5, "axes": (1, 0)}
    yield "diagflat", (f,), {"k": -2}
    yield "diagflat", (S["int32"],), {}
    yield "diagonal", (X["float32"],), {"offset": -1, "axis1": 2, "axis2": 0}
    yield "diagonal", (f,), {"offset": 5}
    yield "trace", (X["float32"],), {"offset": 1, "axis1": 1, "axis2": 2}
    yield "trace", (X["int8"],), {"axis1": -1, "axis2": 0}
    yield "trace", (X["bool"],), {}
    yield "digitize", (V["int32"], np.array([0, 1, 2])), {}
    yield "digitize", (f, np.array([2.0, 1.0, 0.0])), {}
    yield "isin", (i, np.array([0, 1])), {"invert": True}
    yield "isin", (V["float32"], V["float32"][:2]), {"assume_unique": True}
    yield "isin", (i, 2), {}
    yield "searchsorted", (np.array([1, 2, 2, 3]), np.array([2, 0, 9])), {"side": "right"}
    yield "searchsorted", (np.array([0.5, 1.5]), 1.0), {}
    yield "searchsorted", (np.array([1, 2, 3]), np.array([1.5, 2.5])), {}
    yield "unravel_index", (np.array([0, 5, 11]), (3, 4)), {}
    yield "unravel_index", (np.int32(7), [2, 2, 2]), {}
    yield "unravel_index", (np.array([[1, 2]], "int64"), (3,)), {}
    yield "nonzero", (X["bool"],), {}
    yield "nonzero", (V["int32"],), {}
    yield "unique", (X["int32"],), {"return_index": True, "return_inverse": True,
                                    "return_counts": True}
    yield "unique", (np.array([3, 1, 1, 2]),), {"return_counts": True}
    yield "unique", (np.array([3, 1, 1, 2]),), {"size": 5}
    yield "unique", (np.array([3, 1, 1, 2]),), {"size": 6, "fill_value": -1}
    yield "unique", (np.array([3, 1, 1, 2]),), {"size": 2, "return_index": True}
    yield "unique", (np.array([3.0, 1.0, 1.0]),), {"sorted": False}
    yield "unique", (np.array([[1, 2], [0, 1], [1, 2]]),), {"axis": 0}
    yield "unique", (np.array([[1, 2], [0, 1], [1, 2]]),), {"axis": 0, "return_inverse": True,
                                                              "return_counts": True}
    yield "select", ([f > 0],), {"choicelist": [f]}
    yield "select", ([f > 1, f < -1], [i, f * 2]), {"default": -5}
    yield "select", ([X["bool"], ~X["bool"]], [X["int8"], X["uint8"]]), {"default": 1}
    yield "select", ([f > 0], [S["float32"]]), {"default": V["float32"][:4]}
    yield "argpartition", (V["float32"], 2), {}
    yield "argpartition", (X["float32"], -1), {"axis": 1}
    yield "argpartition", (X["int32"], 0), {"axis": 0}
    yield "array", (f,), {"dtype": "int32"}
    yield "array", ([[1, 2], [3, 4]],), {}
    yield "array", (1.5,), {"dtype": "float16"}
    yield "copy", (S["bool"],), {}
    yield "logspace", (0.0, 2.0), {}
    yield "logspace", (0, 3, 4), {"base": 2, "endpoint": False}
    yield "logspace", (0, 1, 3), {"dtype": "float64"}
    yield "logspace", (V["float32"][:2], 1.0, 3), {"axis": 1}
    yield "geomspace", (1, 1000, 4), {}
    yield "geomspace", (-1.0, -16.0, 5), {"endpoint": False}
    yield "geomspace", (2.0, 8.0, 3), {"dtype": "float64"}
    yield "geomspace", (np.array([1.0, 2.0]), 32.0, 3), {"axis": -1}
    yield "meshgrid", (V["float32"], V["int32"][:2]), {"indexing": "ij"}
    yield "meshgrid", (V["float32"], V["float32"][:2], V["float32"][:3]), {}
    yield "vander", (V["float32"],), {"N": 2, "increasing": True}
    yield "vander", (V["int32"],), {"N": 0}
    for name in WINDOWS:
        for n in (1, 2, 7):
            yield name, (n,), {}
    for n, beta in ((1, 3.0), (5, 0.0), (8, 14.0)):
        yield "kaiser", (n, beta), {}
    yield "view", (M["float32"],), {"dtype": "int32"}
    yield "view", (M["int32"],), {"dtype": "float32"}
    yield "view", (M["float32"],), {"dtype": "uint8"}
    yield "view", (M["int8"],), {"dtype": "bool"}
    yield "view", (M["float32"],), {}
    yield "view", (arr((2, 4), "int8"),), {"dtype": "int32"}
    yield "empty", ((2, 0),), {"dtype": "int8"}
    yield "empty_like", (E20,), {}
    yield "vectorize", (lambda a, b: a * b + 1, V["float32"], V["float32"]), {}
    yield "vectorize", (lambda a: a.sum(), f), {"signature": "(n)->()"}
    yield "vectorize", (lambda a, k: a * k, V["float32"], 3), {"excluded": {1}}
    yield "bincount", (np.array([0, 1]),), {"sparse": True}


def _python_input_cases():
    """Python numbers and nested lists instead of arrays."""
    for name in ("amax", "amin", "ptp", "nansum", "nanmean", "median", "nanprod", "nanstd"):
        yield name, ([[1, 5, 2], [0, 3, 4]],), {"axis": 1}
        yield name, (2.5,), {}
    for name in ("ravel", "flip", "copy", "array", "zeros_like", "transpose", "nonzero",
                 "unique", "fliplr", "flipud", "diagonal", "trace", "tril"):
        yield name, ([[1.0, 0.0], [2.5, 1.0]],), {}
    yield "append", ([1, 2], [3.5]), {}
    yield "concatenate", ([[1, 2], [3.5]],), {}
    yield "stack", ([[1, 2], [3, 4]],), {}
    yield "hstack", ([[1, 2], [3]],), {}
    yield "take", ([4, 5, 6], [2, 0]), {}
    yield "repeat", ([1, 2], 2), {}
    yield "tile", ([1, 2], 2), {}
    yield "isin", ([1, 2, 3], [2]), {}
    yield "searchsorted", ([1, 2, 3], [2.5]), {}
    yield "quantile", ([1.0, 2.0, 4.0], 0.5), {}
    yield "nancumsum", ([1, 2, 3],), {}
    yield "full_like", ([1, 2], 7), {}
    yield "expand_dims", (1.5, 0), {}
    yield "broadcast_to", (2, (2, 2)), {}


CASES = (list(_reduction_cases()) + list(_array_cases()) + list(_manipulation_cases())
         + list(_python_input_cases()))
SHAPE_ONLY = {"empty", "empty_like"}
KEEPS_FLOAT64 = set()  # none left: these ops narrow float64 to float32, as Keras does


def _numpy(x):
    if isinstance(x, torch.Tensor):
        return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()
    return np.asarray(x)


KERAS_RAISES_NUMPY_ACCEPTS = {
    # Keras-torch raises on these valid numpy calls; lamina accepts them as numpy does.
    "histogram": lambda x, **kw: np.histogram(x, **kw),  # "histogramdd" has no int kernel
    "linspace": np.linspace,  # no bool kernel; no `axis` with array bounds
    "logspace": np.logspace,  # no `axis` with array bounds
    "geomspace": np.geomspace,  # no `axis` with array bounds
    "reshape": lambda x, s: np.reshape(x, [-1 if d is None else d for d in s]),  # None dims
    "concatenate": np.concatenate,  # axis=None: torch.cat rejects it
    "empty": np.empty,  # int shape
    "full": np.full,  # int shape
    "array_split": np.array_split,  # split indices
    "unique": np.unique,  # return_index on N-d input: internal indexing error
    "roll": np.roll,  # one shift for several axes
    "meshgrid": np.meshgrid,  # vectors of different dtypes
    "diagonal": np.diagonal,  # a (nested) Python list: `.ndim` of a list
    "full_like": np.full_like,  # a (nested) Python list
}


def _numpy_reference(name, args, kwargs):
    """numpy's answer where Keras' torch backend departs from numpy (lamina follows numpy
    there), else None."""
    x = _numpy(args[0]) if isinstance(args[0], torch.Tensor) else args[0]
    if name in ("amax", "amin", "ptp", "nanprod") and kwargs.get("keepdims") and (
        kwargs.get("axis") is None
    ):
        return getattr(np, name)(x, keepdims=True)  # Keras-torch drops keepdims here
    if name == "pad":
        return np.pad(x, *args[1:], **kwargs)  # Keras-torch pads only some axes
    if name == "take" and kwargs.get("axis", None) is None:
        return np.take(x, args[1])  # Keras-torch wraps negative flat indices wrongly
    if name == "take_along_axis" and kwargs.get("axis") is None:
        return np.take_along_axis(x, args[1], axis=None)  # same Keras-torch bug
    if name == "average" and kwargs.get("weights") is not None and (
        kwargs.get("axis") is None or np.ndim(kwargs["weights"]) < x.ndim
    ):
        # Keras-torch reduces only the last axis for full-shape weights and axis=None, and
        # broadcasts 1-D weights against the last axis instead of `axis`.
        return np.average(x, axis=kwargs.get("axis"), weights=kwargs["weights"])
    return None


def _compare_numpy(ours, reference):
    ours, reference = _flat(ours), _flat(reference)
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        b = np.asarray(b)
        assert tuple(a.shape) == b.shape, f"shape {tuple(a.shape)} != numpy {b.shape}"
        tol = 1e-2 if a.dtype in (torch.float16, torch.bfloat16) else 1e-5
        np.testing.assert_allclose(_numpy(a).astype(b.dtype), b, rtol=tol, atol=tol)


def _flat(x):
    return [v for item in x for v in _flat(item)] if isinstance(x, (list, tuple)) else [x]


def _check_argpartition(ours, x, kth, axis=-1):
    """`ours` partitions `x` around its `kth` smallest value along `axis` (Keras may
    order each side differently, so values are not compared with it)."""
    x = torch.as_tensor(_numpy(x))
    assert ours.dtype == torch.int32 and ours.shape == x.shape
    n = x.shape[axis]
    positions = torch.arange(n).reshape([-1 if d == axis % x.ndim else 1 for d in range(x.ndim)])
    assert torch.equal(torch.sort(ours.long(), dim=axis).values, positions.expand(x.shape))
    parted = torch.take_along_dim(x, ours.long(), dim=axis)
    pivot = torch.sort(x, dim=axis).values.select(axis, kth).unsqueeze(axis)
    assert torch.all(torch.where(positions < kth % n, parted <= pivot, parted >= pivot))
    assert torch.equal(parted.select(axis, kth), pivot.squeeze(axis))


def _call(module, name, args, kwargs):
    if name == "vectorize":
        fn = resolve(module, name)(args[0], **kwargs)
        return fn(*args[1:])
    return resolve(module, name)(*args, **kwargs)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_op_matches_keras(case):
    name, args, kwargs = case
    reference = _numpy_reference(name, args, kwargs)
    if reference is not None:
        _compare_numpy(_call(ops, name, args, kwargs), reference)
        return
    try:
        theirs = _call(keras.ops, name, args, kwargs)
    except Exception as e:
        if name not in KERAS_RAISES_NUMPY_ACCEPTS:
            with pytest.raises((type(e), ValueError, TypeError)):
                _call(ops, name, args, kwargs)
            return
        ours = _call(ops, name, args, kwargs)
        reference = KERAS_RAISES_NUMPY_ACCEPTS[name](
            *[_numpy(a) if isinstance(a, torch.Tensor) else a for a in args], **kwargs)
        if name in SHAPE_ONLY:
            assert tuple(ours.shape) == reference.shape
        else:
            _compare_numpy(ours, reference)
        return
    ours = _call(ops, name, args, kwargs)
    if name == "argpartition":
        _check_argpartition(ours, *args, **kwargs)
        assert ours.dtype == theirs.dtype
        return
    if name in SHAPE_ONLY:
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        return
    if name in KEEPS_FLOAT64 and theirs.dtype == torch.float32 and ours.dtype == torch.float64:
        ours = ours.float()  # deliberate: lamina keeps float64 where Keras gives float32
    compare(ours, theirs)


def test_every_op_in_these_files_is_swept():

    names = {n for m in ("shape", "creation", "statistics", "sorting")
             for n in getattr(ops.numpy, m).__all__} | {"select", "trace", "vectorize"}
    names -= {"sort", "argsort"}  # (checked in test_ops_sweep_numpy)
    assert names <= {c[0] for c in CASES}, names - {c[0] for c in CASES}
    assert len(CASES) > 600
