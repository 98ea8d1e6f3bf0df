"""`Bidirectional` and `TimeDistributed`: behaviour, config, bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core import Dense
from lamina.layers.rnn import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from lamina.testing import run_layer_test

X = torch.as_tensor(np.random.default_rng(3).standard_normal((2, 5, 3)).astype("float32"))


def test_bidirectional_concat_equals_forward_and_flipped_backward():
    layer = Bidirectional(SimpleRNN(4, return_sequences=True))
    out = layer(X)
    forward = layer.forward_layer(X)
    backward = layer.backward_layer(X)
    torch.testing.assert_close(out, torch.cat([forward, backward.flip(1)], -1))
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    names = [w.path.split("/")[1] for w in layer.weights]
    assert names == ["forward_simple_rnn"] * 3 + ["backward_simple_rnn"] * 3


@pytest.mark.parametrize("mode,combine", [
    ("sum", lambda a, b: a + b), ("mul", lambda a, b: a * b), ("ave", lambda a, b: (a + b) / 2),
])
def test_bidirectional_merge_modes(mode, combine):
    layer = Bidirectional(GRU(3), merge_mode=mode)
    out = layer(X)
    torch.testing.assert_close(out, combine(layer.forward_layer(X), layer.backward_layer(X)))


def test_bidirectional_none_merge_and_return_state():
    layer = Bidirectional(LSTM(3, return_state=True), merge_mode=None)
    y, y_rev, h, c, h_rev, c_rev = layer(X)
    torch.testing.assert_close(y, h)
    torch.testing.assert_close(y_rev, h_rev)
    again = layer(X, initial_state=[h, c, h_rev, c_rev])
    assert not torch.allclose(again[0], y)
    with pytest.raises(ValueError, match="even number of initial states"):
        layer(X, initial_state=[h, c, h_rev])


def test_bidirectional_passes_run_layer_test_and_masks():
    run_layer_test(Bidirectional, {"layer": LSTM(3, return_sequences=True)},
                   input_shape=(2, 4, 5), expected_output_shape=(2, 4, 6),
                   expected_num_trainable_weights=6)
    layer = Bidirectional(LSTM(3, return_sequences=True))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    out = layer(X, mask=mask)
    assert torch.equal(out._keras_mask, mask)
    assert (out[0, 3:, 3:] == 0).all()  # zero_output_for_mask in both directions


def test_bidirectional_stateful_states_and_reset():
    layer = Bidirectional(SimpleRNN(2, stateful=True))
    first = layer(X)
    assert len(layer.states) == 2
    assert not torch.allclose(layer(X), first)
    layer.reset_states()
    torch.testing.assert_close(layer(X), first)


def test_bidirectional_rejects_bad_arguments():
    with pytest.raises(ValueError, match="recurrent layer instance"):
        Bidirectional(Dense(2))
    with pytest.raises(ValueError, match="merge_mode='max'"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="same `return_sequences`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True,
                                                   return_sequences=True))


def test_time_distributed_applies_layer_per_step():
    inner = Dense(4)
    layer = TimeDistributed(inner)
    out = layer(X)
    for t in range(X.shape[1]):
        torch.testing.assert_close(out[:, t], inner(X[:, t]))
    assert [w.path for w in layer.weights] == ["time_distributed/dense/kernel",
                                              "time_distributed/dense/bias"]
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 4)


def test_time_distributed_in_functional_model_and_config():
    inputs = lamina.Input((None, 3))
    outputs = TimeDistributed(Dense(2))(inputs)
    assert outputs.shape == (None, None, 2)
    layer = TimeDistributed(Dense(2, activation="relu"))
    layer(X)
    clone = TimeDistributed.from_config(layer.get_config())
    clone(X)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(X), layer(X))


def test_time_distributed_rejects_bad_input():
    with pytest.raises(ValueError, match="keras.layers.Layer"):
        TimeDistributed(object())
    with pytest.raises(ValueError, match=r"at least 3 dimensions.*\(2, 3\)"):
        TimeDistributed(Dense(2))(X[:, 0])
