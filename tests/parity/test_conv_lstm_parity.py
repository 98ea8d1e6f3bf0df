"""ConvLSTM1D/2D/3D vs Keras 3: configs, weight layouts, outputs, states, gradients."""

import json

import numpy as np
import pytest
import torch

from lamina.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

OURS = {"ConvLSTM1D": ConvLSTM1D, "ConvLSTM2D": ConvLSTM2D, "ConvLSTM3D": ConvLSTM3D}
RNG = np.random.default_rng(0)


def _normalize(config):
    return json.loads(json.dumps(config, default=list))


def _flat(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _pair(K, name, shape, kwargs, **call_kwargs):
    """Keras and lamina layers with Keras' weights copied over, and their outputs."""
    x = RNG.standard_normal(shape).astype("float32")
    k_layer, l_layer = getattr(K.layers, name)(**kwargs), OURS[name](**kwargs)
    k_out = k_layer(x, **call_kwargs)
    l_layer(x, **call_kwargs)
    l_layer.set_weights(k_layer.get_weights())
    return k_layer, l_layer, x, k_out, l_layer(x, **call_kwargs)


def _assert_same(K, k_out, l_out):
    k_flat, l_flat = _flat(k_out), _flat(l_out)
    assert len(k_flat) == len(l_flat)
    for k, ours in zip(k_flat, l_flat):
        k = K.ops.convert_to_numpy(k)
        assert k.shape == tuple(ours.shape)
        np.testing.assert_allclose(ours.detach().numpy(), k, atol=1e-5, rtol=1e-5)


CASES = {
    "2d_seq_state": ("ConvLSTM2D", (2, 3, 6, 5, 2),
                     dict(filters=3, kernel_size=3, return_sequences=True, return_state=True)),
    "2d_first_same_even": ("ConvLSTM2D", (2, 3, 2, 6, 5),
                           dict(filters=3, kernel_size=(2, 3), data_format="channels_first",
                                padding="same", return_state=True)),
    "2d_strided_backwards": ("ConvLSTM2D", (2, 4, 7, 7, 2),
                             dict(filters=2, kernel_size=2, strides=2, padding="same",
                                  go_backwards=True, return_sequences=True)),
    "1d_dilated_same": ("ConvLSTM1D", (2, 4, 9, 2),
                        dict(filters=3, kernel_size=3, dilation_rate=2, padding="same",
                             return_sequences=True)),
    "1d_first_activations": ("ConvLSTM1D", (2, 4, 2, 9),
                             dict(filters=3, kernel_size=4, strides=3,
                                  data_format="channels_first", activation="relu",
                                  recurrent_activation="hard_sigmoid")),
    "3d_no_bias_state": ("ConvLSTM3D", (1, 3, 4, 5, 4, 2),
                         dict(filters=2, kernel_size=2, use_bias=False, return_state=True)),
    "3d_first_backwards": ("ConvLSTM3D", (1, 2, 2, 4, 4, 3),
                           dict(filters=2, kernel_size=3, padding="same",
                                data_format="channels_first", go_backwards=True,
                                return_sequences=True, return_state=True)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_config_and_weights_match_keras(K, case):
    name, shape, kwargs = CASES[case]
    k_layer, l_layer, _, k_out, l_out = _pair(K, name, shape, kwargs)
    _assert_same(K, k_out, l_out)
    assert _normalize(l_layer.get_config()) == _normalize(k_layer.get_config())
    assert [w.path for w in l_layer.weights] == [w.path for w in k_layer.weights]
    assert [tuple(w.shape) for w in l_layer.weights] == [tuple(w.shape)
                                                         for w in k_layer.weights]
    assert l_layer.compute_output_shape(shape) == k_layer.compute_output_shape(shape)


def test_masked_outputs_match_keras(K):
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [0, 1, 1, 1, 1]], dtype=bool)
    _, _, _, k_out, l_out = _pair(
        K, "ConvLSTM1D", (3, 5, 6, 2),
        dict(filters=3, kernel_size=3, return_sequences=True, return_state=True), mask=mask)
    _assert_same(K, k_out, l_out)


def test_initial_state_matches_keras(K):
    h0 = RNG.standard_normal((2, 3, 4, 3)).astype("float32")
    c0 = RNG.standard_normal((2, 3, 4, 3)).astype("float32")
    _, _, _, k_out, l_out = _pair(
        K, "ConvLSTM2D", (2, 3, 5, 6, 2),
        dict(filters=3, kernel_size=3, return_state=True), initial_state=[h0, c0])
    _assert_same(K, k_out, l_out)


def test_stateful_matches_keras_across_batches(K):
    k_layer, l_layer, x, _, _ = _pair(
        K, "ConvLSTM1D", (2, 3, 6, 2), dict(filters=3, kernel_size=3, stateful=True))
    k_layer.reset_states()
    l_layer.reset_states()
    for _ in range(2):
        _assert_same(K, k_layer(x), l_layer(x))


def test_keras_config_rebuilds_the_same_layer(K):
    k_layer = K.layers.ConvLSTM3D(2, (1, 2, 3), strides=(1, 2, 1), padding="same",
                                  kernel_regularizer="l2", recurrent_dropout=0.25, seed=3,
                                  unit_forget_bias=False, return_sequences=True)
    config = _normalize(k_layer.get_config())
    assert _normalize(ConvLSTM3D.from_config(config).get_config()) == config


def test_gradients_match_keras(K):
    k_layer, l_layer, x, _, _ = _pair(
        K, "ConvLSTM2D", (2, 3, 5, 5, 2),
        dict(filters=2, kernel_size=3, padding="same", return_sequences=True))
    k_x, l_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    k_layer(k_x).square().sum().backward()
    l_layer(l_x).square().sum().backward()
    np.testing.assert_allclose(l_x.grad.numpy(), k_x.grad.numpy(), atol=1e-5)
    for k_w, l_w in zip(k_layer.trainable_weights, l_layer.trainable_weights):
        k_grad = k_w.value.grad if hasattr(k_w, "value") else k_w.grad
        np.testing.assert_allclose(l_w.grad.numpy(), k_grad.detach().numpy(), atol=1e-4)
