"""`RNN` and the built-in recurrent layers: user cells, masks, states, shapes, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.layer import Layer
from lamina.layers.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell
from lamina.testing import run_layer_test


class MinimalCell(Layer):
    """The Keras cell contract in its smallest form: h' = x @ W + h."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0]
        return output, [output]


class CountingCell(MinimalCell):
    """Two states (sum and step count), an output size and its own initial state."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = [units, 1]
        self.output_size = units

    def get_initial_state(self, batch_size=None):
        return [torch.full((batch_size, self.units), 10.0), torch.zeros(batch_size, 1)]

    def call(self, inputs, states):
        total = inputs @ self.kernel + states[0]
        return total, [total, states[1] + 1]


def _reference(x, kernel, mask=None, backwards=False, h0=None):
    """numpy loop of MinimalCell with Keras' mask semantics; returns (outputs, last)."""
    steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    h = np.zeros((x.shape[0], kernel.shape[1]), "float32") if h0 is None else h0
    out = np.zeros_like(h)
    outputs = []
    for t in steps:
        new = x[:, t] @ kernel + h
        keep = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t:t + 1]
        h = np.where(keep, new, h)
        out = np.where(keep, new, out)
        outputs.append(out)
    return np.stack(outputs, 1), out


X = np.random.default_rng(0).standard_normal((3, 5, 2)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)


@pytest.mark.parametrize("backwards", [False, True])
def test_user_cell_runs_with_mask_like_keras(backwards):
    layer = RNN(MinimalCell(4), return_sequences=True, return_state=True, go_backwards=backwards)
    outputs, state = layer(X, mask=MASK)
    kernel = layer.cell.kernel.detach().numpy()
    want_outputs, want_last = _reference(X, kernel, MASK, backwards)
    np.testing.assert_allclose(outputs.detach().numpy(), want_outputs, atol=1e-5)
    np.testing.assert_allclose(state.detach().numpy(), want_last, atol=1e-5)
    assert [w.path for w in layer.weights] == ["rnn/minimal_cell/kernel"]


def test_user_cell_initial_state_and_output_size():
    layer = RNN(CountingCell(3), return_state=True)
    out, total, count = layer(X)
    np.testing.assert_allclose(count.detach().numpy(), 5.0)
    kernel = layer.cell.kernel.detach().numpy()
    _, want = _reference(X, kernel, h0=np.full((3, 3), 10.0, "float32"))
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-4)
    assert layer.compute_output_shape((3, 5, 2)) == ((3, 3), (3, 3), (3, 1))


def test_initial_state_argument_is_used():
    layer = RNN(MinimalCell(2))
    h0 = np.ones((3, 2), "float32")
    out = layer(X, initial_state=[h0])
    _, want = _reference(X, layer.cell.kernel.detach().numpy(), h0=h0)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-5)


def test_stacked_cells_return_state_structure_and_mask():
    layer = RNN([SimpleRNNCell(3), LSTMCell(2)], return_sequences=True, return_state=True)
    out, (h1,), (h2, c2) = layer(X)
    assert tuple(out.shape) == (3, 5, 2) and tuple(h1.shape) == (3, 3)
    torch.testing.assert_close(out[:, -1], h2)
    masks = layer.compute_mask(X, torch.as_tensor(MASK))
    assert masks[0] is not None and masks[1:] == [None, None, None]


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_builtin_layers_pass_run_layer_test(cls):
    run_layer_test(cls, {"units": 3, "return_sequences": True}, input_shape=(2, 4, 5),
                   expected_output_shape=(2, 4, 3), expected_num_trainable_weights=3)


