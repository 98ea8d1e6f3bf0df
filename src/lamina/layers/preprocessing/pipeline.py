"""`Pipeline`: apply a sequence of preprocessing layers, one after another."""

from lamina.layers.layer import Layer, _call_signature
from lamina.serialization import serialization


class Pipeline(Layer):
    """Calls `layers` in order, each on the previous one's output (images, or a dict of
    images, labels and masks), passing the training flag on to those that take one.

    Unlike `Sequential`, it is a layer and not a model: it can run on data outside a
    model (in a `DataLoader` worker) and holds no graph.

    Args:
        layers: a list of layers.
        name: the layer's name.

    >>> import torch
    >>> from lamina.layers import RandomFlip, Rescaling
    >>> pipeline = Pipeline([Rescaling(1 / 255), RandomFlip(seed=0)])
    >>> x = torch.full((2, 4, 4, 3), 255.0)
    >>> torch.equal(pipeline(x), torch.ones(2, 4, 4, 3))
    True
    """

    def __init__(self, layers, name=None):
        if not isinstance(layers, (list, tuple)) or not all(
                isinstance(layer, Layer) for layer in layers):
            raise ValueError(f"Pipeline layer '{name}': `layers` should be a list of layers. "
                             f"Received: layers={layers!r}")
        super().__init__(name=name)
        self._pipeline_layers = list(layers)
        # Which inner layers take a training flag or a mask, found once.
        self.__dict__["_takes"] = [
            (_call_signature(type(layer)).has_training, _call_signature(type(layer)).has_mask)
            for layer in layers]

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=True, mask=None):
        outputs = inputs
        for layer, (takes_training, takes_mask) in zip(self._pipeline_layers,
                                                       self.__dict__["_takes"]):
            kwargs = {}
            if takes_mask:
                kwargs["mask"] = mask
            if takes_training and training is not None:
                kwargs["training"] = training
            outputs = layer(inputs, **kwargs)
            inputs = outputs
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def compute_output_shape(self, input_shape):
        # NOTE: Keras' Pipeline has none; asking each layer in turn runs no draws.
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        return {"layers": serialization.serialize_keras_object(self._pipeline_layers),
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "`Pipeline` config must contain a `layers` key mapping to a list of "
                f"serialized layers. Received config with layers={layers!r}.")
        config = {**config, "layers": [serialization.deserialize_keras_object(layer)
                                       for layer in layers]}
        return cls(**config)
