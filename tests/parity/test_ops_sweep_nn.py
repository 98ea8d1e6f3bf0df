"""Table-driven parity of every `lamina.ops.nn` op against `keras.ops` (torch backend):
activations over dtypes and edge shapes, convolution and pooling in all ranks and layouts,
normalization, losses, encodings, attention, CTC and block ops."""

import numpy as np
import pytest
import torch
from ops_oracle import DTYPES, arr, case_id, compare, np_sparsemax, resolve

from lamina import ops

# NOTE: the module-level oracle (not the `K` fixture): clearing Keras' session per case
# would dominate the run time, and these ops create no named state.
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)


def _a(shape, dtype="float32", low=-3, high=3):
    return arr(shape, dtype, low, high, rng=RNG)


# --- activations ------------------------------------------------------------------------

ACTIVATIONS = [
    "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "selu",
    "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "tanh_shrink", "hard_tanh",
    "gelu", "elu", "celu", "leaky_relu", "hard_shrink", "soft_shrink", "sparse_plus",
    "sparse_sigmoid", "squareplus", "sparsemax", "softmax", "log_softmax", "glu",
]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_sparsemax = np_sparsemax


_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805
# Independent float64 formulas: the reference where Keras' torch backend raises or errs.
NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": _sigmoid,
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "selu": lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(np.minimum(x, 0))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparsemax": _sparsemax,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "glu": lambda x: np.split(x, 2, -1)[0] * _sigmoid(np.split(x, 2, -1)[1]),
}
# Integer-preserving activations (Keras keeps the input dtype).
INT_KEEPING = {"relu", "relu6", "hard_tanh"}


def _activation_cases():
    for name in ACTIVATIONS:
        for dtype in DTYPES:
            yield name, (_a((2, 4), dtype),), {}
        if name not in ("glu", "sparsemax"):
            yield name, (np.float32(0.7),), {}  # 0-d
        yield name, (_a((0, 4)),), {}  # empty
    yield from [
        ("gelu", (_a((2, 4)),), {"approximate": False}),
        ("gelu", (_a((2, 4), "float64"),), {"approximate": False}),
        ("elu", (_a((2, 4)),), {"alpha": 0.5}), ("celu", (_a((2, 4)),), {"alpha": 2.0}),
        ("leaky_relu", (_a((2, 4)),), {"negative_slope": 0.05}),
        ("hard_shrink", (_a((2, 4)),), {"threshold": 1.5}),
        ("soft_shrink", (_a((2, 4)),), {"threshold": 1.5}),
        ("squareplus", (_a((2, 4)),), {"b": 1}), ("squareplus", (_a((2, 4)),), {"b": 0}),
        ("threshold", (_a((2, 4)), 0.5, -2.0), {}),
        ("threshold", (_a((2, 4), "float64"), 0.0, 0.0), {}),
        ("threshold", (_a((2, 4), "float16"), 1, 7), {}),
        ("threshold", (np.float32(3.0), 1.0, 0.0), {}),
        ("glu", (_a((4, 3)),), {"axis": 0}), ("glu", (_a((2, 4, 3)),), {"axis": 1}),
        ("softmax", (_a((2, 3, 4)),), {"axis": 0}), ("softmax", (_a((2, 3, 4)),), {"axis": (0, 2)}),
        ("log_softmax", (_a((2, 3, 4)),), {"axis": 1}),
        ("log_softmax", (_a((2, 3, 4)),), {"axis": (1, 2)}),
        ("sparsemax", (_a((3, 4)),), {"axis": 0}),
        ("softmax", (np.array([-np.inf, 0.0, 1.0], "float32"),), {}),
        ("sigmoid", (np.array([-100.0, 0.0, 100.0], "float32"),), {}),
        ("softplus", (np.array([-100.0, 0.0, 100.0], "float32"),), {}),
        ("log_sigmoid", (np.array([-100.0, 0.0, 100.0], "float32"),), {}),
    ]


# --- convolution --------------------------------------------------------------------------

