"""`Bidirectional`: run a recurrent layer forwards and backwards and merge the results."""

import copy

import torch

from lamina import tree
from lamina.layers.layer import Layer
from lamina.layers.rnn.cells import deserialize_layer
from lamina.serialization import serialization

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _clone(layer, name, flip_direction):
    config = serialization.serialize_keras_object(layer)
    config = copy.deepcopy(config)
    config["config"]["name"] = name
    if flip_direction:
        config["config"]["go_backwards"] = not config["config"]["go_backwards"]
    return deserialize_layer(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence in both directions and merges the two.

    The forward layer is a fresh copy of `layer` (named `forward_<name>`); the backward
    one is `backward_layer` or a copy of `layer` with `go_backwards` flipped. Weights list
    the forward layer's then the backward layer's (Keras' order). With
    `return_sequences`, the backward outputs are flipped back into time order before
    merging.

    Args:
        layer: a recurrent layer (`RNN`, `LSTM`, `GRU`, ...).
        merge_mode: `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or None (return the
            two outputs as a list).
        weights: optional initial weights (forward then backward).
        backward_layer: optional recurrent layer for the backward direction.

    Call arguments: `sequences`, `initial_state` (forward states then backward
    states), `mask`, `training`.

    >>> import torch
    >>> from lamina.layers.rnn import LSTM
    >>> layer = Bidirectional(LSTM(4, return_sequences=True))
    >>> tuple(layer(torch.ones(2, 5, 3)).shape)
    (2, 5, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        for what, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is None and what == "backward_layer":
                continue
            if not isinstance(value, Layer) or not hasattr(value, "go_backwards"):
                raise ValueError(
                    f"Bidirectional: argument `{what}` must be a recurrent layer instance "
                    f"(e.g. `LSTM(...)`, `GRU(...)`, `RNN(cell)`). Received: {what}={value!r}"
                )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional: invalid merge mode. Received: merge_mode={merge_mode!r}. "
                'Merge mode should be one of {"sum", "mul", "ave", "concat", None}.'
            )
        if weights is not None:
            kwargs["weights"] = weights
        super().__init__(**kwargs)
        self.forward_layer = _clone(layer, "forward_" + _strip(layer.name, "forward_"), False)
        if backward_layer is None:
            backward_layer = _clone(layer, "backward_" + _strip(layer.name, "backward_"), True)
        else:
            _check_pair(self.forward_layer, backward_layer)
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        for inner in (self.forward_layer, self.backward_layer):
            inner.zero_output_for_mask = self.return_sequences
        self.supports_masking = True

    def build(self, sequences_shape):
        self._build_child(self.forward_layer, sequences_shape)
        self._build_child(self.backward_layer, sequences_shape)
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"mask": mask}
        if training is not None:
            kwargs["training"] = training
        forward_state = backward_state = None
        if initial_state is not None:
            states = tree.flatten(initial_state)
            half = len(states) // 2
            if len(states) % 2:
                raise ValueError(
                    f"Layer '{self.name}' (Bidirectional) expects an even number of initial "
                    "states (the forward layer's, then the backward layer's), but received "
                    f"{len(states)}."
                )
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = (*tree.flatten(y[1:]), *tree.flatten(y_rev[1:]))
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        mode = self.merge_mode
        if mode == "concat":
            output = torch.cat((y, y_rev), dim=-1)
        elif mode == "sum":
            output = y + y_rev
        elif mode == "ave":
            output = (y + y_rev) / 2
        elif mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (*output, *states) if mode is None else (output, *states)
        return output

    @property
    def states(self):
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward is None and backward is None:
            return None
        return tuple(forward or ()) + tuple(backward or ())

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shapes = self.forward_layer.compute_output_shape(sequences_shape)
        if self.return_state:
            output, states = shapes[0], list(_state_shapes(shapes[1:]))
        else:
            output, states = shapes, []
        if self.merge_mode == "concat":
            output = (*tuple(output)[:-1], output[-1] * 2)
            outputs = [output]
        elif self.merge_mode is None:
            outputs = [tuple(output), tuple(output)]
        else:
            outputs = [tuple(output)]
        if self.return_state:
            return tuple(outputs + states + states)
        return outputs[0] if self.merge_mode is not None else outputs

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(tree.flatten(self.forward_layer.cell.state_size))
            return masks + [None] * (2 * count)
        return masks if self.merge_mode is None else output_mask

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialization.serialize_keras_object(self.forward_layer)
        config["backward_layer"] = serialization.serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return super().from_config(config)


def _state_shapes(nested):
    """Flatten nested state shapes (tuples of ints) into a list of shapes."""
    for item in nested:
        if isinstance(item, (list, tuple)) and item and isinstance(item[0], (list, tuple)):
            yield from _state_shapes(item)
        else:
            yield tuple(item)


def _check_pair(forward, backward):
    if forward.go_backwards == backward.go_backwards:
        raise ValueError(
            "Bidirectional: the forward and backward layers should have different "
            f"`go_backwards` values. Received: forward go_backwards={forward.go_backwards}, "
            f"backward go_backwards={backward.go_backwards}."
        )
    for attr in ("return_sequences", "return_state", "stateful"):
        if getattr(forward, attr) != getattr(backward, attr):
            raise ValueError(
                f"Bidirectional: the forward and backward layers should have the same "
                f"`{attr}`. Received: forward {attr}={getattr(forward, attr)}, backward "
                f"{attr}={getattr(backward, attr)}."
            )
