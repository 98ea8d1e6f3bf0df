"""lamina.ops.nn against closed forms."""

import math

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.backend import KerasTensor

X = np.linspace(-3, 3, 13).astype("float32")


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(ops.convert_to_numpy(a), b, rtol=tol, atol=tol)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize(
    "name, ref",
    [
        ("relu", lambda x: np.maximum(x, 0)),
        ("relu6", lambda x: np.clip(x, 0, 6)),
        ("sigmoid", sigmoid),
        ("softplus", lambda x: np.log1p(np.exp(x))),
        ("softsign", lambda x: x / (1 + np.abs(x))),
        ("silu", lambda x: x * sigmoid(x)),
        ("hard_sigmoid", lambda x: np.clip(x + 3, 0, 6) / 6),
        ("hard_silu", lambda x: x * np.clip(x + 3, 0, 6) / 6),
        ("log_sigmoid", lambda x: np.log(sigmoid(x))),
        ("leaky_relu", lambda x: np.where(x >= 0, x, 0.2 * x)),
        ("elu", lambda x: np.where(x > 0, x, np.expm1(x))),
        ("tanh_shrink", lambda x: x - np.tanh(x)),
        ("sparse_sigmoid", lambda x: np.clip((x + 1) / 2, 0, 1)),
        ("squareplus", lambda x: (x + np.sqrt(x * x + 4)) / 2),
        ("gelu", lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    ],
)
def test_activation_matches_formula(name, ref):
    close(getattr(ops, name)(X), ref(X), 1e-5)
    close(getattr(ops.nn, name)(X), ref(X), 1e-5)


def test_exact_gelu_uses_erf():
    ref = 0.5 * X * (1 + np.array([math.erf(v / math.sqrt(2)) for v in X]))
    close(ops.gelu(X, approximate=False), ref)


def test_softmax_and_log_softmax_sum_to_one_over_axis():
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    ref = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    close(ops.softmax(x, axis=1), ref)
    close(ops.log_softmax(x, axis=1), np.log(ref))
    both = ops.softmax(x, axis=(1, 2))
    close(ops.sum(both, axis=(1, 2)), np.ones(2))


def test_threshold_keeps_integers_where_the_dtype_holds_both_numbers():
    x = torch.tensor([-2, 0, 1, 5], dtype=torch.int32)
    out = ops.threshold(x, 0.5, -7)
    assert out.dtype == torch.int32 and out.tolist() == [-7, -7, 1, 5]
    assert ops.threshold(x.long(), 1, 0).tolist() == [0, 0, 0, 5]
    # uint8 cannot hold -2 (Keras raises) and bool has no kernel: computed in floatx.
    u = torch.tensor([0, 3], dtype=torch.uint8)
    assert ops.threshold(u, 0.5, -2.0).tolist() == [-2.0, 3.0]
    assert ops.threshold(torch.tensor([True, False]), 0.5, -1.0).dtype == torch.float32


def test_sparsemax_projects_onto_simplex():
    close(ops.sparsemax(np.array([[0.1, 0.5, 0.3], [1.0, 3.0, 0.0]])),
          [[0.4 / 3, 1.6 / 3, 1 / 3], [0.0, 1.0, 0.0]])


def test_one_hot_and_multi_hot():
    close(ops.one_hot(np.array([0, 2, -1]), 3), np.eye(3)[[0, 2]].tolist() + [[0, 0, 0]])
    assert ops.one_hot(np.array([1]), 2).dtype == torch.float32
    close(ops.one_hot(np.array([0, 1]), 2, axis=0, dtype="int32"), np.eye(2))
    close(ops.multi_hot(np.array([[0, 2], [1, 1]]), 4), [[1, 0, 1, 0], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot(np.array([0]), 2, sparse=True)


def test_moments_and_normalize():
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    mean, var = ops.moments(x, axes=[0])
    close(mean, x.mean(0))
    close(var, x.var(0))
    close(ops.normalize(x), x / np.linalg.norm(x, axis=-1, keepdims=True))
    close(ops.normalize(x, order=1, axis=0), x / np.abs(x).sum(0, keepdims=True))


def test_crossentropies_match_formulas():
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], "float32")
    t = np.array([[0, 1, 0], [1, 0, 0]], "float32")
    close(ops.categorical_crossentropy(t, p), -np.sum(t * np.log(p), -1))
    close(ops.sparse_categorical_crossentropy(np.array([1, 0]), p), -np.log([0.7, 0.5]))
    logits = np.log(p)
    close(ops.categorical_crossentropy(t, logits, from_logits=True), -np.sum(t * np.log(p), -1))
    close(ops.binary_crossentropy(t, p), -(t * np.log(p) + (1 - t) * np.log(1 - p)), 1e-4)
    close(ops.binary_crossentropy(t, logits, from_logits=True),
          -(t * np.log(sigmoid(logits)) + (1 - t) * np.log(1 - sigmoid(logits))), 1e-4)
    with pytest.raises(ValueError, match=r"target.shape=\(2, 3\), output.shape=\(2, 2\)"):
        ops.categorical_crossentropy(t, p[:, :2])


def _attention_reference(q, k, v, mask=None, causal=False):
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    if causal:
        logits = np.where(np.tril(np.ones(logits.shape[-2:], bool)), logits, -1e30)
    if mask is not None:
        logits = np.where(mask, logits, -1e30)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", w, v)


def test_dot_product_attention_matches_reference():
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(2, 4, 3, 8)).astype("float32") for _ in range(3))
    close(ops.dot_product_attention(q, k, v), _attention_reference(q, k, v), 1e-4)
    close(ops.dot_product_attention(q, k, v, is_causal=True),
          _attention_reference(q, k, v, causal=True), 1e-4)
    mask = rng.random((2, 3, 4, 4)) > 0.3
    mask[..., 0] = True
    close(ops.dot_product_attention(q, k, v, mask=mask),
          _attention_reference(q, k, v, mask=mask), 1e-4)


def test_nn_ops_on_keras_tensors():
    y = ops.softmax(KerasTensor((None, 5)))
    assert y.shape == (None, 5) and y._keras_history.operation.class_name == "Softmax"
    h = ops.one_hot(KerasTensor((None,), dtype="int32"), 4)
    assert h.shape == (None, 4) and h.dtype == "float32"
