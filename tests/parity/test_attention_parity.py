"""Attention layers against Keras 3: same weights (set_weights), same outputs and scores."""

import numpy as np
import pytest
import torch

from lamina.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupedQueryAttention,
    MultiHeadAttention,
)

ATOL = 1e-5


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype("float32")


def _masked(x, mask):
    """A torch tensor carrying `mask` as its `_keras_mask` (fresh for each library)."""
    t = torch.tensor(x)
    t._keras_mask = torch.tensor(mask)
    return t


def _compare(ours, theirs):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _compare(a, b)
        return
    np.testing.assert_allclose(_np(ours), _np(theirs), atol=ATOL, rtol=1e-5)


def _copy_weights(ours, theirs):
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [
        w.path.split("/", 1)[1] for w in theirs.weights]
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])


Q, V = _rand(2, 4, 5), _rand(2, 6, 5)
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
V_MASK = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)


@pytest.mark.parametrize("cls_name, kwargs, call_kwargs", [
    ("Attention", {}, {}),
    ("Attention", {"use_scale": True}, {"use_causal_mask": True}),
    ("Attention", {"score_mode": "concat"}, {"return_attention_scores": True}),
    ("Attention", {"score_mode": "concat", "use_scale": True},
     {"return_attention_scores": True, "use_causal_mask": True}),
    ("AdditiveAttention", {}, {"return_attention_scores": True}),
    ("AdditiveAttention", {"use_scale": False}, {"use_causal_mask": True}),
])
@pytest.mark.parametrize("masked", [False, True])
def test_dense_attention_matches_keras(K, cls_name, kwargs, call_kwargs, masked):
    ours_cls = {"Attention": Attention, "AdditiveAttention": AdditiveAttention}[cls_name]
    inputs = [Q, V[..., :5], _rand(2, 6, 5, seed=3)]
    mask = [Q_MASK, V_MASK] if masked else None
    theirs = getattr(K.layers, cls_name)(**kwargs)
    ours = ours_cls(**kwargs)
    want = theirs([torch.tensor(x) for x in inputs], mask=mask, **call_kwargs)
    ours([torch.tensor(x) for x in inputs])
    _copy_weights(ours, theirs)
    if cls_name == "AdditiveAttention" and kwargs.get("use_scale", True):
        ours.set_weights([_rand(5, seed=9)])
        theirs.set_weights([_rand(5, seed=9)])
        want = theirs([torch.tensor(x) for x in inputs], mask=mask, **call_kwargs)
    got = ours([torch.tensor(x) for x in inputs],
               mask=None if mask is None else [torch.tensor(m) for m in mask], **call_kwargs)
    _compare(got, want)
    assert ours.get_config() == theirs.get_config()


def test_dense_attention_takes_masks_from_inputs_like_keras(K):
    theirs, ours = K.layers.Attention(), Attention()
    want = theirs([_masked(Q, Q_MASK), _masked(V, V_MASK)])
    got = ours([_masked(Q, Q_MASK), _masked(V, V_MASK)])
    _compare(got, want)
    np.testing.assert_array_equal(_np(got._keras_mask), _np(want._keras_mask))


MHA_CASES = [
    ({}, {}),
    ({}, {"return_attention_scores": True}),
    ({"value_dim": 4, "output_shape": (2, 3)}, {"use_causal_mask": True}),
    ({"use_bias": False}, {"use_causal_mask": True, "return_attention_scores": True}),
    ({}, {"attention_mask": np.tril(np.ones((4, 6), bool), 1)}),
    ({}, {"value_mask": V_MASK, "return_attention_scores": True}),
    ({}, {"value_mask": V_MASK, "use_causal_mask": True}),
    ({"sliding_window": 2}, {"use_causal_mask": True}),
    ({"sliding_window": 2}, {"return_attention_scores": True}),
    ({"use_gate": True, "value_dim": 4}, {}),
    ({"flash_attention": False}, {"value_mask": V_MASK}),
    ({"dropout": 0.2}, {"value_mask": V_MASK}),
]


@pytest.mark.parametrize("kwargs, call_kwargs", MHA_CASES)
def test_multi_head_attention_matches_keras(K, kwargs, call_kwargs):
    theirs = K.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    ours = MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    want = theirs(torch.tensor(Q), torch.tensor(V), **call_kwargs)
    ours(torch.tensor(Q), torch.tensor(V))
    _copy_weights(ours, theirs)
    got = ours(torch.tensor(Q), torch.tensor(V), **call_kwargs)
    _compare(got, want)
    assert ours.get_config() == theirs.get_config()
    assert ours.get_build_config() == theirs.get_build_config()