def _conv_cases():
    for n in (1, 2, 3):
        sp = (7, 6, 5)[:n]
        k = (3, 2, 3)[:n]
        x, xf = _a((2, *sp, 3)), _a((2, 3, *sp))
        kern = _a((*k, 3, 4))
        yield "conv", (x, kern), {}
        yield "conv", (x, kern), {"padding": "same", "strides": 2}
        yield "conv", (xf, kern), {"data_format": "channels_first", "padding": "same"}
        yield "conv", (x, kern), {"dilation_rate": 2}
        yield "conv", (x, kern), {"dilation_rate": 2, "padding": "same"}
        yield "conv", (x, _a((*k, 3, 4))), {"strides": (2, 1, 2)[:n], "padding": "valid"}
        dk = _a((*k, 3, 2))
        yield "depthwise_conv", (x, dk), {}
        yield "depthwise_conv", (x, dk), {"strides": 2, "padding": "same"}
        yield "depthwise_conv", (xf, dk), {"data_format": "channels_first", "dilation_rate": 2}
        pk = _a(((1,) * n) + (6, 5))
        yield "separable_conv", (x, dk, pk), {}
        yield "separable_conv", (x, dk, pk), {"padding": "same", "strides": 2}
        yield "separable_conv", (xf, dk, pk), {"data_format": "channels_first",
                                               "dilation_rate": 2}
        tk = _a((*k, 4, 3))
        yield "conv_transpose", (x, tk), {}
        yield "conv_transpose", (x, tk), {"strides": 2}
        yield "conv_transpose", (x, tk), {"strides": 2, "padding": "same"}
        yield "conv_transpose", (x, tk), {"strides": 2, "output_padding": 1}
        yield "conv_transpose", (x, tk), {"strides": 3, "padding": "same", "output_padding": 1}
        yield "conv_transpose", (xf, tk), {"data_format": "channels_first", "strides": 2,
                                           "padding": "same"}
        yield "conv_transpose", (x, tk), {"dilation_rate": 2}
        yield "conv_transpose", (x, tk), {"dilation_rate": 2, "padding": "same"}
    x2 = _a((1, 5, 5, 4))
    yield from [
        ("conv", (x2, _a((3, 3, 2, 6))), {}),  # grouped: 4 channels, kernel takes 2
        ("conv", (x2, _a((1, 1, 4, 2))), {"padding": "SAME"}),
        ("conv", (x2, _a((3, 3, 4, 2))), {"padding": "same", "strides": 2}),
        ("conv", (x2, _a((2, 2, 4, 2))), {"padding": "same", "strides": 2}),
        ("conv", (x2, _a((4, 4, 4, 2))), {"padding": "same", "strides": 3}),
        ("conv", (_a((1, 5, 5, 4), "float64"), _a((3, 3, 4, 2), "float64")), {}),
        ("conv", (_a((1, 5, 5, 4), "float16"), _a((3, 3, 4, 2), "float16")), {}),
        ("conv", (x2, _a((3, 3, 4, 2), "float64")), {}),
        ("conv_transpose", (x2, _a((3, 3, 2, 4))), {"strides": (2, 1), "output_padding": (1, 0)}),
        ("conv_transpose", (x2, _a((2, 2, 2, 4))), {"strides": 2, "padding": "same"}),
        ("conv_transpose", (x2, _a((4, 4, 2, 4))), {"strides": 2, "padding": "same"}),
        ("conv_transpose", (x2, _a((4, 4, 2, 4))), {"strides": 2, "padding": "same",
                                                    "output_padding": 0}),
        ("conv_transpose", (x2, _a((1, 1, 2, 4))), {"strides": 3}),
        ("conv_transpose", (x2, _a((2, 2, 2, 4))), {"strides": 3, "padding": "same"}),
    ]


# --- pooling ------------------------------------------------------------------------------

