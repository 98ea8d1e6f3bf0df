"""lamina.ops against keras.ops (torch backend): values, shapes and result dtypes."""

import numpy as np
import pytest
import torch

from lamina import ops

# NOTE: the module-level oracle (not the `K` fixture) because clearing Keras' session for
# each of ~1000 cheap cases would dominate the run time; ops create no named state.
keras = pytest.importorskip("keras")
from ops_oracle import case_id, compare, keras_torch_departures, np_sparsemax  # noqa: E402

RNG = np.random.default_rng(0)


def arr(shape, dtype="float32", low=-3, high=3):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("uint") else low
        return RNG.integers(low, high, size=shape).astype(dtype)
    return RNG.uniform(low, high, size=shape).astype(dtype)


POS = arr((2, 3), low=0.1, high=0.9)
F32 = arr((2, 3))
F16 = arr((2, 3), "float16")
F64 = arr((2, 3), "float64")
I32 = arr((2, 3), "int32")
I8 = arr((2, 3), "int8")
U8 = arr((2, 3), "uint8")
B = arr((2, 3), "bool")
BF16 = torch.tensor(F32).bfloat16()
ROW = arr((3,))
X4 = arr((2, 3, 4))
PROBS = np.abs(arr((4, 5))) + 0.1
PROBS = PROBS / PROBS.sum(-1, keepdims=True)
LABELS = np.eye(5, dtype="float32")[[0, 2, 4, 1]]

BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "mod",
          "maximum", "minimum", "arctan2", "equal", "not_equal", "less", "less_equal",
          "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "power"]
BINARY_OPERANDS = [(F32, F32), (F32, ROW), (I32, 2), (I32, 1.5), (I8, U8), (I32, F16),
                   (F16, 2.0), (B, B), (B, 1), (U8, True), (I8, 3), (F64, I32), (BF16, 2),
                   (3, F32), (2, 3)]
UNARY = ["negative", "absolute", "abs", "sign", "sqrt", "square", "exp", "expm1", "log",
         "log1p", "log2", "log10", "sin", "cos", "tan", "tanh", "arcsin", "arccos", "arctan",
         "sinh", "cosh", "arcsinh", "arctanh", "floor", "ceil", "round", "reciprocal",
         "logical_not", "isnan", "isinf", "isfinite", "erf", "rsqrt", "relu", "relu6",
         "sigmoid", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu",
         "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "tanh_shrink",
         "celu", "hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid",
         "squareplus", "softmax", "log_softmax", "sparsemax", "ravel", "zeros_like",
         "ones_like", "sort", "argsort", "flip", "transpose", "ndim"]
FLOAT_ONLY = {"softplus", "silu", "swish", "gelu", "elu", "selu", "leaky_relu", "hard_sigmoid",
              "hard_silu", "hard_swish", "log_sigmoid", "celu", "hard_shrink", "soft_shrink",
              "softmax", "log_softmax"}
REDUCE = ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "argmax", "argmin",
          "logsumexp", "count_nonzero", "cumsum", "cumprod"]
NO_KEEPDIMS = {"count_nonzero", "cumsum", "cumprod"}
SINGLE_AXIS = {"argmax", "argmin", "cumsum", "cumprod"}


