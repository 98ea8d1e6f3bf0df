"""Attention layers: behaviour against numpy references, masks, configs, bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupedQueryAttention,
    GroupQueryAttention,
    MultiHeadAttention,
)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _rand(*shape):
    return torch.tensor(np.random.default_rng(sum(shape)).standard_normal(shape),
                        dtype=torch.float32)


def test_attention_dot_matches_numpy_with_value_mask_and_query_mask():
    q, v = _rand(2, 3, 4), _rand(2, 5, 4)
    v_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    q_mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    out, scores = Attention()([q, v], mask=[q_mask, v_mask], return_attention_scores=True)
    logits = np.einsum("btd,bsd->bts", q.numpy(), v.numpy())
    logits = np.where(v_mask.numpy()[:, None, :], logits, -1e9)
    want_scores = _softmax(logits)
    want = np.einsum("bts,bsd->btd", want_scores, v.numpy()) * q_mask.numpy()[..., None]
    np.testing.assert_allclose(scores.detach().numpy(), want_scores, atol=1e-6)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-5)
    assert out._keras_mask is not None and out._keras_mask.tolist() == q_mask.tolist()


def test_attention_causal_mask_hides_future_steps():
    q = _rand(1, 4, 3)
    _, scores = Attention(score_mode="concat")([q, q], return_attention_scores=True,
                                               use_causal_mask=True)
    upper = np.triu(np.ones((4, 4), bool), 1)
    assert np.all(scores.detach().numpy()[0][upper] == 0)
    np.testing.assert_allclose(scores.detach().numpy().sum(-1), 1, atol=1e-6)


def test_additive_attention_matches_numpy():
    q, v, k = _rand(1, 2, 3), _rand(1, 4, 2), _rand(1, 4, 3)
    layer = AdditiveAttention()
    layer([q, v, k])
    scale = layer.scale.detach().numpy()
    logits = (scale * np.tanh(q.numpy()[:, :, None] + k.numpy()[:, None])).sum(-1)
    want = _softmax(logits) @ v.numpy()
    np.testing.assert_allclose(layer([q, v, k]).detach().numpy(), want, atol=1e-5)
    assert layer.compute_output_shape([(1, 2, 3), (1, 4, 2), (1, 4, 3)]) == (1, 2, 2)


def test_attention_in_functional_model_and_config_round_trip():
    q, v = lamina.Input((3, 4)), lamina.Input((5, 4))
    layer = Attention(use_scale=True, dropout=0.1, seed=2)
    out = layer([q, v])
    assert out.shape == (None, 3, 4)
    clone = Attention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    add = AdditiveAttention(use_scale=False)
    assert "score_mode" not in add.get_config()
    assert AdditiveAttention.from_config(add.get_config()).get_config() == add.get_config()


def test_attention_dropout_only_in_training():
    layer = Attention(dropout=0.5, seed=1)
    q = _rand(2, 3, 4)
    np.testing.assert_allclose(layer([q, q]).numpy(), layer([q, q]).numpy())
    _, scores = layer([q, q], training=True, return_attention_scores=True)
    assert (scores == 0).any()


@pytest.mark.parametrize("inputs, mask, match", [
    (torch.ones(2, 3, 4), None, "must be called on a list of inputs"),
    ([torch.ones(2, 3, 4)], None, "list of length 2 or 3"),
    ([torch.ones(3, 4), torch.ones(3, 4)], None, "rank 3"),
    ([torch.ones(2, 3, 4)] * 2, [None], "mask list of length 2 or 3"),
])
def test_attention_rejects_bad_inputs(inputs, mask, match):
    with pytest.raises(ValueError, match=match):
        Attention()(inputs, mask=mask)


def test_attention_rejects_bad_score_mode():
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="cosine")


def _mha_reference(layer, q, v, mask=None):
    w = [x.detach().numpy() for x in layer.weights]
    qp = np.einsum("btf,fhd->bthd", q, w[0]) + w[1]
    kp = np.einsum("bsf,fhd->bshd", v, w[2]) + w[3]
    vp = np.einsum("bsf,fhd->bshd", v, w[4]) + w[5]
    logits = np.einsum("bthd,bshd->bhts", qp, kp) / np.sqrt(qp.shape[-1])
    if mask is not None:
        logits = np.where(mask[:, None], logits, -1e9)
    probs = _softmax(logits)
    out = np.einsum("bhts,bshd->bthd", probs, vp)
    return np.einsum("bthd,hdo->bto", out, w[6]) + w[7], probs


@pytest.mark.parametrize("return_scores", [False, True])
def test_multi_head_attention_matches_numpy(return_scores):
    q, v = _rand(2, 3, 4), _rand(2, 5, 6)
    mask = np.random.default_rng(1).random((2, 3, 5)) > 0.3
    mask[..., 0] = True
    layer = MultiHeadAttention(num_heads=2, key_dim=3, bias_initializer="ones")
    got = layer(q, v, attention_mask=torch.tensor(mask),
                return_attention_scores=return_scores)
    want, probs = _mha_reference(layer, q.numpy(), v.numpy(), mask)
    out = got[0] if return_scores else got
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-5)
    if return_scores:
        np.testing.assert_allclose(got[1].detach().numpy(), probs, atol=1e-6)


def test_multi_head_attention_accepts_keyword_inputs_and_causal_mask():
    x = _rand(2, 4, 6)
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    fused = layer(query=x, value=x, use_causal_mask=True)
    explicit, _ = layer(query=x, value=x, use_causal_mask=True, return_attention_scores=True)
    want, _ = _mha_reference(layer, x.numpy(), x.numpy(), np.tril(np.ones((1, 4, 4), bool)))
    np.testing.assert_allclose(fused.detach().numpy(), want, atol=1e-5)
    np.testing.assert_allclose(explicit.detach().numpy(), want, atol=1e-5)


def test_multi_head_attention_dropout_in_training_only():
    x = _rand(2, 4, 6)
    layer = MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    a, b = layer(x, x), layer(x, x)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    assert not torch.allclose(layer(x, x, training=True), a)


def test_multi_head_attention_functional_model_with_masked_embedding():
    tokens = lamina.Input((5,), dtype="int32")
    from lamina.layers.core.embedding import Embedding

    x = Embedding(10, 8, mask_zero=True)(tokens)
    out = MultiHeadAttention(num_heads=2, key_dim=4, output_shape=(2, 3))(x, x)
    assert out.shape == (None, 5, 2, 3)
    model = lamina.Model(tokens, out)
    y = model(torch.tensor([[1, 2, 0, 0, 0]]))
    assert tuple(y.shape) == (1, 5, 2, 3) and y._keras_mask.tolist() == [
        [True, True, False, False, False]]


def test_multi_head_attention_config_and_build_config_round_trip():
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, use_gate=True,
                               kernel_regularizer="l2")
    x = _rand(2, 4, 6)
    layer(x, x)
    clone = MultiHeadAttention.from_config(layer.get_config())
    clone.build_from_config(layer.get_build_config())
    assert clone.get_config() == layer.get_config()
    assert [w.path.split("/", 1)[1] for w in clone.weights] == [
        w.path.split("/", 1)[1] for w in layer.weights]
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, x).detach().numpy(), layer(x, x).detach().numpy(),
                               atol=1e-6)
    assert len(layer.losses) == 5  # one L2 penalty per kernel (gate included)


def test_multi_head_attention_requires_key_dim():
    with pytest.raises(TypeError, match="key_dim"):
        MultiHeadAttention(num_heads=2)


def test_multi_head_attention_rejects_mask_of_wrong_shape():
    x = _rand(2, 4, 6)
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    for scores in (False, True):
        with pytest.raises(ValueError, match=r"\(2, 2, 4, 4\).*\(2, 1, 4, 5\)"):
            layer(x, x, attention_mask=torch.ones(2, 4, 5, dtype=torch.bool),
                  return_attention_scores=scores)


def test_multi_head_attention_rejects_wrong_ranks():
    with pytest.raises(ValueError, match="multi_head_attention.*rank >= 3"):
        MultiHeadAttention(num_heads=2, key_dim=3)(torch.ones(4, 6), torch.ones(4, 6))
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    layer(_rand(2, 4, 6), _rand(2, 4, 6))
    with pytest.raises(ValueError, match="multi_head_attention.*rank 3"):
        layer(torch.ones(2, 3, 4, 6), torch.ones(2, 3, 4, 6))


def test_flash_attention_refuses_scores():
    x = _rand(2, 4, 6)
    with pytest.raises(ValueError, match="flash attention"):
        MultiHeadAttention(2, 3, flash_attention=True)(x, x, return_attention_scores=True)


def test_grouped_query_attention_equals_mha_with_shared_heads():
    q, v = _rand(2, 3, 4), _rand(2, 5, 6)
    gqa = GroupedQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)
    gqa(q, v)
    mha = MultiHeadAttention(num_heads=4, key_dim=3)
    mha(q, v)
    w = gqa.get_weights()
    repeat = [np.repeat(w[2], 2, axis=1), np.repeat(w[3], 2, axis=0),
              np.repeat(w[4], 2, axis=1), np.repeat(w[5], 2, axis=0)]
    mha.set_weights([w[0], w[1], *repeat, w[6], w[7]])
    out, scores = gqa(q, v, return_attention_scores=True)
    np.testing.assert_allclose(out.detach().numpy(), mha(q, v).detach().numpy(), atol=1e-5)
    assert tuple(scores.shape) == (2, 4, 3, 5)
    assert GroupQueryAttention is GroupedQueryAttention
    clone = GroupedQueryAttention.from_config(gqa.get_config())
    assert clone.get_config() == gqa.get_config()


def test_grouped_query_attention_rejects_bad_heads_and_rank():
    with pytest.raises(ValueError, match="divisible"):
        GroupedQueryAttention(3, 4, 3)
    with pytest.raises(ValueError, match="grouped_query_attention.*rank 3"):
        GroupedQueryAttention(3, 4, 2)(torch.ones(4, 5), torch.ones(4, 5))


@pytest.mark.parametrize("make", [
    lambda: MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True),
    lambda: GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2),
], ids=["mha", "gqa"])
def test_attention_projections_run_through_module_call_so_hooks_fire(make):
    layer = make()
    x = torch.ones(2, 3, 8)
    layer(x, x)
    seen = []
    handles = [sub.register_forward_hook(lambda module, args, out: seen.append(module.name))
               for sub in layer.children()]
    layer(x, x)
    for handle in handles:
        handle.remove()
    expected = {"query", "key", "value", "attention_output"}
    if getattr(layer, "_use_gate", False):
        expected.add("gate")
    assert sorted(seen) == sorted(expected)


def test_multi_head_attention_query_projection_hook_fires():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.ones(2, 3, 8)
    calls = []
    layer(x, x)
    layer.query_dense.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    layer(x, x)
    assert calls == [torch.Size([2, 3, 2, 4])]


def test_masked_inputs_keep_their_masks_and_do_not_warn():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.ones(2, 3, 8)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    x._keras_mask = mask
    out = layer(x, x)  # warnings are errors: the projections must not see the mask
    assert x._keras_mask is mask
    assert torch.equal(out._keras_mask, mask)
