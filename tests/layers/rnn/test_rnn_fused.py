"""The fused-kernel path: same numbers and gradients as the per-step loop, when it is
taken, and its cached weight re-layout."""

from unittest import mock

import numpy as np
import pytest
import torch

from lamina.layers.rnn import GRU, LSTM, RNN, SimpleRNN, fused

X = torch.as_tensor(np.random.default_rng(2).standard_normal((3, 6, 4)).astype("float32"))
RIGHT = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] + [0] * 5], dtype=torch.bool)
LEFT = RIGHT.flip(1)


def _twins(cls, **kwargs):
    """The same layer on the fused path and on the loop (`use_cudnn=False`)."""
    kwargs.setdefault("return_sequences", True)
    kwargs.setdefault("return_state", True)
    if cls is SimpleRNN:
        fast, slow = cls(5, **kwargs), cls(5, **kwargs)
        slow.__dict__["_fused_eligible"] = False
    else:
        fast, slow = cls(5, **kwargs), cls(5, use_cudnn=False, **kwargs)
    fast(X)
    slow(X)
    slow.set_weights(fast.get_weights())
    return fast, slow


def _outputs_and_grads(layer, **call_kwargs):
    x = X.clone().requires_grad_(True)
    outputs = layer(x, **call_kwargs)
    sum((o * torch.linspace(0.1, 1.0, o.numel()).view(o.shape)).sum() for o in outputs).backward()
    grads = [w.grad.clone() for w in layer.trainable_weights] + [x.grad]
    for w in layer.trainable_weights:
        w.grad = None
    return [o.detach() for o in outputs], grads


@pytest.mark.parametrize("cls,kwargs,mask", [
    (LSTM, {}, None),
    (LSTM, {"go_backwards": True}, None),
    (LSTM, {"use_bias": False}, RIGHT),
    (GRU, {}, RIGHT),
    (GRU, {"go_backwards": True}, None),
    (SimpleRNN, {"activation": "relu"}, RIGHT),
])
def test_fused_path_equals_loop_in_values_and_gradients(cls, kwargs, mask):
    fast, slow = _twins(cls, **kwargs)
    with mock.patch.object(RNN, "_loop", autospec=True, side_effect=RNN._loop) as loop:
        fast_out, fast_grads = _outputs_and_grads(fast, mask=mask)
        assert loop.call_count == 0, "the fused configuration fell back to the loop"
        slow_out, slow_grads = _outputs_and_grads(slow, mask=mask)
        assert loop.call_count == 1
    for a, b in zip(fast_out + fast_grads, slow_out + slow_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_right_padded_mask_uses_packed_kernel_other_masks_loop():
    layer = LSTM(5, return_sequences=True)
    layer(X)
    with mock.patch.object(fused, "_run_packed", wraps=fused._run_packed) as packed, \
            mock.patch.object(RNN, "_loop", autospec=True, side_effect=RNN._loop) as loop:
        layer(X, mask=RIGHT)
        assert (packed.call_count, loop.call_count) == (1, 0)
        layer(X, mask=torch.ones_like(RIGHT))  # nothing masked: the plain fused call
        assert (packed.call_count, loop.call_count) == (1, 0)
        layer(X, mask=LEFT)
        assert loop.call_count == 1
        LSTM(5, go_backwards=True)(X, mask=RIGHT)
        assert loop.call_count == 2


@pytest.mark.parametrize("kwargs", [
    {"recurrent_dropout": 0.5}, {"unroll": True}, {"recurrent_activation": "hard_sigmoid"},
    {"use_cudnn": False},
])
def test_unfusable_configurations_use_the_loop(kwargs):
    layer = LSTM(3, **kwargs)
    with mock.patch.object(RNN, "_loop", autospec=True, side_effect=RNN._loop) as loop:
        layer(X)
    assert loop.call_count == 1
    assert GRU(3, reset_after=False)(X) is not None


def test_gru_relayout_swaps_update_and_reset_blocks():
    layer = GRU(2)
    layer(X)
    layer.set_weights([np.arange(np.prod(w.shape), dtype="float32").reshape(w.shape)
                       for w in layer.weights])
    w_ih, w_hh, b_ih, b_hh = fused._relayout(layer.cell, "gru", torch.float32)
    kernel = layer.cell.kernel.detach()
    torch.testing.assert_close(w_ih[:2], kernel[:, 2:4].T)  # torch r <- Keras r
    torch.testing.assert_close(w_ih[2:4], kernel[:, 0:2].T)  # torch z <- Keras z
    torch.testing.assert_close(b_hh[4:], layer.cell.bias.detach()[1, 4:])


def test_inference_cache_reused_and_invalidated_by_weight_writes():
    fast, slow = _twins(LSTM)
    with torch.no_grad():
        fast(X)
        cached = fast.cell.__dict__["_torch_weights"]
        fast(X)
        assert fast.cell.__dict__["_torch_weights"] is cached
        new_kernel = torch.randn_like(fast.cell.kernel)
        fast.cell.kernel.assign(new_kernel)
        slow.cell.kernel.assign(new_kernel)
        for a, b in zip(fast(X), slow(X)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
        assert fast.cell.__dict__["_torch_weights"] is not cached


def test_fused_input_dropout_matches_loop_dropout_with_same_seed():
    fast, slow = _twins(GRU, dropout=0.4, seed=7, return_state=False)
    out_fast = fast(X, training=True)
    out_slow = slow(X, training=True)
    torch.testing.assert_close(out_fast, out_slow, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(out_fast, fast(X))