def test_return_state_shapes_and_masks_through_functional_model():
    inputs = lamina.Input((None, 2))
    out, h, c = LSTM(4, return_state=True)(inputs)
    assert out.shape == (None, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    model = lamina.Model(inputs, [out, h, c])
    got = model(X)
    torch.testing.assert_close(got[0], got[1])
    layer = LSTM(4, return_sequences=True)
    assert layer.compute_mask(X, torch.as_tensor(MASK)) is not None
    assert LSTM(4).compute_mask(X, torch.as_tensor(MASK)) is None


def test_symbolic_call_runs_the_cell_for_one_step_only():
    calls = []

    class Recording(MinimalCell):
        def call(self, inputs, states):
            calls.append(tuple(inputs.shape))
            return super().call(inputs, states)

    layer = RNN(Recording(3), return_sequences=True, return_state=True)
    sequences, state = layer(lamina.Input((None, 2)))
    assert tuple(sequences.shape) == (None, None, 3) and tuple(state.shape) == (None, 3)
    assert tuple(layer(lamina.Input((7, 2)))[0].shape) == (None, 7, 3)
    symbolic_calls = len(calls)
    assert symbolic_calls <= 4  # one step per fake run, not one per stand-in timestep
    layer(X)
    assert len(calls) == symbolic_calls + X.shape[1]


def test_mask_attached_to_sequence_output():
    out = GRU(3, return_sequences=True)(torch.as_tensor(X), mask=torch.as_tensor(MASK))
    assert torch.equal(out._keras_mask, torch.as_tensor(MASK))


def test_stateful_carries_states_and_resets():
    layer = SimpleRNN(3, stateful=True)
    x = torch.as_tensor(X)
    first = layer(x)
    second = layer(x)
    assert not torch.allclose(first, second)
    torch.testing.assert_close(layer.states[0], second)
    layer.reset_states()
    torch.testing.assert_close(layer(x), first)
    fresh = SimpleRNN(3)
    fresh(x)
    fresh.set_weights(layer.get_weights())
    torch.testing.assert_close(fresh(x, initial_state=[first]), second)
    assert fresh.states is None


def test_unroll_and_fused_paths_agree():
    fused = LSTM(3, return_sequences=True)
    looped = LSTM(3, return_sequences=True, unroll=True)
    fused(X)
    looped(X)
    looped.set_weights(fused.get_weights())
    torch.testing.assert_close(fused(X), looped(X), atol=1e-5, rtol=1e-5)


def test_layer_attributes_read_from_the_cell():
    layer = GRU(3, reset_after=False, dropout=0.25, recurrent_activation="hard_sigmoid")
    assert layer.units == 3 and layer.reset_after is False and layer.dropout == 0.25
    assert layer.recurrent_activation is lamina.activations.hard_sigmoid
    assert isinstance(layer.cell, GRUCell)
    assert LSTM(2).unit_forget_bias is True


# -- bad input -----------------------------------------------------------------------------
def test_rank2_input_names_expected_layout():
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\).*\(3, 2\)"):
        LSTM(2)(X[:, 0])
    layer = GRU(2)
    layer(X)
    with pytest.raises(ValueError, match=r"gru.*\(batch, timesteps, features\)"):
        layer(torch.as_tensor(X[:, 0]))


def test_nested_sequence_inputs_are_rejected_with_a_reason():
    # Keras 3 does not take a tuple of sequences either (it fails inside the cell).
    first, second = lamina.Input((None, 4)), lamina.Input((None, 3, 2))
    with pytest.raises(ValueError, match=r"rnn.*one sequence tensor.*\(None, None, 3, 2\)"):
        RNN(MinimalCell(2))((first, second))


def test_initial_state_with_wrong_shape_or_count_is_rejected():
    with pytest.raises(ValueError, match=r"initial_state\[1\] should have shape \(batch, 2\)"):
        LSTM(2)(X, initial_state=[np.zeros((3, 2), "float32"), np.zeros((3, 5), "float32")])
    with pytest.raises(ValueError, match="expects 2 initial state tensor"):
        LSTM(2)(X, initial_state=[np.zeros((3, 2), "float32")])


def test_mask_with_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match=r"mask of shape \(batch, timesteps\) = \(3, 5\).*"
                                         r"\(3, 4\)"):
        SimpleRNN(2)(X, mask=np.ones((3, 4), bool))


def test_stateful_needs_static_and_constant_batch():
    with pytest.raises(ValueError, match="static batch size"):
        LSTM(2, stateful=True)(lamina.Input((5, 2)))
    layer = LSTM(2, stateful=True)
    layer(X)
    with pytest.raises(ValueError, match="batch size 3.*batch of 2"):
        layer(X[:2])


def test_rnn_rejects_objects_that_are_not_cells():
    with pytest.raises(ValueError, match="`call` method"):
        RNN(object())
    with pytest.raises(ValueError, match="state_size"):
        RNN(Layer())


def test_use_cudnn_true_with_unfusable_config_raises():
    with pytest.raises(ValueError, match="use_cudnn=True"):
        GRU(2, reset_after=False, use_cudnn=True)(X)
    with pytest.raises(ValueError, match="use_cudnn"):
        LSTM(2, use_cudnn="yes")


def test_rnn_config_round_trip_with_builtin_cell():
    layer = RNN(GRUCell(3, reset_after=False), go_backwards=True, return_sequences=True)
    layer(X)
    clone = RNN.from_config(layer.get_config())
    clone(X)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(X), layer(X))
    assert clone.get_config()["cell"]["config"] == layer.get_config()["cell"]["config"]


class _Wrapped(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


@pytest.mark.parametrize("tracer", ["export", "export_strict", "compile_fullgraph"])
def test_rnn_step_loop_traces_every_step(tracer):
    # Tracers run the loop on fake tensors too; the one-step shortcut of lamina's own
    # symbolic run must not leak into their graphs (nor break Dynamo's full graph).
    layer = RNN(SimpleRNNCell(4), return_sequences=True)
    x = torch.randn(2, 5, 3)
    expected = layer(x)
    if tracer == "compile_fullgraph":
        traced = torch.compile(_Wrapped(layer), fullgraph=True, backend="eager")
    else:
        traced = torch.export.export(
            _Wrapped(layer), (x,), strict=tracer == "export_strict").module()
    torch.testing.assert_close(traced(x), expected)
