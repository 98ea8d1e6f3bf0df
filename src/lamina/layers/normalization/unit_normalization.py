"""`UnitNormalization`: scale each sample to unit L2 norm over `axis`."""

import torch

from lamina.layers.layer import Layer
from lamina.layers.normalization.layer_normalization import standardize_axes


class UnitNormalization(Layer):
    """`x / sqrt(max(sum(x**2, axis), 1e-12))`: unit L2 norm over `axis` (int or list).

    >>> import torch
    >>> UnitNormalization()(torch.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        try:
            self.axis = standardize_axes(axis, self)
        except TypeError:
            raise TypeError(
                "Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                f"Received: axis={axis!r}") from None
        self._dims = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        square_sum = torch.sum(inputs * inputs, dim=self._dims, keepdim=True)
        return inputs * torch.rsqrt(torch.clamp(square_sum, min=1e-12))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis)
        return config