def _cases():
    for name in BINARY:
        for a, b in BINARY_OPERANDS:
            yield name, (a, b), {}
    for name in UNARY:
        for x in (F32, F16, F64, I32, U8, B, BF16):
            if name in FLOAT_ONLY and not (isinstance(x, torch.Tensor) or x.dtype.kind == "f"):
                continue
            yield name, (x,), {}
    for name in REDUCE:
        for x in (X4, I32, B, F16, I8, U8):
            axes = [None, 1, -1] if name in SINGLE_AXIS else [None, 1, -1, (0, 2)]
            for axis in axes:
                if axis == (0, 2) and x.ndim < 3:
                    continue
                yield name, (x,), {"axis": axis}
                if name not in NO_KEEPDIMS:
                    yield name, (x,), {"axis": axis, "keepdims": True}
    yield from [
        ("matmul", (X4, arr((4, 2))), {}), ("matmul", (ROW, F32.T), {}),
        ("matmul", (I8, I8.T), {}), ("matmul", (I32, F16.T), {}),
        ("dot", (F32, ROW), {}), ("dot", (X4, arr((2, 4, 5))), {}), ("dot", (F32, 2.0), {}),
        ("tensordot", (X4, arr((3, 4, 2))), {}),
        ("tensordot", (X4, arr((3, 2))), {"axes": ([1], [0])}),
        ("outer", (ROW, I32), {}), ("outer", (I8, 1), {}),
        ("einsum", ("ij,jk->ik", F32, F32.T), {}), ("einsum", ("i,i->", ROW, ROW), {}),
        ("einsum", ("bij->bji", X4), {}),
        ("clip", (F32, -1.0, 1.0), {}), ("clip", (I32, 1.5, 2), {}), ("clip", (U8, 1, 2), {}),
        ("clip", (B, 0, 1), {}),
        ("where", (B, F32, 0.0), {}), ("where", (B, 1, 2.0), {}), ("where", (B, I8, 2), {}),
        ("reshape", (X4, (4, -1)), {}), ("reshape", (F32, 6), {}),
        ("transpose", (X4, (2, 0, 1)), {}),
        ("expand_dims", (F32, 0), {}), ("expand_dims", (F32, -1), {}),
        ("expand_dims", (F32, (0, 3)), {}),
        ("squeeze", (arr((1, 3, 1)),), {}), ("squeeze", (arr((1, 3, 1)), 0), {}),
        ("squeeze", (arr((1, 3, 1)), (0, 2)), {}),
        ("concatenate", ([F32, F32],), {"axis": 1}), ("concatenate", ([I8, U8],), {}),
        ("concatenate", ([F32, I32],), {"axis": None}),
        ("stack", ([F32, F32],), {"axis": -1}), ("stack", ([I8, F16],), {}),
        ("take", (X4, np.array([[0, -1]])), {"axis": 1}), ("take", (X4, np.array([3, -2])), {}),
        ("take_along_axis", (F32, np.array([[0], [2]])), {"axis": 1}),
        ("take_along_axis", (F32, np.array([[0, 1, 2]])), {"axis": 0}),
        ("pad", (F32, 1), {}), ("pad", (F32, ((0, 1), (2, 0))), {"constant_values": 9}),
        ("pad", (np.arange(4.0), 2), {"mode": "reflect"}),
        ("pad", (F32, (1, 1)), {"mode": "reflect"}),
        ("pad", (np.arange(3.0), (2, 1)), {"mode": "symmetric"}),
        ("pad", (I32, ((1, 0), (0, 2))), {"mode": "symmetric"}),
        ("tile", (F32, (2, 1)), {}), ("tile", (ROW, 3), {}), ("tile", (F32, (2, 1, 2)), {}),
        ("repeat", (F32, 2), {}), ("repeat", (F32, 2), {"axis": 1}),
        ("repeat", (F32, [1, 2]), {"axis": 0}),
        ("flip", (X4,), {"axis": 1}), ("flip", (X4,), {"axis": (0, 2)}),
        ("roll", (F32, 1), {}), ("roll", (F32, -1), {"axis": 1}),
        ("broadcast_to", (ROW, (2, 3)), {}), ("swapaxes", (X4, 0, 2), {}),
        ("moveaxis", (X4, 0, -1), {}), ("moveaxis", (X4, (0, 1), (2, 0)), {}),
        ("zeros", ((2, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}),
        ("zeros_like", (F32,), {"dtype": "int8"}), ("full", ((2, 2), 3), {}),
        ("full", ((2,), 1.5), {"dtype": "float16"}), ("full_like", (I32, 2.7), {}),
        ("full_like", (F32, 2), {"dtype": "int32"}),
        ("arange", (5,), {}), ("arange", (0.0, 5), {}), ("arange", (1, 7, 2), {}),
        ("arange", (0, 5, 0.5), {}), ("arange", (5,), {"dtype": "float16"}),
        ("linspace", (0, 1, 5), {}), ("linspace", (0, 10, 5), {"dtype": "int32"}),
        ("linspace", (0, 1, 5), {"endpoint": False}), ("linspace", (ROW, ROW + 1, 4), {}),
        ("eye", (3,), {}), ("eye", (3, 4), {"k": 1}), ("eye", (4, 3), {"k": -1}),
        ("identity", (3,), {"dtype": "int32"}),
        ("tril", (F32,), {}), ("tril", (X4,), {"k": 1}), ("triu", (F32,), {"k": -1}),
        ("diag", (ROW,), {}), ("diag", (F32,), {"k": 1}), ("diag", (ROW,), {"k": -1}),
        ("sort", (X4,), {"axis": 1}), ("argsort", (X4,), {"axis": 0}),
        ("sort", (F32,), {"axis": None}), ("top_k", (X4, 2), {}),
        ("split", (X4, 3), {"axis": 1}), ("split", (X4, [1, 3]), {"axis": 2}),
        ("unstack", (X4,), {"axis": 1}), ("cast", (F32, "int32"), {}),
        ("cast", (I32, "float16"), {}), ("cast", (F32, "bool"), {}),
        ("get_item", (X4, (0, slice(1, 3))), {}), ("get_item", (X4, 1), {}),
        ("slice", (X4, (0, 1, 1), (2, 2, 3)), {}),
        ("slice_update", (X4, (0, 1, 0), np.ones((1, 2, 4), "float32")), {}),
        ("scatter", (np.array([[0, 1], [1, 2], [0, 1]]), np.array([1.0, 2.0, 3.0]), (2, 3)), {}),
        ("scatter_update", (F32, np.array([[0, 1], [1, 2]]), np.array([10.0, 20.0])), {}),
        ("scatter_update", (X4, np.array([[0], [1]]), np.ones((2, 3, 4))), {}),
        ("round", (F32 * 10, 1), {}), ("round", (np.array([15, 25, -35]), -1), {}),
        ("stop_gradient", (F32,), {}), ("size", (X4,), {}),
        ("gelu", (F32,), {"approximate": False}), ("elu", (F32,), {"alpha": 0.5}),
        ("leaky_relu", (F32,), {"negative_slope": 0.1}), ("celu", (F32,), {"alpha": 2.0}),
        ("glu", (X4,), {}), ("glu", (arr((4, 2)),), {"axis": 0}),
        ("hard_shrink", (F32,), {"threshold": 1.0}), ("soft_shrink", (F32,), {"threshold": 1.0}),
        ("squareplus", (F32,), {"b": 2}), ("threshold", (F32, 0.5, -1.0), {}),
        ("softmax", (X4,), {"axis": 1}), ("softmax", (X4,), {"axis": (1, 2)}),
        ("log_softmax", (X4,), {"axis": 0}), ("sparsemax", (X4,), {"axis": 1}),
        ("one_hot", (np.array([0, 2, 1, -1]), 3), {}),
        ("one_hot", (np.array([[0, 2], [1, 1]]), 3), {"axis": 0}),
        ("one_hot", (np.array([0, 2]), 3), {"dtype": "int32"}),
        ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
        ("multi_hot", (np.array([0, 2]), 4), {}),
        ("moments", (X4, [0, 2]), {}), ("moments", (X4, 1), {"keepdims": True}),
        ("moments", (F16, [0]), {}),
        ("normalize", (F32,), {}), ("normalize", (F32,), {"order": 1, "axis": 0}),
        ("binary_crossentropy", (LABELS, PROBS), {}),
        ("binary_crossentropy", (LABELS, arr((4, 5))), {"from_logits": True}),
        ("categorical_crossentropy", (LABELS, PROBS), {}),
        ("categorical_crossentropy", (LABELS, PROBS * 3), {}),
        ("categorical_crossentropy", (LABELS, PROBS), {"from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([0, 2, 4, 1]), PROBS), {}),
        ("sparse_categorical_crossentropy", (np.array([[0], [2], [4], [1]]), PROBS),
         {"from_logits": True}),
    ]
    q, k, v = arr((2, 4, 2, 8)), arr((2, 5, 2, 8)), arr((2, 5, 2, 8))
    mask = arr((2, 2, 4, 5), "bool")
    mask[..., 0] = True
    yield from [
        ("dot_product_attention", (q, k, v), {}),
        ("dot_product_attention", (q, k, v), {"mask": mask}),
        ("dot_product_attention", (q, k, v), {"bias": arr((1, 2, 4, 5))}),
        ("dot_product_attention", (q, k, v), {"bias": arr((2, 2, 4, 5)), "mask": mask,
                                              "scale": 0.3}),
        ("dot_product_attention", (q, q, q), {"is_causal": True}),
        ("dot_product_attention", (q, k[:, :, :1], v[:, :, :1]), {}),
        ("dot_product_attention", (q, k, v), {"attn_logits_soft_cap": 2.0}),
    ]


CASES = list(_cases())
_id = case_id
_compare = compare
_np_sparsemax = np_sparsemax


def _numpy_reference(name, args, kwargs):
    """numpy's answer where Keras' torch backend departs from numpy/JAX semantics
    (lamina follows numpy there), else None."""
    x = args[0]
    reference = keras_torch_departures(name, x, kwargs)
    if reference is not None:
        return reference
    if name == "dot" and x.ndim > 2 and args[1].ndim > 2:
        return np.dot(*args)  # Keras-torch does a batched matmul
    if name == "take" and kwargs.get("axis") is None:
        return np.take(*args)  # Keras-torch wraps negative flat indices wrongly
    if name == "pad":
        return np.pad(*args, **kwargs)  # Keras-torch pads only some axes / mis-reflects
    if name == "sparsemax" and x.ndim > 1:
        x = x.float().numpy() if isinstance(x, torch.Tensor) else x.astype("float32")
        return _np_sparsemax(x, **kwargs)  # Keras-torch: rows don't sum to 1
    if name in ("sparse_plus", "sparse_sigmoid") and getattr(x, "dtype", None) == np.uint8:
        x = x.astype("float32")  # Keras-torch computes in uint8 and wraps -1
        if name == "sparse_plus":
            return np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))
        return np.clip((x + 1) / 2, 0, 1)
    return None


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_op_matches_keras(case):
    name, args, kwargs = case
    reference = _numpy_reference(name, args, kwargs)
    if reference is not None:
        ours = getattr(ops, name)(*args, **kwargs)
        assert tuple(ours.shape) == reference.shape
        rtol = 1e-2 if ours.dtype in (torch.float16, torch.bfloat16) else 1e-5
        np.testing.assert_allclose(ours.float().numpy(), reference, rtol=rtol, atol=rtol)
        return
    try:
        theirs = getattr(keras.ops, name)(*args, **kwargs)
    except Exception:  # noqa: BLE001 (any rejection by the oracle)
        _check_keras_rejected(name, args, kwargs)
        return
    _compare(getattr(ops, name)(*args, **kwargs), theirs)


def _np(x):
    return x.float().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


# Inputs Keras' torch backend rejects but lamina accepts, with numpy's answer for them
# (dot_product_attention's extra options are checked in test_ops_sweep_nn.py).
KERAS_REJECTS = {
    "softsign": lambda x: (lambda f: f / (1 + np.abs(f)))(_np(x).astype("float32")),
    "tanh_shrink": lambda x: (lambda f: f - np.tanh(f))(_np(x).astype("float32")),
    "hard_tanh": lambda x: np.clip(_np(x).astype("int64"), -1, 1),
    "concatenate": lambda xs, axis=0: np.concatenate([_np(x) for x in xs], axis=axis),
    "repeat": lambda x, repeats, axis=None: np.repeat(x, repeats, axis=axis),
    "unstack": lambda x, axis=0: [np.take(x, i, axis=axis) for i in range(x.shape[axis])],
    "stop_gradient": lambda x: x,
    "dot_product_attention": None,
}


def _check_keras_rejected(name, args, kwargs):
    """Keras refused the input: lamina must refuse it too, or give numpy's answer."""
    try:
        ours = getattr(ops, name)(*args, **kwargs)
    except Exception:  # noqa: BLE001 (both refuse it)
        return
    assert name in KERAS_REJECTS, f"`{name}` accepts an input Keras rejects: check it"
    if KERAS_REJECTS[name] is None:
        assert isinstance(ours, torch.Tensor) and torch.isfinite(ours).all()
        return
    expected = KERAS_REJECTS[name](*args, **kwargs)
    for a, b in zip(ours if isinstance(ours, list) else [ours],
                    expected if isinstance(expected, list) else [expected]):
        np.testing.assert_allclose(_np(a), b, rtol=1e-6, atol=1e-6)
