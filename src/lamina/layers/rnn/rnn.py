"""`RNN`: run a recurrent cell along the time axis; `BuiltinRNN`: the shared plumbing of
SimpleRNN/LSTM/GRU.

`RNN` owns everything about time: masks, `go_backwards`, `stateful`, `initial_state`,
`return_sequences`/`return_state`; the cells (`cells.py`) compute one step. The built-in
LSTM/GRU/SimpleRNN layers also try torch's fused kernels first (`fused.py`).
"""

import numpy as np
import torch

from lamina import regularizers, tree
from lamina.backend import naming
from lamina.backend.symbolic import in_symbolic_run, is_fake
from lamina.layers.layer import Layer
from lamina.layers.rnn import fused
from lamina.layers.rnn.cells import (
    DropoutRNNCell,
    RecurrentCell,
    StackedRNNCells,
    cell_initial_state,
    cell_output_size,
    check_cell,
    deserialize_layer,
    takes_training,
)
from lamina.serialization import serialization


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
        check_cell(cell, type(self).__name__)
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
        self._build_child(self.cell, step_shape)
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
        self.__dict__["_cell_takes_training"] = takes_training(self.cell)
        self.__dict__["_template"] = self._state_template()
        self.__dict__["_flat_template"] = not isinstance(self.cell, StackedRNNCells)
        self.built = True

    def get_initial_state(self, batch_size):
        """The states a sequence starts from when no `initial_state` is given."""
        return cell_initial_state(self.cell, batch_size) if not isinstance(
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
        if in_symbolic_run() and steps_count > 1:
            # NOTE: a symbolic run only needs shapes and dtypes, and one step gives them;
            # looping over the stand-in length costs a fake dispatch per op per step. Not
            # `is_fake`: tracers such as non-strict `torch.export` run on fake tensors too,
            # and need every step in their graph.
            last, outputs, states = self._loop(
                sequences[:, :1], states, None if mask is None else mask[:, :1], training)
            if outputs is not None:
                outputs = outputs.expand(-1, steps_count, *outputs.shape[2:])
            return last, outputs, states
        # NOTE: the cell runs through `.call` once per time step, as StackedRNNCells runs its
        # cells (cells.py gives the measured cost of `__call__` there: 1.17-1.51x); torch
        # hooks on the cell fire only when it is called on its own.
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
        size = cell_output_size(self.cell)
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


def cell_property(name):
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

    units = cell_property("units")
    activation = cell_property("activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")

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


__all__ = ["RNN"]
