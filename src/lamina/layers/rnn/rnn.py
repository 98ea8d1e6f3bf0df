"""`RNN`: run a recurrent cell along the time axis; `StackedRNNCells`: cells in depth.

A cell follows Keras' contract: `call(inputs, states)` returns `(output, new_states)`
for one time step, `state_size` gives the size of each state, and an optional
`get_initial_state(batch_size)` gives the first states (zeros otherwise). `RNN` owns
everything about time: masks, `go_backwards`, `stateful`, `initial_state`,
`return_sequences`/`return_state`. The built-in LSTM/GRU/SimpleRNN layers also try
torch's fused kernels first (`fused.py`).
"""

import inspect

import numpy as np
import torch
from torch._subclasses.fake_tensor import is_fake

from lamina import activations, constraints, initializers, regularizers, tree
from lamina.backend import naming
from lamina.layers.activations.activation import direct_activation
from lamina.layers.layer import Layer
from lamina.serialization import serialization


def build_sublayer(layer, input_shape):
    """Build `layer` for `input_shape` (its weight paths read `outer/inner/kernel`: the
    base class scopes `build` by name), recording its build config as a first call would."""
    if not isinstance(layer, Layer) or layer.built:
        return
    input_shape = tuple(input_shape)
    layer.build(input_shape)
    layer.built = True
    layer.__dict__["_build_shapes"] = {"input_shape": input_shape}


def rnn_objects():
    """This package's classes by name, so nested configs resolve before (and without)
    their re-export from `lamina.layers`."""
    from lamina.layers import rnn

    return {name: getattr(rnn, name) for name in rnn.__all__}


def deserialize_layer(config):
    return serialization.deserialize_keras_object(config, custom_objects=rnn_objects())


def _takes_training(cell):
    call = getattr(type(cell), "call", None) or cell.call
    try:
        return "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def _check_rate(value, what, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(
            f"{owner}: argument `{what}` must be a float between 0 and 1. "
            f"Received: {what}={value!r}"
        )
    return float(value)


# -- cells ---------------------------------------------------------------------------------
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
        from lamina.random import dropout

        return dropout(torch.ones_like(like), rate, seed=self._seed_generator())

    def _seed_generator(self):
        generator = self.__dict__.get("_seed_gen")
        if generator is None:
            generator = self._create_seed_generator()
        return generator

    def _create_seed_generator(self):
        # NOTE: made in `__init__`, as Keras' cells do, so the cell's `variables` list its
        # `seed_generator_state` whether or not it drops anything.
        from lamina.random import SeedGenerator

        generator = self.__dict__["_seed_gen"] = SeedGenerator(self.seed)
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
        self._act = direct_activation(self.activation) or _identity
        if recurrent_activation is not None or self.gates > 1:
            self.recurrent_activation = activations.get(recurrent_activation)
            self._rec_act = direct_activation(self.recurrent_activation) or _identity
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
        self.dropout = _check_rate(dropout, "dropout", owner)
        self.recurrent_dropout = _check_rate(recurrent_dropout, "recurrent_dropout", owner)
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
        from lamina.backend import config

        count = len(tree.flatten(self.state_size))
        return [torch.zeros((batch_size, self.units), dtype=self.dtype_policy.compute_torch_dtype,
                            device=config.get_device()) for _ in range(count)]

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


def _identity(x):
    return x


def _first_state(states):
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
            _check_cell(cell, "StackedRNNCells")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [list(_cell_initial_state(cell, batch_size)) for cell in self.cells]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            build_sublayer(cell, shape)
            shape = (shape[0], _output_size(cell))
        self.__dict__["_training_flags"] = [_takes_training(c) for c in self.cells]
        self.built = True

    def call(self, inputs, states, training=False):
        flags = self.__dict__.get("_training_flags") or [_takes_training(c) for c in self.cells]
        new_states = []
        for cell, cell_states, takes_training in zip(self.cells, states, flags):
            if takes_training:
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


def _check_cell(cell, owner):
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


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is None:
        size = tree.flatten(cell.state_size)[0]
    return size