def _pool_cases():
    for n in (1, 2, 3):
        sp = (7, 6, 5)[:n]
        x, xf = _a((2, *sp, 3)), _a((2, 3, *sp))
        for name in ("max_pool", "average_pool"):
            yield name, (x, 2), {}
            yield name, (x, 3), {"strides": 2, "padding": "same"}
            yield name, (x, (2, 3, 2)[:n]), {"strides": 1}
            yield name, (xf, 2), {"data_format": "channels_first", "padding": "same"}
            yield name, (xf, 3), {"strides": (1, 2, 1)[:n], "data_format": "channels_first"}
        for name in ("adaptive_average_pool", "adaptive_max_pool"):
            yield name, (x, 2), {}
            yield name, (x, (3, 4, 2)[:n]), {}
            yield name, (xf, 3), {"data_format": "channels_first"}
    yield from [
        ("max_pool", (_a((1, 6, 6, 2), "float64"), 2), {}),
        ("average_pool", (_a((1, 6, 6, 2), "float16"), 2), {"padding": "same"}),
        ("average_pool", (_a((1, 5, 5, 2)), 4), {"strides": 3, "padding": "same"}),
        ("max_pool", (_a((1, 5, 5, 2)), 4), {"strides": 3, "padding": "same"}),
        ("adaptive_average_pool", (_a((1, 7, 2)), 7), {}),
        ("adaptive_average_pool", (_a((1, 7, 5, 2)), (1, 1)), {}),
    ]


# --- normalization, statistics, encodings, losses ---------------------------------------

PROBS = np.abs(_a((4, 5))) + 0.1
PROBS = PROBS / PROBS.sum(-1, keepdims=True)
LABELS = np.eye(5, dtype="float32")[[0, 2, 4, 1]]
BIN = (_a((3, 4)) > 0).astype("float32")
X4 = _a((2, 3, 4))
IMG = _a((2, 4, 4, 8))


