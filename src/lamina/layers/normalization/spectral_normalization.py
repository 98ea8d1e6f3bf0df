"""`SpectralNormalization`: keep a wrapped layer's kernel at spectral norm ~1."""

import numbers

import torch

from lamina import initializers
from lamina.layers.layer import Layer
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


def _l2_normalize(x):
    return x * torch.rsqrt(torch.clamp(torch.sum(x * x), min=1e-12))


class SpectralNormalization(Layer):
    """Wrap a layer with a `kernel` (or `embeddings`) weight; on each training call, divide
    that weight in place by its largest singular value, estimated with `power_iterations`
    steps of power iteration from the persistent non-trainable vector `vector_u`. Inference
    calls use the weight as it is (as Keras does).

    Args:
        layer: the layer to wrap (e.g. `Dense`, `Conv2D`, `Embedding`).
        power_iterations: positive int, iterations per training call.

    >>> import torch
    >>> from lamina.layers.core import Dense
    >>> layer = SpectralNormalization(Dense(3, name="d"), name="sn")
    >>> layer(torch.ones(2, 4), training=True).shape
    torch.Size([2, 3])
    >>> [w.path for w in layer.weights]
    ['sn/d/kernel', 'sn/vector_u', 'sn/d/bias']
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"SpectralNormalization '{self.name}' wraps a lamina Layer. "
                f"Received: layer={layer!r} of type {type(layer).__name__}")
        if isinstance(power_iterations, bool) or not isinstance(
                power_iterations, numbers.Integral) or power_iterations <= 0:
            raise ValueError(
                "`power_iterations` should be greater than zero. "
                f"Received: `power_iterations={power_iterations!r}`")
        self.layer = layer
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build_from_config({"input_shape": input_shape})
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(
                f"SpectralNormalization '{self.name}': the wrapped layer "
                f"{type(self.layer).__name__} '{self.layer.name}' has no attribute 'kernel' "
                "nor 'embeddings' to normalize.")
        self.kernel_shape = tuple(self.kernel.shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel_shape[-1]), name="vector_u", trainable=False,
            initializer=initializers.TruncatedNormal(stddev=0.02))
        self.built = True

    def call(self, inputs, training=False):
        if training:
            with torch.no_grad():
                self._normalize_kernel()
        return self.layer(inputs)

    def _normalize_kernel(self):
        weight = self.kernel.reshape(-1, self.kernel_shape[-1])
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = _l2_normalize(u @ weight.T)
            u = _l2_normalize(v @ weight)
        sigma = v @ weight @ u.T
        self.vector_u.copy_(u)
        self.kernel.copy_((weight / sigma).reshape(self.kernel_shape))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(layer=serialize_keras_object(self.layer),
                      power_iterations=self.power_iterations)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects)
        return super().from_config(config)