def _cell_initial_state(cell, batch_size):
    """The cell's own initial states as a list (zeros when it defines none)."""
    if hasattr(cell, "get_initial_state"):
        states = cell.get_initial_state(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]
    from lamina.backend import config

    return [torch.zeros((batch_size, s), device=config.get_device())
            for s in tree.flatten(cell.state_size)]


# -- the RNN layer -------------------------------------------------------------------------
class RNN(Layer):
    """Runs a recurrent cell over the time axis of `(batch, timesteps, features)` inputs.

    Args:
        cell: a cell (`call(inputs, states)` -> `(output, new_states)`, `state_size`,
            optional `output_size` and `get_initial_state(batch_size)`), or a list of
            cells (stacked with `StackedRNNCells`).
        return_sequences: return the output of every step `(batch, timesteps, units)`
            instead of the last one.
        return_state: also return the final states (after the output).
        go_backwards: process the sequence in reverse (the returned sequence is in the
            order processed).
        stateful: the final states of a batch are the initial states of the next
            (fixed batch size; `reset_states()` zeroes them).
        unroll: accepted for Keras compatibility; always runs the per-step loop.
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call arguments: `sequences`, `initial_state` (list of tensors), `mask` (boolean
    `(batch, timesteps)`; a masked step keeps the previous output and states),
    `training`.

    >>> import torch
    >>> from lamina.layers.rnn import GRUCell
    >>> layer = RNN(GRUCell(4), return_sequences=True, return_state=True)
    >>> out, h = layer(torch.ones(2, 5, 3))
    >>> tuple(out.shape), tuple(h.shape)
    ((2, 5, 4), (2, 4))
    """

    _casts_integer_inputs = True  # int/bool inputs compute in float, as in Keras

    _fused_kind = None  # set by the built-in layers that have a fused torch kernel
    _exact_rank = False

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell, type(self).__name__)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.__dict__["_states"] = None

    # -- structure of the states -----------------------------------------------------------
    def _state_sizes(self):
        return tree.flatten(self.cell.state_size)

    def _state_template(self):
        """The nesting the cell expects its states in: a flat list, or (stacked cells)
        one list per cell."""
        if isinstance(self.cell, StackedRNNCells):
            return [[0] * len(tree.flatten(s)) for s in self.cell.state_size]
        return [0] * len(self._state_sizes())

    def _check_rank(self, shape):
        if any(isinstance(dim, (list, tuple)) for dim in shape):
            # NOTE: Keras 3's RNN does not take nested sequences either (it fails while
            # building the cell); say so here instead.
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) takes one sequence tensor of "
                "shape (batch, timesteps, features), not a nested structure of sequences; "
                f"received shapes {tuple(tuple(s) for s in shape)}. Concatenate the "
                "features into one tensor, or loop over the timesteps calling the cell."
            )
        rank = len(shape)
        if rank != 3 if self._exact_rank else rank < 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of shape "
                f"(batch, timesteps, features), i.e. rank 3, but received an input of shape "
                f"{tuple(shape)} (rank {rank}). For a single sequence add a batch axis "
                "(`x[None]`); for a single step add a time axis (`x[:, None]`)."
            )

    # -- build -----------------------------------------------------------------------------
    def build(self, sequences_shape):
        self._check_rank(sequences_shape)
        step_shape = (sequences_shape[0], *tuple(sequences_shape)[2:])
        build_sublayer(self.cell, step_shape)
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) is stateful, so it needs a "
                    "static batch size to hold its states. Found a dynamic batch size: "
                    f"sequences shape {tuple(sequences_shape)}. Pass `batch_size` to "
                    "`Input(...)` (or `batch_input_shape`)."
                )
            self.__dict__["_states"] = [s.detach() for s in self.get_initial_state(batch)]
        self.__dict__["_cell_takes_training"] = _takes_training(self.cell)
        self.__dict__["_template"] = self._state_template()
        self.__dict__["_flat_template"] = not isinstance(self.cell, StackedRNNCells)
        self.built = True

    def get_initial_state(self, batch_size):
        """The states a sequence starts from when no `initial_state` is given."""
        return _cell_initial_state(self.cell, batch_size) if not isinstance(
            self.cell, StackedRNNCells) else tree.flatten(self.cell.get_initial_state(batch_size))

    # -- stateful --------------------------------------------------------------------------
    @property
    def states(self):
        """The carried states of a stateful layer (None otherwise)."""
        return self.__dict__["_states"]

    def reset_states(self):
        """Zero the carried states of a stateful layer."""
        states = self.__dict__["_states"]
        if states is not None:
            self.__dict__["_states"] = [torch.zeros_like(s) for s in states]

    reset_state = reset_states

    # -- call ------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        if mask is not None:
            mask = self._standardize_mask(mask, sequences)
        states = self._standardize_initial_state(initial_state, sequences)
        cell = self.cell
        for c in cell.cells if isinstance(cell, StackedRNNCells) else (cell,):
            if isinstance(c, DropoutRNNCell):
                c.reset_dropout_mask()
                c.reset_recurrent_dropout_mask()

        result = None
        if self._fused_kind is not None:
            from lamina.layers.rnn import fused

            result = fused.run(self, sequences, states, mask, training)
        if result is None:
            result = self._loop(sequences, states, mask, training)
        last, outputs, states = result

        if self.stateful and not is_fake(sequences):
            self.__dict__["_states"] = [s.detach() for s in states]
        if self.return_sequences:
            if self.zero_output_for_mask and mask is not None:
                step_mask = mask.flip(1) if self.go_backwards else mask
                outputs = outputs * step_mask.unsqueeze(-1).to(outputs.dtype)
            output = outputs
        else:
            output = last
        if self.return_state:
            return (output, *tree.pack_sequence_as(self._template, states))
        return output

    def _standardize_mask(self, mask, sequences):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not isinstance(mask, torch.Tensor):
            mask = torch.as_tensor(np.asarray(mask), device=sequences.device)
        expected = tuple(sequences.shape[:2])
        if tuple(mask.shape) != expected:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects a mask of shape "
                f"(batch, timesteps) = {expected} for its input of shape "
                f"{tuple(sequences.shape)}, but received a mask of shape {tuple(mask.shape)}."
            )
        return mask if mask.dtype is torch.bool else mask.bool()

    def _standardize_initial_state(self, initial_state, sequences):
        batch = sequences.shape[0]
        sizes = self._state_sizes()
        if initial_state is None:
            carried = self.__dict__["_states"]
            if carried is not None:
                if carried[0].shape[0] != batch:
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) is stateful with batch "
                        f"size {carried[0].shape[0]}, but received a batch of {batch}. "
                        "Stateful layers need the same batch size on every call."
                    )
                return list(carried)
            own = getattr(type(self.cell), "get_initial_state", None)
            if own is None or own is RecurrentCell.get_initial_state:
                return [sequences.new_zeros((batch, s)) for s in sizes]
            states = self.get_initial_state(batch)
            return [s.to(device=sequences.device, dtype=sequences.dtype)
                    if isinstance(s, torch.Tensor) and s.is_floating_point() else s
                    for s in states]
        flat = tree.flatten(initial_state)
        if len(flat) != len(sizes):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {len(sizes)} initial "
                f"state tensor(s) (state sizes {sizes}), but `initial_state` holds "
                f"{len(flat)}."
            )
        states = []
        for index, (state, size) in enumerate(zip(flat, sizes)):
            if not isinstance(state, torch.Tensor):
                state = torch.as_tensor(np.asarray(state), device=sequences.device)
            if state.is_floating_point() and state.dtype != sequences.dtype:
                state = state.to(sequences.dtype)
            if tuple(state.shape) != (batch, size):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): initial_state[{index}] "
                    f"should have shape (batch, {size}) = ({batch}, {size}), but received "
                    f"shape {tuple(state.shape)}."
                )
            states.append(state)
        return states

    def _loop(self, sequences, states, mask, training):
        """The per-step loop: any cell, any mask. Returns (last, outputs, states)."""
        steps_count = sequences.shape[1]
        if is_fake(sequences) and steps_count > 1:
            # NOTE: a symbolic run only needs shapes and dtypes, and one step gives them;
            # looping over the stand-in length costs a fake dispatch per op per step.
            last, outputs, states = self._loop(
                sequences[:, :1], states, None if mask is None else mask[:, :1], training)
            if outputs is not None:
                outputs = outputs.expand(-1, steps_count, *outputs.shape[2:])
            return last, outputs, states
        cell_call = self.cell.call
        kwargs = {"training": training} if self.__dict__.get("_cell_takes_training") else {}
        template, flat_template = self._template, self._flat_template
        steps = sequences.unbind(1)
        masks = mask.unbind(1) if mask is not None else None
        if self.go_backwards:
            steps = steps[::-1]
            masks = masks[::-1] if masks is not None else None
        outputs = []
        output = None
        for t, step in enumerate(steps):
            packed = list(states) if flat_template else tree.pack_sequence_as(template, states)
            new_output, new_states = cell_call(step, packed, **kwargs)
            new_states = tree.flatten(new_states)
            if masks is not None:
                keep = masks[t]
                previous = output if output is not None else torch.zeros_like(new_output)
                new_output = torch.where(_expand(keep, new_output), new_output, previous)
                new_states = [torch.where(_expand(keep, n), n, o)
                              for n, o in zip(new_states, states)]
            output, states = new_output, new_states
            if self.return_sequences:
                outputs.append(output)
        if output is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) received a sequence with 0 "
                f"timesteps (input shape {tuple(sequences.shape)}); it needs at least one."
            )
        return output, torch.stack(outputs, 1) if self.return_sequences else None, states

    # -- shapes, masks, config ---------------------------------------------------------------
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        size = _output_size(self.cell)
        output = (batch, steps, size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return output
        states = [(batch, s) for s in self._state_sizes()]
        return (output, *tree.pack_sequence_as(self._state_template(), states))

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_sizes())
        return output_mask

    def _rnn_config(self):
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self):
        config = super().get_config()
        config.update(self._rnn_config())
        config["cell"] = serialization.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("cell"), dict):
            config["cell"] = deserialize_layer(config["cell"])
        return super().from_config(config)


