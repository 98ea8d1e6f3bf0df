"""`Flatten`: collapse all non-batch axes into one."""

import math

import torch

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class Flatten(Layer):
    """Flattens each sample to a vector: `(batch, d1, d2, ...)` -> `(batch, d1 * d2 * ...)`.

    Args:
        data_format: `"channels_last"` or `"channels_first"` (default: the global image
            data format). With `"channels_first"`, the channel axis is moved last before
            flattening, so the order of the features matches a channels-last model.

    >>> import torch, lamina
    >>> Flatten()(torch.zeros(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)
        self._channels_first = self.data_format == "channels_first"
        self.built = True

    def call(self, inputs):
        if inputs.ndim < 2:
            return inputs.unsqueeze(-1)
        if self._channels_first and inputs.ndim > 2:
            inputs = inputs.movedim(1, -1)
        return torch.flatten(inputs, 1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
