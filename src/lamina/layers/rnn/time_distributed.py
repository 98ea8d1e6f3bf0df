"""`TimeDistributed`: apply a layer to every time step of a sequence."""

import inspect

import torch

from lamina import tree
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.rnn.cells import deserialize_layer
from lamina.serialization import serialization


class TimeDistributed(Layer):
    """Applies `layer` to each slice `inputs[:, t]` of a `(batch, timesteps, ...)` input.

    The time axis is folded into the batch axis (`(batch * timesteps, ...)`), so the
    wrapped layer runs once, with one set of weights shared by all steps. In training, a
    layer with state of its own (BatchNormalization's moving statistics) runs once per
    step instead, as in Keras: its batch statistics and updates are per step.

    Args:
        layer: a `Layer` instance.

    >>> import torch
    >>> from lamina.layers.core import Dense
    >>> layer = TimeDistributed(Dense(8))
    >>> tuple(layer(torch.ones(2, 10, 3)).shape)
    (2, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                f"instance. Received: layer={layer!r}"
            )
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True
        params = inspect.signature(type(layer).call).parameters
        self.__dict__["_inner_args"] = ("training" in params, "mask" in params)

    def _check_rank(self, shape):
        if len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs of shape (batch, "
                "timesteps, ...) with at least 3 dimensions, but received an input of shape "
                f"{tuple(shape)}."
            )

    def build(self, input_shape):
        self._check_rank(input_shape)
        self._build_child(self.layer, (input_shape[0], *tuple(input_shape)[2:]))
        self.input_spec = InputSpec(min_ndim=3)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        self._check_rank(inputs.shape)
        batch, steps = inputs.shape[0], inputs.shape[1]
        takes_training, takes_mask = self.__dict__["_inner_args"]
        kwargs = {}
        if takes_training and training is not None:
            kwargs["training"] = training
        if takes_mask and mask is not None:
            kwargs["mask"] = mask.flatten(0, 1)
        if training and self.layer.trainable and self.layer.non_trainable_weights:
            # NOTE: folding time into the batch would pool the batch statistics of all
            # steps into one and update the state once; Keras loops over the steps.
            outputs = []
            for t in range(steps):
                if takes_mask and mask is not None:
                    kwargs["mask"] = mask[:, t]
                outputs.append(self.layer(inputs[:, t], **kwargs))
            return tree.map_structure(lambda *ys: torch.stack(ys, dim=1), *outputs)
        outputs = self.layer(inputs.flatten(0, 1), **kwargs)
        return tree.map_structure(lambda y: y.unflatten(0, (batch, steps)), outputs)

    def compute_output_shape(self, input_shape):
        folded = None if input_shape[0] is None or input_shape[1] is None else (
            input_shape[0] * input_shape[1])
        inner = self.layer.compute_output_shape((folded, *tuple(input_shape)[2:]))
        return (input_shape[0], input_shape[1], *tuple(inner)[1:])

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialization.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        return super().from_config(config)
