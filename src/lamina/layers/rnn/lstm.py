"""`LSTMCell` and `LSTM`: long short-term memory, Keras' gate order i, f, c, o."""

import torch

from lamina import initializers
from lamina.layers.rnn.cells import RecurrentCell
from lamina.layers.rnn.rnn import BuiltinRNN, cell_property


class LSTMCell(RecurrentCell):
    """One LSTM step. States are `[h, c]`; the output is `h`.

    Weights (Keras' layout, gate blocks i, f, c, o): `kernel (input_dim, 4 * units)`,
    `recurrent_kernel (units, 4 * units)`, `bias (4 * units,)`.

    Args:
        units: positive int, the size of `h` and `c`.
        activation: for the candidate and the output (default `"tanh"`).
        recurrent_activation: for the gates (default `"sigmoid"`).
        unit_forget_bias: start the forget-gate bias at 1 (other blocks use
            `bias_initializer`).
        Other arguments: as `SimpleRNNCell`.

    >>> import torch
    >>> cell = LSTMCell(4)
    >>> h, (h2, c) = cell(torch.ones(2, 3), cell.get_initial_state(2))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def forget_bias_one(shape, dtype=None):
            return torch.cat([
                torch.as_tensor(base((units,), dtype=dtype)),
                torch.as_tensor(initializers.get("ones")((units,), dtype=dtype)),
                torch.as_tensor(base((2 * units,), dtype=dtype)),
            ])

        return forget_bias_one

    def call(self, inputs, states, training=False):
        h_previous, c_previous = states[0], states[1]
        inputs, h = self._dropped(inputs, h_previous, training)
        if self.bias is not None:
            z = torch.addmm(self.bias, inputs, self.kernel)
        else:
            z = inputs @ self.kernel
        z = torch.addmm(z, h, self.recurrent_kernel)
        i, f, g, o = z.chunk(4, dim=1)
        rec_act, act = self._rec_act, self._act
        c = rec_act(f) * c_previous + rec_act(i) * act(g)
        h = rec_act(o) * act(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class LSTM(BuiltinRNN):
    """Long short-term memory layer: `LSTMCell` run over the time axis.

    Takes the arguments of `LSTMCell` and of `RNN`, plus `activity_regularizer` and
    `use_cudnn` (`"auto"`: use torch's fused LSTM kernel when the configuration allows,
    i.e. tanh/sigmoid activations, no recurrent dropout, no `unroll`, and no mask or a
    right-padded one; `False`: always the per-step loop; `True`: fused or an error).

    >>> import torch
    >>> layer = LSTM(4, return_state=True)
    >>> out, h, c = layer(torch.ones(2, 5, 3))
    >>> tuple(out.shape), bool((out == h).all())
    ((2, 4), True)
    """

    _cell_class = LSTMCell
    _fused_kind = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)

    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")