@pytest.mark.parametrize("return_scores", [False, True])
def test_multi_head_attention_query_mask_on_tensor_matches_keras(K, return_scores):
    # Query row 3 (batch 0) is fully masked: Keras' fused path averages all values there,
    # its einsum path outputs zeros; both are reproduced.
    theirs = K.layers.MultiHeadAttention(num_heads=2, key_dim=3, bias_initializer="ones")
    ours = MultiHeadAttention(num_heads=2, key_dim=3)
    theirs(torch.tensor(Q), torch.tensor(V))
    ours(torch.tensor(Q), torch.tensor(V))
    _copy_weights(ours, theirs)
    want = theirs(_masked(Q, Q_MASK), _masked(V, V_MASK),
                  return_attention_scores=return_scores)
    got = ours(_masked(Q, Q_MASK), _masked(V, V_MASK), return_attention_scores=return_scores)
    _compare(got, want)
    out = got[0] if return_scores else got
    np.testing.assert_array_equal(_np(out._keras_mask), Q_MASK)


def test_multi_head_attention_key_and_explicit_key_mask_match_keras(K):
    key = _rand(2, 6, 7, seed=5)
    key_mask = np.array([[1, 1, 0, 1, 1, 1], [1, 0, 1, 1, 1, 1]], bool)
    theirs = K.layers.MultiHeadAttention(num_heads=3, key_dim=2)
    ours = MultiHeadAttention(num_heads=3, key_dim=2)
    args = (torch.tensor(Q), torch.tensor(V), torch.tensor(key))
    theirs(*args)
    ours(*args)
    _copy_weights(ours, theirs)
    want = theirs(*args, key_mask=key_mask, return_attention_scores=True)
    got = ours(*args, key_mask=key_mask, return_attention_scores=True)
    _compare(got, want)


@pytest.mark.parametrize("axes, call_kwargs", [
    (None, {"return_attention_scores": True}),
    ((2,), {}),
    ([-2], {"return_attention_scores": True}),
    ((1, 2), {"attention_mask": np.ones((2, 3, 4, 3, 4), bool)}),
])
def test_multi_head_attention_axes_match_keras(K, axes, call_kwargs):
    q = _rand(2, 3, 4, 5, seed=1)
    theirs = K.layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    ours = MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    theirs(torch.tensor(q), torch.tensor(q))
    ours(torch.tensor(q), torch.tensor(q))
    _copy_weights(ours, theirs)
    want = theirs(torch.tensor(q), torch.tensor(q), **call_kwargs)
    got = ours(torch.tensor(q), torch.tensor(q), **call_kwargs)
    _compare(got, want)
    assert ours.get_config() == theirs.get_config()


def test_multi_head_attention_gradients_match_keras(K):
    theirs = K.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    ours = MultiHeadAttention(num_heads=2, key_dim=3)
    theirs(torch.tensor(Q), torch.tensor(V))
    ours(torch.tensor(Q), torch.tensor(V))
    _copy_weights(ours, theirs)
    grads = []
    for layer in (ours, theirs):
        q = torch.tensor(Q, requires_grad=True)
        out = layer(q, torch.tensor(V), attention_mask=np.tril(np.ones((4, 6), bool)))
        (out ** 2).sum().backward()
        grads.append([q.grad] + [w.value.grad if hasattr(w, "value") and not isinstance(
            w, torch.Tensor) else w.grad for w in layer.weights])
    for a, b in zip(*grads):
        np.testing.assert_allclose(_np(a), _np(b), atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("kwargs, call_kwargs", [
    ({}, {}),
    ({}, {"return_attention_scores": True, "use_causal_mask": True}),
    ({"num_key_value_heads": 1, "use_bias": False}, {"value_mask": V_MASK}),
    ({"use_gate": True, "sliding_window": 3}, {"return_attention_scores": True}),
])
def test_grouped_query_attention_matches_keras(K, kwargs, call_kwargs):
    kwargs = {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, **kwargs}
    theirs = K.layers.GroupQueryAttention(**kwargs)
    ours = GroupedQueryAttention(**kwargs)
    theirs(torch.tensor(Q), torch.tensor(V))
    ours(torch.tensor(Q), torch.tensor(V))
    _copy_weights(ours, theirs)
    want = theirs(torch.tensor(Q), torch.tensor(V), **call_kwargs)
    got = ours(torch.tensor(Q), torch.tensor(V), **call_kwargs)
    _compare(got, want)
    assert ours.get_config() == theirs.get_config()
    assert ours.get_build_config() == theirs.get_build_config()


def test_grouped_query_attention_query_mask_matches_keras(K):
    theirs = K.layers.GroupQueryAttention(3, 4, 2)
    ours = GroupedQueryAttention(3, 4, 2)
    theirs(torch.tensor(Q), torch.tensor(V))
    ours(torch.tensor(Q), torch.tensor(V))
    _copy_weights(ours, theirs)
    for scores in (False, True):
        want = theirs(_masked(Q, Q_MASK), _masked(V, V_MASK), return_attention_scores=scores)
        got = ours(_masked(Q, Q_MASK), _masked(V, V_MASK), return_attention_scores=scores)
        _compare(got, want)
