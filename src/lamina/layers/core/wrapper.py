"""`Wrapper`: the base of layers that wrap another layer (`TimeDistributed`, `Bidirectional`)."""

from lamina.layers.layer import Layer
from lamina.serialization import serialization


class Wrapper(Layer):
    """Abstract base of a layer that holds and augments another layer (`self.layer`).

    Args:
        layer: the wrapped `Layer`.

    >>> import lamina
    >>> class Twice(Wrapper):
    ...     def call(self, x):
    ...         return 2 * self.layer(x)
    >>> Twice(lamina.layers.Identity())(lamina.ops.ones((1, 2))).tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Layer {layer} supplied to Wrapper isn't a supported layer type. Please "
                "ensure wrapped layer is a valid Keras layer."
            )
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialization.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = serialization.deserialize_keras_object(config.pop("layer"),
                                                       custom_objects=custom_objects)
        return cls(layer, **config)


__all__ = ["Wrapper"]
