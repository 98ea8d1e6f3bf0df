"""`Sequential`: a plain stack of layers, each with one input and one output."""

import numpy as np
import torch

from lamina import dtype_policies
from lamina.backend.dtypes import STRING, to_torch_dtype
from lamina.backend.symbolic import KerasTensor
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer, module_calls_skippable, runs_forward_only
from lamina.layers.tracking import TrackedList
from lamina.models.functional import adjust_input_rank
from lamina.models.model import Model
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


class Sequential(Model):
    """A linear stack of layers.

    Once the input shape is known (an `Input` first, an `input_shape=` argument on the
    first layer, or the first call), it is also a functional model: `inputs`, `outputs`
    and every layer's `output` are defined.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    >>> model.output_shape
    (None, 2)
    """

    _bookkeeping = frozenset({"_layers_tuple", "_inputs", "_outputs"})

    def __init__(self, layers=None, trainable=True, name=None):
        Model.__init__(self, trainable=trainable, name=name)
        # NOTE: the InputLayer is kept out of the tracked `layers` submodule, so torch's
        # `layers.<i>` paths (`state_dict`, `get_submodule`) index Keras' `model.layers`.
        # It holds no state; `_input_tensor` (its output) remembers it.
        self._modules["layers"] = TrackedList()
        self._input_tensor = None
        self._inputs = self._outputs = None
        self._layers_tuple = ()
        self._input_torch_dtype = self._input_rank = None  # set once the graph is built
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    @property
    def _stack(self):
        """Every layer in order, the InputLayer (if any) first: what the config lists."""
        layers = list(self._modules["layers"])
        if self._input_tensor is not None:
            layers.insert(0, self._input_tensor._keras_history.operation)
        return layers

    def add(self, layer, rebuild=True):
        """Append a layer (or an `Input`) to the stack."""
        if isinstance(layer, KerasTensor):
            history = layer._keras_history
            if history is None or not isinstance(history.operation, InputLayer):
                raise ValueError(
                    "Only `lamina.Input` tensors can be added to a Sequential model. "
                    f"Received: {layer}"
                )
            layer = history.operation
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `lamina.Layer` can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer) and self._input_tensor is not None:
            raise ValueError(
                f"Sequential model '{self.name}' already has an input layer; an InputLayer "
                "can only be the first layer."
            )
        if isinstance(layer, InputLayer) and self._modules["layers"]:
            raise ValueError("An InputLayer can only be added as the first layer.")
        names = [l.name for l in self._stack]
        if layer.name in names:
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. Name "
                f"'{layer.name}' is already the name of a layer in this model. Update the "
                "`name` argument to pass a unique name."
            )
        if isinstance(layer, InputLayer):
            self._input_tensor = layer.output
        else:
            self._modules["layers"].append(layer)
            self._layers_tuple = tuple(self._modules["layers"])
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        layers = self.layers
        if not layers:
            raise TypeError("There are no layers in the model.")
        layer = layers[-1]
        self._modules["layers"].remove(layer)
        self._layers_tuple = tuple(self._modules["layers"])
        self.built = False
        self._inputs = self._outputs = None
        self._input_torch_dtype = self._input_rank = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        if self._input_tensor is not None:
            input_layer = self._input_tensor._keras_history.operation
            self.build(input_layer.batch_shape, _dtype=input_layer.dtype)
        elif self._layers_tuple and self._layers_tuple[0]._batch_input_shape is not None:
            self.build(self._layers_tuple[0]._batch_input_shape)
        elif len(self._layers_tuple) > 1 and _known_input_shape(self._layers_tuple[0]):
            self.build(_known_input_shape(self._layers_tuple[0]))

    def build(self, input_shape=None, _dtype=None):
        if input_shape is None:
            raise ValueError("Sequential.build needs an input shape, e.g. build((None, 8)).")
        input_shape = tuple(input_shape)
        if self._input_tensor is None:
            # NOTE: as in Keras, an implicit input takes the first layer's compute dtype.
            first = self._layers_tuple[0] if self._layers_tuple else self
            self._input_tensor = InputLayer(batch_shape=input_shape,
                                            dtype=_dtype or first.compute_dtype).output
        inputs = self._input_tensor
        x = inputs
        for layer in self._layers_tuple:
            x = layer(x)
        self._inputs, self._outputs = inputs, x
        # NOTE: a string input has no torch dtype; its numpy arrays go straight through.
        self._input_torch_dtype = (None if inputs.dtype == STRING
                                   else to_torch_dtype(inputs.dtype))
        self._input_rank = len(inputs.shape)
        self.built = True
        self._build_shapes = {"input_shape": inputs.shape}

    def forward(self, inputs, *args, **kwargs):
        if self.built and not kwargs and not args:
            x = inputs
            if (x.__class__ is torch.Tensor and x.dtype is self._input_torch_dtype
                    and x.ndim == self._input_rank):
                direct = module_calls_skippable()
                for layer in self._layers_tuple:
                    x = layer.forward(x) if direct and runs_forward_only(layer) else layer(x)
                return x
        return self._full_call((inputs, *args), kwargs)

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if self._inputs is not None and isinstance(x, torch.Tensor):
            x = self._standardize_input(x)
        if mask is not None and isinstance(x, torch.Tensor):
            x._keras_mask = mask
        for layer in self._layers_tuple:
            x = layer(x)
        return x

    def _standardize_input(self, x):
        """`x` in the input's dtype, a missing or extra trailing axis of size 1 fixed, as
        Keras does for every model input."""
        if x.dtype is not self._input_torch_dtype:
            mask = getattr(x, "_keras_mask", None)
            x = x.to(self._input_torch_dtype)
            if mask is not None:
                x._keras_mask = mask
        expected = self._inputs.shape
        x = adjust_input_rank(x, expected)
        if x.ndim != len(expected):
            raise ValueError(
                f"Sequential model '{self.name}' expects inputs of shape {expected} "
                f"(rank {len(expected)}), but received shape {tuple(x.shape)}."
            )
        return x

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = args[0] if args else kwargs.get("inputs")
        if isinstance(first, (torch.Tensor, KerasTensor)):
            self.build(tuple(first.shape), _dtype=None)
        elif isinstance(first, np.ndarray) and first.dtype.kind in "USO" and (
                self._takes_strings):
            # Text reaches a text layer as numpy strings: the input records dtype "string",
            # as Keras' InputLayer does, so the saved model reads strings again.
            self.build(tuple(first.shape), _dtype=STRING)
        self.built = True

    @property
    def _takes_strings(self):
        """Text goes through unconverted when the first layer reads it."""
        return bool(self._layers_tuple) and self._layers_tuple[0]._takes_strings

    @property
    def inputs(self):
        self._require_graph("inputs")
        return [self._inputs]

    @property
    def outputs(self):
        self._require_graph("outputs")
        return [self._outputs]

    @property
    def input(self):
        self._require_graph("input")
        return self._inputs

    @property
    def output(self):
        self._require_graph("output")
        return self._outputs

    @property
    def input_shape(self):
        self._require_graph("input_shape")
        return self._inputs.shape

    @property
    def output_shape(self):
        self._require_graph("output_shape")
        return self._outputs.shape

    @property
    def input_names(self):
        return [self._inputs.name] if self._inputs is not None else []

    @property
    def output_names(self):
        layers = self.layers
        return [layers[-1].name] if layers else []

    def _require_graph(self, what):
        if self._inputs is None:
            raise AttributeError(
                f"Sequential model '{self.name}' has no defined {what} yet: it has not been "
                "built. Start it with `lamina.Input(shape)`, pass `input_shape` to its first "
                "layer, or call it on data."
            )

    def get_config(self):
        layers = [serialize_keras_object(layer) for layer in self._stack]
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": dtype_policies.serialize(self.dtype_policy), "layers": layers}
        if self._inputs is not None:
            config["build_input_shape"] = list(self._inputs.shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            layer = deserialize_keras_object(layer_config, custom_objects=custom_objects)
            model.add(layer, rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape"):
            model.build(config["build_input_shape"])
        return model


def _known_input_shape(layer):
    """The single input shape of a first layer that has one already (a built model), from
    which Keras builds the stack as soon as a second layer joins it; else None."""
    try:
        shape = layer.input_shape
    except AttributeError:
        return None
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return shape
    return None