def _misc_cases():
    yield from [
        # batch_normalization / moments / normalize
        ("batch_normalization", (X4, _a((4,)), _a((4,), low=0.1), -1), {}),
        ("batch_normalization", (X4, _a((3,)), _a((3,), low=0.1), 1),
         {"offset": _a((3,)), "scale": _a((3,)), "epsilon": 0.1}),
        ("batch_normalization", (X4, _a((1, 3, 1)), _a((1, 3, 1), low=0.1), 1),
         {"scale": _a((1, 3, 1))}),
        ("batch_normalization", (_a((2, 3), "float64"), _a((3,), "float64"),
                                 _a((3,), "float64", low=0.1), -1), {}),
        ("batch_normalization", (_a((2, 3), "float16"), _a((3,), "float16"),
                                 _a((3,), "float16", low=0.1), -1), {}),
        ("moments", (X4, [0, 2]), {}), ("moments", (X4, 1), {"keepdims": True}),
        ("moments", (X4, (0, 1, 2)), {}), ("moments", (_a((2, 3), "float16"), [0]), {}),
        ("moments", (_a((2, 3), "bfloat16"), [1]), {"keepdims": True}),
        ("moments", (_a((2, 3), "float64"), [1]), {}),
        ("moments", (_a((2, 3), "int32"), [0]), {}),
        ("moments", (X4, [-1]), {"synchronized": True}),
        ("normalize", (X4,), {}), ("normalize", (X4,), {"axis": 1, "order": 1}),
        ("normalize", (X4,), {"order": 3, "epsilon": 0.5}),
        ("normalize", (np.zeros((2, 3), "float32"),), {}),
        ("normalize", (_a((2, 3), "float64"),), {}),
        ("normalize", (_a((2, 3), "int32"),), {}),
        ("layer_normalization", (X4,), {}),
        ("layer_normalization", (X4, _a((4,)), _a((4,))), {"epsilon": 0.1}),
        ("layer_normalization", (X4,), {"axis": 1}),
        ("layer_normalization", (_a((2, 3), "float16"),), {}),
        ("rms_normalization", (X4,), {}),
        ("rms_normalization", (X4, _a((4,))), {"epsilon": 0.1}),
        ("rms_normalization", (X4,), {"axis": 1}),
        # encodings
        ("one_hot", (np.array([0, 2, 1, -1, 5]), 3), {}),
        ("one_hot", (np.array([[0, 2], [1, 1]]), 3), {"axis": 0}),
        ("one_hot", (np.array([[0, 2], [1, 1]]), 3), {"axis": 1}),
        ("one_hot", (np.array([0, 2]), 3), {"dtype": "int32"}),
        ("one_hot", (np.array([0.0, 1.7, 2.2, -1.0, -0.5], "float32"), 3), {}),
        ("multi_hot", (np.array([[0.0, 2.9], [1.2, 1.0]], "float32"), 4), {}),
        ("one_hot", (np.array([0, 2]), 3), {"dtype": "bool", "sparse": False}),
        ("one_hot", (np.int32(1), 3), {}),
        ("one_hot", (np.zeros((0,), "int32"), 3), {}),
        ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
        ("multi_hot", (np.array([0, 2]), 4), {}),
        ("multi_hot", (np.array([[0, 2], [3, 1]]), 4), {"axis": 0}),
        ("multi_hot", (np.array([[0, 2], [3, 1]]), 4), {"dtype": "int32", "sparse": False}),
        ("multi_hot", (np.array([[[0, 2], [3, 1]]]), 4), {}),
        # losses
        ("binary_crossentropy", (BIN, _a((3, 4), low=0.05, high=0.95)), {}),
        ("binary_crossentropy", (BIN, _a((3, 4))), {"from_logits": True}),
        ("binary_crossentropy", (BIN.astype("float64"), _a((3, 4), "float64", 0.1, 0.9)), {}),
        ("binary_crossentropy", (np.array([0.0, 1.0], "float32"),
                                 np.array([0.0, 1.0], "float32")), {}),
        ("categorical_crossentropy", (LABELS, PROBS), {}),
        ("categorical_crossentropy", (LABELS, PROBS * 3), {}),
        ("categorical_crossentropy", (LABELS, _a((4, 5))), {"from_logits": True}),
        ("categorical_crossentropy", (LABELS.T, PROBS.T), {"axis": 0}),
        ("categorical_crossentropy", (LABELS.T, _a((5, 4))), {"axis": 0, "from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([0, 2, 4, 1]), PROBS), {}),
        ("sparse_categorical_crossentropy", (np.array([[0], [2], [4], [1]]), PROBS),
         {"from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([[0, 1, 2], [4, 4, 3]]),
                                             _a((2, 3, 5))), {"from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([0, 2, 4, 1]), PROBS.T), {"axis": 0}),
        # psnr / polar
        ("psnr", (IMG, IMG * 0.8, 1.0), {}), ("psnr", (IMG, IMG + 0.5, 255), {}),
        ("psnr", (_a((3,), "float64"), _a((3,), "float64"), 2.0), {}),
        ("polar", (_a((2, 3), low=0.1), _a((2, 3))), {}),
        ("polar", (_a((3,), "float64", low=0.1), _a((3,), "float64")), {}),
        # block ops
        ("depth_to_space", (IMG, 2), {}),
        ("depth_to_space", (np.moveaxis(IMG, -1, 1), 2), {"data_format": "channels_first"}),
        ("space_to_depth", (IMG, 2), {}), ("space_to_depth", (IMG, 4), {}),
        ("space_to_depth", (np.moveaxis(IMG, -1, 1), 2), {"data_format": "channels_first"}),
        ("unfold", (np.moveaxis(IMG, -1, 1), 2), {"stride": 2}),
        ("unfold", (np.moveaxis(IMG, -1, 1), (2, 3)), {"dilation": 1, "padding": 1}),
        ("unfold", (np.moveaxis(IMG, -1, 1), 2), {"dilation": 2}),
        ("fold", (_a((2, 12, 9)), (4, 4), 2), {}),
        ("fold", (_a((2, 8, 4)), (4, 4), 2), {"stride": 2}),
        ("fold", (_a((1, 4, 25)), (4, 4), 2), {"padding": 1, "stride": 1, "dilation": 1}),
        ("fold", (_a((1, 4, 4)), 4, 2), {"dilation": 2}),
    ]


# --- attention ----------------------------------------------------------------------------

def _attention_cases():
    q, k, v = _a((2, 4, 2, 8)), _a((2, 5, 2, 8)), _a((2, 5, 2, 8))
    mask = _a((2, 2, 4, 5), "bool")
    mask[..., 0] = True
    q3, k3 = _a((2, 4, 8)), _a((2, 5, 8))
    yield from [
        ("dot_product_attention", (q, k, v), {}),
        ("dot_product_attention", (q, k, v), {"flash_attention": None}),
        ("dot_product_attention", (q, k, v), {"flash_attention": False}),
        ("dot_product_attention", (q, k, v), {"mask": mask}),
        ("dot_product_attention", (q, k, v), {"mask": mask[:1, :1]}),
        ("dot_product_attention", (q, k, v), {"mask": mask[0, 0]}),
        ("dot_product_attention", (q, k, v), {"bias": _a((1, 2, 4, 5))}),
        ("dot_product_attention", (q, k, v), {"bias": _a((4, 5))}),
        ("dot_product_attention", (q, k, v), {"bias": _a((2, 2, 4, 5)), "mask": mask,
                                              "scale": 0.3}),
        ("dot_product_attention", (q, q, q), {"is_causal": True}),
        ("dot_product_attention", (q, k, v), {"is_causal": True}),
        ("dot_product_attention", (q, q, q), {"is_causal": True, "mask": mask[..., :4]}),
        ("dot_product_attention", (q, k[:, :, :1], v[:, :, :1]), {}),
        ("dot_product_attention", (q, k, v), {"attn_logits_soft_cap": 2.0}),
        ("dot_product_attention", (q, k, v), {"attn_logits_soft_cap": 2.0, "mask": mask,
                                              "bias": _a((1, 2, 4, 5))}),
        ("dot_product_attention", (q3, k3, k3), {}),
        ("dot_product_attention", (q.astype("float64"), k.astype("float64"),
                                   v.astype("float64")), {}),
        ("dot_product_attention", (q.astype("float16"), k.astype("float16"),
                                   v.astype("float16")), {"is_causal": True}),
    ]


# --- CTC ------------------------------------------------------------------------------

CTC_LOGITS = _a((3, 6, 5))
CTC_TARGET = np.array([[1, 2, 0], [3, 3, 0], [4, 1, 2]], "int32")
CTC_TARGET_LEN = np.array([2, 2, 3], "int32")
CTC_OUT_LEN = np.array([6, 5, 6], "int32")


def _ctc_cases():
    log_probs = np.log(_softmax(CTC_LOGITS)).astype("float32")
    yield from [
        ("ctc_loss", (CTC_TARGET, CTC_LOGITS, CTC_TARGET_LEN, CTC_OUT_LEN), {}),
        ("ctc_loss", (CTC_TARGET + 1 - 1, CTC_LOGITS, CTC_TARGET_LEN, CTC_OUT_LEN),
         {"mask_index": 4}),
        ("ctc_loss", (CTC_TARGET, CTC_LOGITS.astype("float64"), CTC_TARGET_LEN,
                      CTC_OUT_LEN), {}),
        ("ctc_decode", (CTC_LOGITS, CTC_OUT_LEN), {}),
        ("ctc_decode", (log_probs, CTC_OUT_LEN), {"merge_repeated": False}),
        ("ctc_decode", (CTC_LOGITS, CTC_OUT_LEN), {"mask_index": 2}),
        ("ctc_decode", (CTC_LOGITS, CTC_OUT_LEN), {"strategy": "beam_search"}),
        ("ctc_decode", (log_probs, CTC_OUT_LEN), {"strategy": "beam_search", "beam_width": 3,
                                                  "top_paths": 2}),
        ("ctc_decode", (log_probs, CTC_OUT_LEN), {"strategy": "beam_search", "beam_width": 8,
                                                  "top_paths": 3, "merge_repeated": False}),
        ("ctc_decode", (log_probs, CTC_OUT_LEN), {"strategy": "beam_search", "mask_index": 3,
                                                  "beam_width": 5, "top_paths": 2}),
        ("ctc_decode", (CTC_LOGITS, np.array([0, 1, 6], "int32")),
         {"strategy": "beam_search", "beam_width": 4, "top_paths": 4}),
        ("ctc_decode", (CTC_LOGITS.astype("float64"), CTC_OUT_LEN), {}),
        ("ctc_decode", (CTC_LOGITS.astype("float16"), CTC_OUT_LEN), {}),
        ("ctc_decode", (CTC_LOGITS.astype("float64"), CTC_OUT_LEN),
         {"strategy": "beam_search", "beam_width": 2}),
        ("ctc_loss", (CTC_TARGET, CTC_LOGITS.astype("float16"), CTC_TARGET_LEN, CTC_OUT_LEN),
         {}),
    ]


CASES = [*_activation_cases(), *_conv_cases(), *_pool_cases(), *_misc_cases(),
         *_attention_cases(), *_ctc_cases()]


def _f64(x):
    if isinstance(x, torch.Tensor):
        return x.double().numpy()
    return np.asarray(x, dtype="float64")


def _np_pool(kind, x, pool, strides=None, padding="valid", data_format="channels_last"):
    """TF-semantics pooling: 'same' pads after when odd and ignores pad cells."""
    x = _f64(x)
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    n = x.ndim - 2
    pool = (pool,) * n if isinstance(pool, int) else tuple(pool)
    strides = pool if strides is None else (strides,) * n if isinstance(strides, int) else strides
    if padding == "same":
        pads = [(0, 0)]
        for size, k, s in zip(x.shape[1:-1], pool, strides):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [*pads, (0, 0)], constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(x, pool, axis=tuple(range(1, n + 1)))
    windows = windows[(slice(None), *(slice(None, None, s) for s in strides))]
    axes = tuple(range(-n, 0))
    out = np.nanmax(windows, axis=axes) if kind == "max" else np.nanmean(windows, axis=axes)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _np_attention(q, k, v, bias=None, mask=None, scale=None, is_causal=False,
                  attn_logits_soft_cap=None, **_):
    q, k, v = _f64(q), _f64(k), _f64(v)
    squeeze = q.ndim == 3
    if squeeze:
        q, k, v = q[:, :, None], k[:, :, None], v[:, :, None]
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if attn_logits_soft_cap is not None:
        logits = np.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + _f64(bias)
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep = keep & np.asarray(mask)
    if is_causal:
        keep = keep & np.tril(np.ones(logits.shape[-2:], bool))
    weights = _softmax(np.where(keep, logits, -1e30))
    out = np.einsum("bhqk,bkhd->bqhd", weights, v)
    return out[:, :, 0] if squeeze else out


def _np_layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-7, rms=False):
    x = _f64(x)
    mean = 0 if rms else x.mean(axis, keepdims=True)
    var = np.mean(np.square(x - mean), axis, keepdims=True)
    out = (x - mean) / np.sqrt(var + epsilon)
    return out * (1 if gamma is None else _f64(gamma)) + (0 if beta is None else _f64(beta))


def _numpy_reference(name, args, kwargs):
    """An independent answer where Keras' torch backend returns a wrong result (each noted),
    else None."""
    x = args[0]
    if name in ("sparse_plus", "sparse_sigmoid") and getattr(x, "dtype", None) == np.uint8:
        return NUMPY_ACTIVATIONS[name](_f64(x))  # Keras-torch computes in uint8 and wraps -1
    if name == "sparsemax" and np.ndim(x) > 1 and np.size(x):
        return _sparsemax(_f64(x), **kwargs)  # Keras-torch: rows don't sum to 1
    if name == "average_pool" and kwargs.get("padding") == "same":
        return _np_pool("average", *args, **kwargs)  # Keras-torch: skewed asymmetric pads
    return None


def _independent(name, args, kwargs):
    """What lamina must give where Keras' torch backend raises: a numpy reference, a Keras
    call on converted input, or `RAISES` where lamina must refuse too."""
    x = args[0]
    if name in ("relu", "relu6", "hard_tanh") and np.asarray(x).dtype == bool:
        return RAISES
    if name in NUMPY_ACTIVATIONS and not kwargs:
        return NUMPY_ACTIVATIONS[name](_f64(x))  # integer input: lamina computes in floatx
    if name == "conv":  # mixed float32/float64: Keras' common type is float32
        return keras.ops.conv(*(np.asarray(a, "float32") for a in args[:2]), **kwargs)
    if name in ("unfold", "fold"):  # Keras-torch only takes torch tensors here
        return resolve(keras.ops, name)(torch.as_tensor(x), *args[1:], **kwargs)
    if name == "batch_normalization":  # Keras-torch only takes 1-D statistics
        mean, var, _ = _f64(args[1]), _f64(args[2]), args[3]
        return (_f64(x) - mean) / np.sqrt(var + kwargs.get("epsilon", 1e-3)) * _f64(
            kwargs.get("scale", 1.0)) + _f64(kwargs.get("offset", 0.0))
    if name == "moments":  # integer input / synchronized=True on one device
        axes = tuple(np.atleast_1d(args[1]))
        keep = kwargs.get("keepdims", False)
        return _f64(x).mean(axes, keepdims=keep), _f64(x).var(axes, keepdims=keep)
    if name in ("layer_normalization", "rms_normalization"):  # Keras-torch: last axis only
        gamma = args[1] if len(args) > 1 else None
        return _np_layer_norm(x, gamma, *args[2:], **kwargs, rms=name.startswith("rms"))
    if name == "one_hot":  # out-of-range indices give all-zero rows (as in JAX and TF)
        n = args[1]
        return np.eye(n + 1)[np.where((x >= 0) & (x < n), x, n)][..., :n]
    if name == "dot_product_attention":  # bias with mask, soft cap, or 3-D: torch refuses
        return _np_attention(*args, **kwargs)
    raise AssertionError(f"keras raised on {name}{kwargs}; no independent reference")


RAISES = object()


def _id(case):
    name, args, kwargs = case
    short = {k: f"{v.dtype}{list(v.shape)}" if isinstance(v, np.ndarray) else v
             for k, v in kwargs.items()}
    return case_id((name, args, short))


def _check_reference(ours, reference):
    ours, reference = (ours, reference) if isinstance(ours, tuple) else ((ours,), (reference,))
    for a, b in zip(ours, reference, strict=True):
        a = a.detach()
        tol = 1e-2 if a.dtype in (torch.float16, torch.bfloat16) else 1e-5
        assert a.dtype == (torch.float64 if b.dtype == torch.float64 else a.dtype)
        b = _f64(b) if isinstance(b, torch.Tensor) else np.asarray(b)
        assert tuple(a.shape) == b.shape
        np.testing.assert_allclose(a.double().numpy(), b, rtol=tol, atol=tol)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_nn_op_matches_keras(case):
    name, args, kwargs = case
    reference = _numpy_reference(name, args, kwargs)
    if reference is not None:
        _check_reference(resolve(ops, name)(*args, **kwargs), reference)
        return
    try:
        theirs = resolve(keras.ops, name)(*args, **kwargs)
    except Exception:  # Keras-torch rejects it: lamina must match an independent answer
        expected = _independent(name, args, kwargs)
        if expected is RAISES:
            with pytest.raises((TypeError, ValueError, RuntimeError), match="(?i)bool"):
                resolve(ops, name)(*args, **kwargs)
        else:
            _check_reference(resolve(ops, name)(*args, **kwargs), expected)
        return
    compare(resolve(ops, name)(*args, **kwargs), theirs)


def test_every_nn_op_has_a_case():
    assert set(ops.nn.__all__) - {name for name, _, _ in CASES} == set()
