"""The built-in cells against numpy formulas, and their arguments."""

import numpy as np
import pytest
import torch

from lamina.layers.rnn import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells

RNG = np.random.default_rng(1)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _weights(cell):
    return [w.detach().numpy() for w in cell.weights]


def _random_weights(cell):
    cell.set_weights([RNG.standard_normal(w.shape).astype("float32") * 0.5 for w in cell.weights])


def test_simple_rnn_cell_step_equals_formula():
    cell = SimpleRNNCell(3)
    x, h = RNG.standard_normal((2, 4)).astype("float32"), RNG.standard_normal((2, 3)).astype(
        "float32")
    cell(torch.as_tensor(x), [torch.as_tensor(h)])
    _random_weights(cell)
    out, states = cell(torch.as_tensor(x), [torch.as_tensor(h)])
    k, r, b = _weights(cell)
    np.testing.assert_allclose(out.detach().numpy(), np.tanh(x @ k + h @ r + b), atol=1e-5)
    assert states[0] is out
    # A bare-tensor state comes back as a bare tensor.
    out2, state2 = cell(torch.as_tensor(x), torch.as_tensor(h))
    assert isinstance(state2, torch.Tensor)
    np.testing.assert_allclose(out2.detach().numpy(), out.detach().numpy())


def test_lstm_cell_step_equals_formula_in_keras_gate_order():
    cell = LSTMCell(3)
    x = RNG.standard_normal((2, 4)).astype("float32")
    h, c = RNG.standard_normal((2, 2, 3)).astype("float32")
    cell(torch.as_tensor(x), [torch.as_tensor(h), torch.as_tensor(c)])
    _random_weights(cell)
    out, (h1, c1) = cell(torch.as_tensor(x), [torch.as_tensor(h), torch.as_tensor(c)])
    k, r, b = _weights(cell)
    z = x @ k + h @ r + b
    i, f, g, o = np.split(z, 4, axis=1)
    c_want = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_want = sigmoid(o) * np.tanh(c_want)
    np.testing.assert_allclose(c1.detach().numpy(), c_want, atol=1e-5)
    np.testing.assert_allclose(out.detach().numpy(), h_want, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_step_equals_formula(reset_after):
    cell = GRUCell(3, reset_after=reset_after)
    x, h = RNG.standard_normal((2, 4)).astype("float32"), RNG.standard_normal((2, 3)).astype(
        "float32")
    cell(torch.as_tensor(x), [torch.as_tensor(h)])
    _random_weights(cell)
    out, _ = cell(torch.as_tensor(x), [torch.as_tensor(h)])
    k, r, b = _weights(cell)
    u = 3
    if reset_after:
        mx, mh = x @ k + b[0], h @ r + b[1]
        z = sigmoid(mx[:, :u] + mh[:, :u])
        rr = sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
        hh = np.tanh(mx[:, 2 * u:] + rr * mh[:, 2 * u:])
    else:
        mx = x @ k + b
        z = sigmoid(mx[:, :u] + h @ r[:, :u])
        rr = sigmoid(mx[:, u:2 * u] + h @ r[:, u:2 * u])
        hh = np.tanh(mx[:, 2 * u:] + (rr * h) @ r[:, 2 * u:])
    np.testing.assert_allclose(out.detach().numpy(), z * h + (1 - z) * hh, atol=1e-5)


def test_weight_shapes_and_unit_forget_bias():
    lstm = LSTMCell(2, bias_initializer="zeros")
    lstm.build((None, 5))
    assert [tuple(w.shape) for w in lstm.weights] == [(5, 8), (2, 8), (8,)]
    assert lstm.bias.detach().tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    plain = LSTMCell(2, unit_forget_bias=False, bias_initializer="ones")
    plain.build((None, 5))
    assert plain.bias.detach().tolist() == [1.0] * 8
    gru = GRUCell(2)
    gru.build((None, 5))
    assert [tuple(w.shape) for w in gru.weights] == [(5, 6), (2, 6), (2, 6)]
    assert tuple(GRUCell(2, reset_after=False, use_bias=False).compute_output_shape((4, 5))[0]) \
        == (4, 2)


def test_dropout_masks_apply_in_training_only_and_stay_fixed_per_sequence():
    cell = SimpleRNNCell(4, dropout=0.5, recurrent_dropout=0.5, seed=3,
                         kernel_initializer="ones", recurrent_initializer="zeros",
                         activation=None)
    x = torch.ones(8, 6)
    state = [torch.zeros(8, 4)]
    inference, _ = cell(x, state)
    np.testing.assert_allclose(inference.detach().numpy(), 6.0)
    first, _ = cell(x, state, training=True)
    again, _ = cell(x, state, training=True)
    assert not torch.equal(first, inference)
    assert torch.equal(first, again)  # the mask is reused until reset
    cell.reset_dropout_mask()
    values = set(np.round(first.detach().numpy().ravel(), 4))
    assert values <= {float(v) for v in range(0, 13, 2)}


def test_stacked_cells_chain_outputs_and_states():
    cells = StackedRNNCells([SimpleRNNCell(3), LSTMCell(2)])
    x = torch.randn(4, 5)
    out, states = cells(x, cells.get_initial_state(4))
    first, second = cells.cells
    h1, _ = first(x, [torch.zeros(4, 3)])
    h2, (_, c2) = second(h1, [torch.zeros(4, 2), torch.zeros(4, 2)])
    torch.testing.assert_close(out, h2)
    torch.testing.assert_close(states[1][1], c2)
    assert cells.state_size == [3, [2, 2]] and cells.output_size == 2


@pytest.mark.parametrize("cls,kwargs", [
    (SimpleRNNCell, {"units": 3, "activation": "relu"}),
    (LSTMCell, {"units": 3, "use_bias": False}),
    (GRUCell, {"units": 3, "reset_after": False}),
])
def test_cell_config_round_trip(cls, kwargs):
    cell = cls(**kwargs)
    clone = cls.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()


@pytest.mark.parametrize("kwargs,match", [
    ({"units": 0}, "units"),
    ({"units": 2.5}, "units"),
    ({"units": 3, "dropout": 1.5}, "dropout"),
    ({"units": 3, "recurrent_dropout": -0.1}, "recurrent_dropout"),
])
def test_cells_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTMCell(**kwargs)


def test_stacked_cells_reject_objects_without_cell_contract():
    with pytest.raises(ValueError, match="`call` method"):
        StackedRNNCells([object()])



def test_stacked_cells_call_directly_when_only_the_cells_were_built():
    first, second = SimpleRNNCell(3), LSTMCell(2)
    x = torch.ones(4, 5)
    h1, s1 = first(x, first.get_initial_state(4))
    h2, s2 = second(h1, second.get_initial_state(4))
    stack = StackedRNNCells([first, second])
    out, states = stack.call(x, stack.get_initial_state(4))
    torch.testing.assert_close(out, h2)
    assert [len(s) for s in states] == [1, 2]
