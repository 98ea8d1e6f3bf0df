"""ConvLSTM1D/2D/3D: shapes, a numpy reference, time handling, dropout, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, ConvLSTMCell
from lamina.serialization.registry import CustomObjectScope
from lamina.testing import run_layer_test

RNG = np.random.default_rng(0)
SCOPE = {"ConvLSTM1D": ConvLSTM1D, "ConvLSTM2D": ConvLSTM2D, "ConvLSTM3D": ConvLSTM3D}


def _np(t):
    return t.detach().cpu().numpy()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _conv1d(x, w, stride, pads, dilation=1):
    """Naive channels_last 1D convolution: x (B, L, C), w (k, C, O)."""
    x = np.pad(x, ((0, 0), pads, (0, 0)))
    k = w.shape[0]
    length = (x.shape[1] - (k - 1) * dilation - 1) // stride + 1
    return np.stack([sum(x[:, i * stride + j * dilation] @ w[j] for j in range(k))
                     for i in range(length)], 1)


def _reference_conv_lstm1d(x, kernel, recurrent, bias, stride, pads, dilation):
    """Keras' ConvLSTM1D semantics written out with numpy loops (channels_last)."""
    filters = recurrent.shape[1]
    k = recurrent.shape[0]
    h = c = None
    outputs = []
    for t in range(x.shape[1]):
        zx = _conv1d(x[:, t], kernel, stride, pads, dilation) + bias
        if h is None:
            h = c = np.zeros(zx.shape[:-1] + (filters,), "float32")
        z = zx + _conv1d(h, recurrent, 1, ((k - 1) // 2, k - 1 - (k - 1) // 2))
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1), h, c


@pytest.mark.parametrize("kwargs, pads", [
    ({"kernel_size": 3}, (0, 0)),
    ({"kernel_size": 4, "padding": "same"}, (1, 2)),
    ({"kernel_size": 2, "padding": "same", "strides": 2}, (0, 1)),
    ({"kernel_size": 2, "dilation_rate": 2}, (0, 0)),
])
def test_conv_lstm1d_matches_numpy_reference(kwargs, pads):
    x = RNG.standard_normal((2, 4, 7, 3)).astype("float32")
    layer = ConvLSTM1D(4, return_sequences=True, return_state=True,
                       bias_initializer="random_normal", **kwargs)
    out, h, c = layer(torch.from_numpy(x))
    ref_out, ref_h, ref_c = _reference_conv_lstm1d(
        x, *(_np(w) for w in layer.weights), kwargs.get("strides", 1), pads,
        kwargs.get("dilation_rate", 1))
    np.testing.assert_allclose(_np(out), ref_out, atol=1e-5)
    np.testing.assert_allclose(_np(h), ref_h, atol=1e-5)
    np.testing.assert_allclose(_np(c), ref_c, atol=1e-5)


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", [
    (ConvLSTM1D, {"filters": 3, "kernel_size": 2, "data_format": "channels_first"},
     (2, 3, 2, 6), (2, 3, 5)),
    (ConvLSTM2D, {"filters": 2, "kernel_size": 3, "return_sequences": True},
     (2, 3, 5, 5, 2), (2, 3, 3, 3, 2)),
    (ConvLSTM3D, {"filters": 2, "kernel_size": 2, "padding": "same", "strides": 2},
     (1, 2, 3, 4, 4, 1), (1, 2, 2, 2, 2)),
])
def test_conv_lstm_layer_contract(cls, kwargs, input_shape, output_shape):
    with CustomObjectScope(SCOPE):
        run_layer_test(cls, kwargs, input_shape=input_shape,
                       expected_output_shape=output_shape, expected_num_trainable_weights=3,
                       expected_num_non_trainable_weights=0)


def test_weights_have_keras_shapes_paths_and_forget_bias():
    layer = ConvLSTM2D(3, (2, 3))
    layer(torch.zeros(1, 2, 5, 5, 4))
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/conv_lstm_cell/kernel", f"{layer.name}/conv_lstm_cell/recurrent_kernel",
        f"{layer.name}/conv_lstm_cell/bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(2, 3, 4, 12), (2, 3, 3, 12), (12,)]
    np.testing.assert_array_equal(_np(layer.cell.bias), [0] * 3 + [1] * 3 + [0] * 6)
    no_forget = ConvLSTM1D(2, 1, unit_forget_bias=False, use_bias=True)
    no_forget(torch.zeros(1, 2, 3, 1))
    np.testing.assert_array_equal(_np(no_forget.cell.bias), np.zeros(8))
    no_bias = ConvLSTM1D(2, 1, use_bias=False)
    no_bias(torch.zeros(1, 2, 3, 1))
    assert len(no_bias.weights) == 2


def test_channels_first_equals_channels_last_with_same_weights():
    x = torch.randn(2, 3, 5, 6, 2)
    last = ConvLSTM2D(3, 3, padding="same", return_sequences=True)
    first = ConvLSTM2D(3, 3, padding="same", return_sequences=True,
                       data_format="channels_first")
    out_last = last(x)
    first(x.permute(0, 1, 4, 2, 3))
    first.set_weights(last.get_weights())
    out_first = first(x.permute(0, 1, 4, 2, 3))
    torch.testing.assert_close(out_first, out_last.permute(0, 1, 4, 2, 3))