def _expand(mask, like):
    return mask.view(mask.shape[0], *([1] * (like.ndim - 1)))


def _cell_property(name):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's `{name}`.")


class BuiltinRNN(RNN):
    """Shared plumbing of SimpleRNN/LSTM/GRU: the cell is built from the layer's own
    arguments, the config is flat (Keras' schema), and the cell's settings read as
    layer attributes."""

    _cell_class = None
    _exact_rank = True
    _config_has_seed = True

    def __init__(self, cell_kwargs, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"{type(self).__name__}: argument `use_cudnn` must be 'auto', True or False. "
                f"Received: use_cudnn={use_cudnn!r}"
            )
        cell = self._cell_class(
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name=naming.to_snake_case(self._cell_class.__name__),
            **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.use_cudnn = use_cudnn

    units = _cell_property("units")
    activation = _cell_property("activation")
    use_bias = _cell_property("use_bias")
    kernel_initializer = _cell_property("kernel_initializer")
    recurrent_initializer = _cell_property("recurrent_initializer")
    bias_initializer = _cell_property("bias_initializer")
    kernel_regularizer = _cell_property("kernel_regularizer")
    recurrent_regularizer = _cell_property("recurrent_regularizer")
    bias_regularizer = _cell_property("bias_regularizer")
    kernel_constraint = _cell_property("kernel_constraint")
    recurrent_constraint = _cell_property("recurrent_constraint")
    bias_constraint = _cell_property("bias_constraint")
    dropout = _cell_property("dropout")
    recurrent_dropout = _cell_property("recurrent_dropout")

    def get_config(self):
        config = Layer.get_config(self)
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        if not self._config_has_seed:
            cell_config.pop("seed", None)
        config.update(cell_config)
        config.update(self._rnn_config())
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config


__all__ = ["RNN", "StackedRNNCells"]
