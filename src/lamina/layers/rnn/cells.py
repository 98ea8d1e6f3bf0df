"""Recurrent cells: one time step each. `RecurrentCell` is the shared base of the built-in
cells; `StackedRNNCells` runs several in depth.

A cell follows Keras' contract: `call(inputs, states)` returns `(output, new_states)` for
one time step, `state_size` gives the size of each state, and an optional
`get_initial_state(batch_size)` gives the first states (zeros otherwise). Time (masks,
direction, carried states) belongs to `RNN` (`rnn.py`).
"""

import inspect

import numpy as np
import torch

from lamina import activations, constraints, initializers, random, regularizers, tree
from lamina.backend import config as backend_config
from lamina.layers.activations.activation import direct_activation
from lamina.layers.layer import Layer
from lamina.serialization import serialization


def rnn_objects():
    """This package's classes by name, so nested configs resolve before (and without)
    their re-export from `lamina.layers`."""
    from lamina.layers import rnn  # the package imports this module

    return {name: getattr(rnn, name) for name in rnn.__all__}


def deserialize_layer(config):
    return serialization.deserialize_keras_object(config, custom_objects=rnn_objects())


def takes_training(cell):
    call = getattr(type(cell), "call", None) or cell.call
    try:
        return "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def check_rate(value, what, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(
            f"{owner}: argument `{what}` must be a float between 0 and 1. "
            f"Received: {what}={value!r}"
        )
    return float(value)


def _states_to_tensors(args, kwargs):
    """Direct cell calls may pass states as arrays (as Keras allows); the RNN loop calls
    `cell.call` with tensors and skips this."""
    def convert(x):
        return torch.as_tensor(np.asarray(x)) if isinstance(x, (np.ndarray, np.generic)) else x

    if len(args) > 1:
        args = (args[0], tree.map_structure(convert, args[1]), *args[2:])
    elif "states" in kwargs:
        kwargs["states"] = tree.map_structure(convert, kwargs["states"])
    return args, kwargs


class CellCallMixin:
    """Accept array states on direct cell calls."""

    def forward(self, *args, **kwargs):
        args, kwargs = _states_to_tensors(args, kwargs)
        return super().forward(*args, **kwargs)


class DropoutRNNCell:
    """Mixin for cells with `dropout` / `recurrent_dropout`: one mask per sequence.

    The mask is drawn on the first step of a sequence and reused on every step (the
    same units are dropped all along the sequence); `RNN` resets it before each call.
    """

    def _draw_mask(self, like, rate):
        return random.dropout(torch.ones_like(like), rate, seed=self._seed_generator())

    def _seed_generator(self):
        generator = self.__dict__.get("_seed_gen")
        if generator is None:
            generator = self._create_seed_generator()
        return generator

    def _create_seed_generator(self):
        # NOTE: made in `__init__`, as Keras' cells do, so the cell's `variables` list its
        # `seed_generator_state` whether or not it drops anything.
        generator = self.__dict__["_seed_gen"] = random.SeedGenerator(self.seed)
        return generator

    def get_dropout_mask(self, step_input):
        """The input dropout mask for this sequence (None when `dropout` is 0)."""
        if not self.dropout:
            return None
        mask = self.__dict__.get("_dropout_mask")
        if mask is None:
            mask = self.__dict__["_dropout_mask"] = self._draw_mask(step_input, self.dropout)
        return mask

    def get_recurrent_dropout_mask(self, step_state):
        """The recurrent-state dropout mask for this sequence (None when the rate is 0)."""
        if not self.recurrent_dropout:
            return None
        mask = self.__dict__.get("_recurrent_dropout_mask")
        if mask is None:
            mask = self._draw_mask(step_state, self.recurrent_dropout)
            self.__dict__["_recurrent_dropout_mask"] = mask
        return mask

    def reset_dropout_mask(self):
        self.__dict__.pop("_dropout_mask", None)

    def reset_recurrent_dropout_mask(self):
        self.__dict__.pop("_recurrent_dropout_mask", None)


