"""`SimpleRNNCell` and `SimpleRNN`: the fully connected recurrence
`output = activation(x @ kernel + h @ recurrent_kernel + bias)`."""

import torch

from lamina.layers.rnn.cells import RecurrentCell, first_state
from lamina.layers.rnn.rnn import BuiltinRNN


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected RNN; the output is also the next state.

    Weights (Keras' layout): `kernel (input_dim, units)`, `recurrent_kernel (units,
    units)`, `bias (units,)`.

    Args:
        units: positive int, the size of the output and state.
        activation: default `"tanh"`.
        use_bias, kernel/recurrent/bias initializers, regularizers and constraints: as
            in `Dense`, plus the recurrent kernel's.
        dropout, recurrent_dropout: fraction of the inputs / of the state dropped in
            training (one mask per sequence).
        seed: seed for the dropout masks.

    >>> import torch
    >>> cell = SimpleRNNCell(4)
    >>> out, states = cell(torch.ones(2, 3), [torch.zeros(2, 4)])
    >>> tuple(out.shape), len(states)
    ((2, 4), 1)
    """

    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def call(self, sequence, states, training=False):
        previous = first_state(states)
        inputs, h = self._dropped(sequence, previous, training)
        if self.bias is not None:
            z = torch.addmm(self.bias, inputs, self.kernel)
        else:
            z = inputs @ self.kernel
        output = self._act(torch.addmm(z, h, self.recurrent_kernel))
        return output, [output] if isinstance(states, (list, tuple)) else output


class SimpleRNN(BuiltinRNN):
    """A fully connected RNN layer: `SimpleRNNCell` run over the time axis.

    Takes the arguments of `SimpleRNNCell` and of `RNN` (`return_sequences`,
    `return_state`, `go_backwards`, `stateful`, `unroll`), plus `activity_regularizer`.
    With `tanh`/`relu` activation, no recurrent dropout and no mask (or a right-padded
    one), it runs torch's fused RNN kernel.

    >>> import torch
    >>> layer = SimpleRNN(4, return_sequences=True)
    >>> tuple(layer(torch.ones(2, 5, 3)).shape)
    (2, 5, 4)
    """

    _cell_class = SimpleRNNCell
    _config_has_seed = False
    _fused_kind = "rnn"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
