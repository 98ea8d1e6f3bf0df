"""`GRUCell` and `GRU`: gated recurrent unit, Keras' gate order z, r, h."""

import torch

from lamina.layers.rnn.cells import RecurrentCell, first_state
from lamina.layers.rnn.rnn import BuiltinRNN, cell_property


class GRUCell(RecurrentCell):
    """One GRU step; the output is also the next state.

    Weights (Keras' layout, gate blocks z (update), r (reset), h (candidate)):
    `kernel (input_dim, 3 * units)`, `recurrent_kernel (units, 3 * units)`, and `bias`
    of shape `(2, 3 * units)` (input bias, recurrent bias) when `reset_after`, else
    `(3 * units,)`.

    Args:
        units: positive int, the size of the output and state.
        activation: for the candidate (default `"tanh"`).
        recurrent_activation: for the gates (default `"sigmoid"`).
        reset_after: apply the reset gate after the recurrent matrix product (True,
            torch's and cuDNN's convention) or before it (False).
        Other arguments: as `SimpleRNNCell`.

    >>> import torch
    >>> cell = GRUCell(4)
    >>> out, states = cell(torch.ones(2, 3), cell.get_initial_state(2))
    >>> tuple(out.shape), [tuple(w.shape) for w in cell.weights][-1]
    ((2, 4), (2, 12))
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    def call(self, inputs, states, training=False):
        h_previous = first_state(states)
        inputs, h = self._dropped(inputs, h_previous, training)
        bias, units = self.bias, self.units
        if bias is None:
            x_gates = inputs @ self.kernel
        else:
            x_gates = torch.addmm(bias[0] if self.reset_after else bias, inputs, self.kernel)
        x_z, x_r, x_h = x_gates.split(units, dim=1)
        rec_act = self._rec_act
        if self.reset_after:
            if bias is None:
                h_gates = h @ self.recurrent_kernel
            else:
                h_gates = torch.addmm(bias[1], h, self.recurrent_kernel)
            h_z, h_r, h_h = h_gates.split(units, dim=1)
            z = rec_act(x_z + h_z)
            r = rec_act(x_r + h_r)
            candidate = self._act(x_h + r * h_h)
        else:
            h_zr = h @ self.recurrent_kernel[:, : 2 * units]
            z = rec_act(x_z + h_zr[:, :units])
            r = rec_act(x_r + h_zr[:, units:])
            candidate = self._act(x_h + (r * h) @ self.recurrent_kernel[:, 2 * units:])
        output = z * h_previous + (1 - z) * candidate
        return output, [output] if isinstance(states, (list, tuple)) else output

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


class GRU(BuiltinRNN):
    """Gated recurrent unit layer: `GRUCell` run over the time axis.

    Takes the arguments of `GRUCell` and of `RNN`, plus `activity_regularizer` and
    `use_cudnn` (as `LSTM`; the fused kernel also needs `reset_after=True`).

    >>> import torch
    >>> layer = GRU(4, return_sequences=True, go_backwards=True)
    >>> tuple(layer(torch.ones(2, 5, 3)).shape)
    (2, 5, 4)
    """

    _cell_class = GRUCell
    _fused_kind = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)

    recurrent_activation = cell_property("recurrent_activation")
    reset_after = cell_property("reset_after")
