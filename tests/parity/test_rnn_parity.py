"""Recurrent layers vs Keras 3: configs, weight layouts, outputs, gradients."""

import json
import types

import numpy as np
import pytest
import torch

from lamina import tree
from lamina.layers.core import Dense
from lamina.layers.rnn import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
    TimeDistributed,
)

OURS = types.SimpleNamespace(
    GRU=GRU, LSTM=LSTM, RNN=RNN, Bidirectional=Bidirectional, GRUCell=GRUCell,
    LSTMCell=LSTMCell, SimpleRNN=SimpleRNN, SimpleRNNCell=SimpleRNNCell,
    StackedRNNCells=StackedRNNCells, TimeDistributed=TimeDistributed, Dense=Dense)

B, T, F = 3, 6, 4
RNG = np.random.default_rng(0)
X = RNG.standard_normal((B, T, F)).astype("float32")
RIGHT_PADDED = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], dtype=bool)
LEFT_PADDED = RIGHT_PADDED[:, ::-1].copy()
HOLES = np.array([[1, 0, 1, 1, 0, 1], [1] * 6, [0, 1, 1, 0, 1, 1]], dtype=bool)


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _normalize(config):
    def default(value):
        if isinstance(value, tuple):
            return list(value)
        raise TypeError(type(value))
    return json.loads(json.dumps(config, default=default))


def _pair(K, make, x=X, **call_kwargs):
    """Build `make(namespace)` in Keras and lamina, copy Keras' weights into lamina's
    layer, and return (keras_layer, lamina_layer, keras_outputs, lamina_outputs)."""
    k_layer, l_layer = make(K.layers), make(OURS)
    k_out = k_layer(x, **call_kwargs)
    l_layer(x, **call_kwargs)
    l_layer.set_weights(k_layer.get_weights())
    l_out = l_layer(x, **call_kwargs)
    return k_layer, l_layer, k_out, l_out


def _assert_outputs_equal(K, k_out, l_out, atol=1e-5):
    k_flat = [K.ops.convert_to_numpy(t) for t in K.tree.flatten(k_out)]
    l_flat = [_np(t) for t in tree.flatten(l_out)]
    assert len(k_flat) == len(l_flat)
    for k, ours in zip(k_flat, l_flat):
        assert k.shape == ours.shape
        np.testing.assert_allclose(ours, k, atol=atol, rtol=1e-5)