def test_go_backwards_equals_reversed_input():
    x = torch.randn(2, 4, 5, 2)
    layer = ConvLSTM1D(3, 3, return_state=True)
    backwards = ConvLSTM1D(3, 3, return_state=True, go_backwards=True)
    layer(x)
    backwards(x)
    backwards.set_weights(layer.get_weights())
    for a, b in zip(backwards(x), layer(x.flip(1))):
        torch.testing.assert_close(a, b)


def test_masked_trailing_steps_equal_truncated_sequence():
    x = torch.randn(2, 5, 6, 2)
    layer = ConvLSTM1D(3, 3, return_state=True)
    mask = torch.tensor([[True] * 3 + [False] * 2] * 2)
    out, h, c = layer(x, mask=mask)
    ref_out, ref_h, ref_c = layer(x[:, :3])
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(c, ref_c)


def test_initial_state_and_stateful_continue_the_sequence():
    x = torch.randn(2, 6, 5, 2)
    layer = ConvLSTM1D(3, 3, padding="same", return_state=True)
    full, h_full, c_full = layer(x)
    _, h, c = layer(x[:, :4])
    out, _, _ = layer(x[:, 4:], initial_state=[h, c])
    torch.testing.assert_close(out, full)

    stateful = ConvLSTM1D(3, 3, padding="same", stateful=True)
    stateful(x[:, :4])
    stateful.set_weights(layer.get_weights())
    stateful.reset_states()
    stateful(x[:, :4])
    torch.testing.assert_close(stateful(x[:, 4:]), full)
    torch.testing.assert_close(stateful.states[1], c_full)
    stateful.reset_states()
    assert float(stateful.states[0].abs().sum()) == 0.0


def test_dropout_only_in_training_and_reaches_outputs():
    x = torch.randn(4, 3, 5, 2)
    layer = ConvLSTM1D(3, 3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    plain = layer(x)
    torch.testing.assert_close(layer(x, training=False), plain)
    assert not torch.allclose(layer(x, training=True), plain)
    only_recurrent = ConvLSTM1D(3, 3, recurrent_dropout=0.9, seed=1)
    inference = only_recurrent(x)
    assert not torch.allclose(only_recurrent(x, training=True), inference)


def test_cell_step_matches_layer_first_step():
    x = torch.randn(2, 1, 5, 5, 3)
    layer = ConvLSTM2D(4, 3, padding="same")
    out = layer(x)
    cell = ConvLSTMCell(2, 4, 3, padding="same")
    h, (h2, c) = cell(x[:, 0], cell.get_initial_state(x[:, 0]))
    cell.set_weights(layer.get_weights())
    h, _ = cell(x[:, 0], cell.get_initial_state(x[:, 0]))
    torch.testing.assert_close(h, out)


def test_functional_model_infers_shapes():
    inputs = lamina.Input((3, 8, 8, 2))
    out, h, c = ConvLSTM2D(4, 3, strides=2, padding="same", return_sequences=True,
                           return_state=True)(inputs)
    assert tuple(out.shape) == (None, 3, 4, 4, 4)
    assert tuple(h.shape) == tuple(c.shape) == (None, 4, 4, 4)


def test_rejects_wrong_input_rank_naming_expected_shape():
    layer = ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match=r"'clstm'.*\(batch, time, rows, cols, channels\).*"
                                         r"rank 5.*\(2, 3, 5, 1\)"):
        layer(torch.zeros(2, 3, 5, 1))
    first = ConvLSTM3D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"\(batch, time, channels, depth, rows, cols\)"):
        first(torch.zeros(2, 3, 5, 5, 1))


@pytest.mark.parametrize("kwargs, match", [
    ({"filters": 0, "kernel_size": 2}, "`filters` must be a positive integer.*filters=0"),
    ({"filters": 2, "kernel_size": (2, 2, 2)}, "`kernel_size`.*tuple of 2.*\\(2, 2, 2\\)"),
    ({"filters": 2, "kernel_size": 2, "padding": "causal"}, "`padding`.*padding='causal'"),
    ({"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2},
     "strides > 1.*dilation_rate > 1"),
    ({"filters": 2, "kernel_size": 2, "data_format": "nhwc"}, "`data_format`.*'nhwc'"),
    ({"filters": 2, "kernel_size": 2, "dropout": 1.5}, "`dropout`.*between 0 and 1"),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvLSTM2D(**kwargs)


def test_rejects_bad_initial_state_and_stateful_without_batch():
    layer = ConvLSTM1D(2, 3)
    x = torch.zeros(2, 3, 5, 1)
    with pytest.raises(ValueError, match=r"initial_state\[0\] should have shape \(2, 3, 2\)"):
        layer(x, initial_state=[torch.zeros(2, 5, 2), torch.zeros(2, 5, 2)])
    with pytest.raises(ValueError, match="expects 2 initial state tensors"):
        layer(x, initial_state=[torch.zeros(2, 3, 2)])
    stateful = ConvLSTM1D(2, 3, stateful=True)
    with pytest.raises(ValueError, match="stateful.*static batch size"):
        stateful(lamina.Input((3, 5, 1)))