class RecurrentCell(CellCallMixin, DropoutRNNCell, Layer):
    """Shared base of the built-in cells: `gates` blocks of `units` columns in a kernel
    `(input_dim, gates * units)`, a recurrent kernel `(units, gates * units)` and a
    bias, with Keras' argument set. Subclasses set `gates` and write `call`."""

    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"{type(self).__name__}: received an invalid value for argument `units`, "
                f"expected a positive integer. Received: units={units!r}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self._act = direct_activation(self.activation) or identity
        if recurrent_activation is not None or self.gates > 1:
            self.recurrent_activation = activations.get(recurrent_activation)
            self._rec_act = direct_activation(self.recurrent_activation) or identity
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        owner = f"{type(self).__name__} '{self.name}'"
        self.dropout = check_rate(dropout, "dropout", owner)
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout", owner)
        self.seed = seed
        self._create_seed_generator()
        self.bias = None
        self.state_size = self.units
        self.output_size = self.units

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known feature size (last axis) "
                f"to create its kernel. Received: input_shape={tuple(input_shape)}"
            )
        width = self.gates * self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, width),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=self._bias_shape(), initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def get_initial_state(self, batch_size=None):
        """Zero states, one `(batch_size, units)` tensor per entry of `state_size`."""
        count = len(tree.flatten(self.state_size))
        return [torch.zeros((batch_size, self.units), dtype=self.dtype_policy.compute_torch_dtype,
                            device=backend_config.get_device()) for _ in range(count)]

    def _dropped(self, inputs, h, training):
        """`inputs` and `h` with this sequence's dropout masks applied (training only)."""
        if training:
            if self.dropout:
                inputs = inputs * self.get_dropout_mask(inputs)
            if self.recurrent_dropout:
                h = h * self.get_recurrent_dropout_mask(h)
        return inputs, h

    def compute_output_shape(self, input_shape, states_shape=None):
        batch = input_shape[0]
        sizes = tree.flatten(self.state_size)
        return (batch, self.output_size), [(batch, s) for s in sizes]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        if hasattr(self, "recurrent_activation"):
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


def identity(x):
    return x


def first_state(states):
    return states[0] if isinstance(states, (list, tuple)) else states


class StackedRNNCells(CellCallMixin, Layer):
    """Several cells run as one: the output of each is the input of the next.

    Its `state_size` lists each cell's `state_size`; states are passed and returned as
    one list per cell.

    Args:
        cells: list of cells (objects following the cell contract).

    >>> import torch
    >>> from lamina.layers.rnn import LSTMCell, SimpleRNNCell
    >>> cells = StackedRNNCells([SimpleRNNCell(3), LSTMCell(2)])
    >>> cells.state_size, cells.output_size
    ([3, [2, 2]], 2)
    >>> out, states = cells(torch.ones(4, 5), cells.get_initial_state(4))
    >>> tuple(out.shape), [len(s) for s in states]
    ((4, 2), [1, 2])
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            check_cell(cell, "StackedRNNCells")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [list(cell_initial_state(cell, batch_size)) for cell in self.cells]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            self._build_child(cell, shape)
            shape = (shape[0], cell_output_size(cell))
        self.__dict__["_training_flags"] = [takes_training(c) for c in self.cells]
        self.built = True

    def call(self, inputs, states, training=False):
        # NOTE: cells run through `.call`, not `__call__`, as `RNN` runs its cell: this is
        # once per cell per time step, and `__call__`'s argument resolution made
        # RNN(StackedRNNCells([SimpleRNNCell(16), LSTMCell(16)])) forward+backward on
        # (16, 20, 8) 1.17-1.22x slower (one LSTMCell(16) step: 1.51x). So torch hooks on a
        # cell do not fire here, and the cells' inputs are not converted or checked.
        flags = self.__dict__.get("_training_flags") or [takes_training(c) for c in self.cells]
        new_states = []
        for cell, cell_states, pass_training in zip(self.cells, states, flags):
            if pass_training:
                inputs, cell_states = cell.call(inputs, cell_states, training=training)
            else:
                inputs, cell_states = cell.call(inputs, cell_states)
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialization.serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cells"] = [deserialize_layer(c) for c in config["cells"]]
        return super().from_config(config)


def check_cell(cell, owner):
    if not hasattr(cell, "call"):
        raise ValueError(
            f"{owner}: argument `cell` should have a `call` method (the cell contract: "
            f"`call(inputs, states)` returning `(output, new_states)`). Received: cell={cell!r}"
        )
    if not hasattr(cell, "state_size"):
        raise ValueError(
            f"{owner}: the cell {cell!r} should have a `state_size` attribute (the size of "
            "each recurrent state, an int or a list of ints)."
        )


def cell_output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is None:
        size = tree.flatten(cell.state_size)[0]
    return size


def cell_initial_state(cell, batch_size):
    """The cell's own initial states as a list (zeros when it defines none)."""
    if hasattr(cell, "get_initial_state"):
        states = cell.get_initial_state(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]
    return [torch.zeros((batch_size, s), device=backend_config.get_device())
            for s in tree.flatten(cell.state_size)]


__all__ = ["StackedRNNCells"]