CASES = {
    "simple_rnn": lambda L: L.SimpleRNN(5),
    "simple_rnn_seq_back_relu": lambda L: L.SimpleRNN(5, activation="relu",
                                                       return_sequences=True, go_backwards=True),
    "simple_rnn_no_bias_state": lambda L: L.SimpleRNN(5, use_bias=False, return_state=True),
    "lstm": lambda L: L.LSTM(5),
    "lstm_seq_state": lambda L: L.LSTM(5, return_sequences=True, return_state=True),
    "lstm_backwards": lambda L: L.LSTM(5, return_sequences=True, go_backwards=True),
    "lstm_no_bias": lambda L: L.LSTM(5, use_bias=False, return_state=True),
    "lstm_loop_activation": lambda L: L.LSTM(5, recurrent_activation="hard_sigmoid",
                                             activation="relu", return_sequences=True),
    "lstm_unroll": lambda L: L.LSTM(5, unroll=True, return_state=True),
    "gru": lambda L: L.GRU(5),
    "gru_seq_state_back": lambda L: L.GRU(5, return_sequences=True, return_state=True,
                                          go_backwards=True),
    "gru_reset_before": lambda L: L.GRU(5, reset_after=False, return_sequences=True),
    "gru_reset_before_no_bias": lambda L: L.GRU(5, reset_after=False, use_bias=False),
    "gru_no_bias": lambda L: L.GRU(5, use_bias=False, return_sequences=True),
    "rnn_lstm_cell": lambda L: L.RNN(L.LSTMCell(5), return_sequences=True, return_state=True),
    "rnn_stacked": lambda L: L.RNN([L.SimpleRNNCell(3), L.LSTMCell(4), L.GRUCell(2)],
                                   return_state=True, return_sequences=True),
    "time_distributed": lambda L: L.TimeDistributed(L.Dense(3, activation="relu")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_match_keras_with_copied_weights(K, case):
    _, _, k_out, l_out = _pair(K, CASES[case])
    _assert_outputs_equal(K, k_out, l_out)


MASK_CASES = {
    "lstm_right": (lambda L: L.LSTM(5, return_sequences=True, return_state=True), RIGHT_PADDED),
    "lstm_left": (lambda L: L.LSTM(5, return_sequences=True, return_state=True), LEFT_PADDED),
    "lstm_holes_last": (lambda L: L.LSTM(5), HOLES),
    "lstm_right_backwards": (lambda L: L.LSTM(5, return_sequences=True, go_backwards=True,
                                              return_state=True), RIGHT_PADDED),
    "gru_right": (lambda L: L.GRU(5, return_sequences=True, return_state=True), RIGHT_PADDED),
    "gru_left_reset_before": (lambda L: L.GRU(5, reset_after=False, return_sequences=True),
                              LEFT_PADDED),
    "simple_rnn_right": (lambda L: L.SimpleRNN(5, return_sequences=True), RIGHT_PADDED),
    "rnn_zero_output": (lambda L: L.RNN(L.GRUCell(5), return_sequences=True,
                                        zero_output_for_mask=True), HOLES),
}


@pytest.mark.parametrize("case", sorted(MASK_CASES))
def test_masked_outputs_match_keras(K, case):
    make, mask = MASK_CASES[case]
    _, _, k_out, l_out = _pair(K, make, mask=mask)
    _assert_outputs_equal(K, k_out, l_out)


def test_initial_state_matches_keras(K):
    h = RNG.standard_normal((B, 5)).astype("float32")
    c = RNG.standard_normal((B, 5)).astype("float32")
    _, _, k_out, l_out = _pair(K, lambda L: L.LSTM(5, return_sequences=True),
                               initial_state=[h, c])
    _assert_outputs_equal(K, k_out, l_out)
    _, _, k_out, l_out = _pair(K, lambda L: L.GRU(5, reset_after=False), initial_state=[h])
    _assert_outputs_equal(K, k_out, l_out)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_match_keras(K, merge_mode):
    _, l_layer, k_out, l_out = _pair(
        K, lambda L: L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=merge_mode),
        mask=RIGHT_PADDED if merge_mode == "concat" else None)
    _assert_outputs_equal(K, k_out, l_out)


def test_bidirectional_return_state_and_backward_layer_match_keras(K):
    def make(L):
        return L.Bidirectional(L.GRU(4, return_state=True),
                               backward_layer=L.GRU(3, go_backwards=True, return_state=True))
    k_layer, l_layer, k_out, l_out = _pair(K, make)
    _assert_outputs_equal(K, k_out, l_out)
    assert [w.path for w in l_layer.weights] == [w.path for w in k_layer.weights]


def test_stateful_lstm_matches_keras_across_batches(K):
    def make(L):
        return L.LSTM(5, stateful=True, return_sequences=True)
    k_layer, l_layer, k_out, l_out = _pair(K, make)
    # _pair called lamina's layer twice; restart both from zero states.
    k_layer.reset_states()
    l_layer.reset_states()
    second = RNG.standard_normal((B, T, F)).astype("float32")
    for x in (X, second):
        _assert_outputs_equal(K, k_layer(x), l_layer(x))
    k_layer.reset_states()
    l_layer.reset_states()
    _assert_outputs_equal(K, k_layer(second), l_layer(second))


CONFIG_CASES = {
    "simple_rnn": lambda L: L.SimpleRNN(3, dropout=0.25, seed=2),
    "lstm": lambda L: L.LSTM(3, unit_forget_bias=False, return_state=True,
                             kernel_regularizer="l2"),
    "gru": lambda L: L.GRU(3, reset_after=False, go_backwards=True, stateful=False),
    "simple_rnn_cell": lambda L: L.SimpleRNNCell(3, recurrent_dropout=0.5),
    "lstm_cell": lambda L: L.LSTMCell(3),
    "gru_cell": lambda L: L.GRUCell(3, activation="relu"),
    "rnn": lambda L: L.RNN(L.LSTMCell(3), return_sequences=True),
    "rnn_stacked": lambda L: L.RNN([L.LSTMCell(3), L.GRUCell(2)]),
    "stacked": lambda L: L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]),
    "bidirectional": lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True),
                                               merge_mode="ave"),
    "time_distributed": lambda L: L.TimeDistributed(L.Dense(3)),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_equals_keras(K, case):
    k_layer, l_layer = CONFIG_CASES[case](K.layers), CONFIG_CASES[case](OURS)
    if "cell" in case and case != "stacked":
        state = [np.zeros((B, 3), "float32")] * (2 if "lstm" in case else 1)
        k_layer(X[:, 0], state)
        l_layer(X[:, 0], state)
    elif case != "stacked":
        k_layer(X)
        l_layer(X)
    assert _normalize(l_layer.get_config()) == _normalize(k_layer.get_config())
    if case != "stacked":
        assert [w.path for w in l_layer.weights] == [w.path for w in k_layer.weights]
        assert [tuple(w.shape) for w in l_layer.weights] == [
            tuple(w.shape) for w in k_layer.weights]


def test_keras_config_loads_in_lamina(K):
    """A config written by Keras rebuilds the same layer in lamina."""
    k_layer = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True))
    k_layer(X)
    config = _normalize(k_layer.get_config())
    ours = Bidirectional.from_config(config)
    ours(X)
    ours.set_weights(k_layer.get_weights())
    _assert_outputs_equal(K, k_layer(X), ours(X))


@pytest.mark.parametrize("name,kwargs", [
    ("LSTM", {"return_sequences": True}),
    ("GRU", {"return_sequences": True}),
    ("GRU", {"reset_after": False}),
    ("SimpleRNN", {"go_backwards": True}),
])
def test_gradients_match_keras(K, name, kwargs):
    k_layer = getattr(K.layers, name)(4, **kwargs)
    ours = getattr(OURS, name)(4, **kwargs)
    k_layer(X)
    ours(X)
    ours.set_weights(k_layer.get_weights())
    k_x = torch.tensor(X, requires_grad=True)
    l_x = torch.tensor(X, requires_grad=True)
    (k_layer(k_x) ** 2).sum().backward()
    (ours(l_x) ** 2).sum().backward()
    for k_var, l_var in zip(k_layer.trainable_weights, ours.trainable_weights):
        np.testing.assert_allclose(_np(l_var.grad), _np(k_var.value.grad), atol=1e-5,
                                   err_msg=l_var.path)
    np.testing.assert_allclose(_np(l_x.grad), _np(k_x.grad), atol=1e-5)
