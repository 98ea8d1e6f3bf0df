"""Noise and activity-penalty layers: `SpatialDropout1D/2D/3D`, `GaussianDropout`,
`GaussianNoise`, `AlphaDropout`, `ActivityRegularization`.

The noise layers act only in training (`training=True`, or inside `fit`); in inference
they return their input unchanged.
"""

import math
import numbers

import torch

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.regularization.dropout import Dropout
from lamina.random import dropout
from lamina.random.seed_generator import SeedGenerator, torch_generator
from lamina.regularizers import L1L2

# SELU's constants (Klambauer et al., 2017): AlphaDropout drops to SELU's negative
# saturation value, -scale * alpha.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected a float value between "
            f"0 and 1. Received: {name}={value!r}"
        )
    if not 0 <= value <= 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float value between "
            f"0 and 1. Received: {name}={value}"
        )
    return value


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one keep/drop draw per (sample, channel)."""

    rank = None

    def __init__(self, rate, seed=None, name=None, dtype=None, data_format=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        if self.seed_generator is None:
            self.seed_generator = SeedGenerator(seed)
        self._channels_last = self.data_format == "channels_last"

    def _noise_shape(self, inputs):
        ones = (1,) * self.rank
        if self._channels_last:
            return (inputs.shape[0], *ones, inputs.shape[-1])
        return (inputs.shape[0], inputs.shape[1], *ones)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs),
                       seed=self.seed_generator)

    def get_config(self):
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature channels of `(batch, steps, channels)` inputs: each channel of
    each sample is zeroed with probability `rate` (kept ones are scaled by
    `1 / (1 - rate)`). Better than `Dropout` when adjacent steps are strongly correlated.

    Args:
        rate: float in [0, 1], the fraction of channels to drop.
        seed: integer seed for reproducible masks.

    >>> import torch
    >>> y = SpatialDropout1D(0.5, seed=1)(torch.ones(2, 4, 3), training=True)
    >>> bool(((y == y[:, :1]).all()))
    True
    """

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format="channels_last")

    def _noise_shape(self, inputs):
        return (inputs.shape[0], 1, inputs.shape[2])


class SpatialDropout2D(_SpatialDropout):
    """As `SpatialDropout1D` for images (`data_format` says where the channels are).

    >>> import torch
    >>> y = SpatialDropout2D(0.5, seed=1)(torch.ones(2, 3, 3, 4), training=True)
    >>> bool((y == y[:, :1, :1]).all())
    True
    """

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format=data_format)


class SpatialDropout3D(_SpatialDropout):
    """As `SpatialDropout1D` for volumes (`data_format` says where the channels are).

    >>> import torch
    >>> SpatialDropout3D(0.5)(torch.ones(1, 2, 2, 2, 3)).shape
    torch.Size([1, 2, 2, 2, 3])
    """

    rank = 3

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format=data_format)


class _Noise(Layer):
    """Shared bookkeeping: a seed generator, masking support, identity shape."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def _normal(self, inputs):
        generator = torch_generator(self.seed_generator, inputs.device)
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
        return torch.randn(inputs.shape, generator=generator, dtype=dtype,
                           device=inputs.device)

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianDropout(_Noise):
    """Multiplies its input by noise drawn from `N(1, rate / (1 - rate))` in training.

    Args:
        rate: float in [0, 1), the equivalent drop rate of `Dropout`.
        seed: integer seed for reproducible noise.

    >>> import torch
    >>> x = torch.ones(2, 3)
    >>> bool((GaussianDropout(0.5)(x) == x).all())
    True
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_fraction(rate, "rate")

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(
                f"Layer '{self.name}' (GaussianDropout): rate=1 gives noise of infinite "
                "variance; use a rate below 1."
            )
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (self._normal(inputs) * stddev + 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


class GaussianNoise(_Noise):
    """Adds noise drawn from `N(0, stddev)` to its input in training.

    Args:
        stddev: float in [0, 1], the standard deviation of the noise.
        seed: integer seed for reproducible noise.

    >>> import torch
    >>> y = GaussianNoise(0.1, seed=1)(torch.zeros(1000), training=True)
    >>> 0.08 < float(y.std()) < 0.12
    True
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _check_fraction(stddev, "stddev")

    def call(self, inputs, training=False):
        if not training or self.stddev <= 0:
            return inputs
        return inputs + self._normal(inputs) * self.stddev

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of SELU activations: dropped entries are
    set to SELU's negative saturation value, then an affine map restores the statistics.

    Args:
        rate: float in [0, 1), the fraction of entries to drop.
        noise_shape: shape of the keep/drop mask (None entries take the input's size).
        seed: integer seed for reproducible masks.

    >>> import torch
    >>> y = AlphaDropout(0.2, seed=1)(torch.zeros(4, 8), training=True)
    >>> len(torch.unique(y))
    2
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_fraction(rate, "rate")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        self._dropped = alpha_p
        if self.rate < 1:
            self._a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
            self._b = -self._a * alpha_p * self.rate

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(
                f"Layer '{self.name}' (AlphaDropout): rate=1 drops every entry and has no "
                "variance-preserving rescaling; use a rate below 1."
            )
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if d is None else d for d, n in zip(self.noise_shape, inputs.shape))
        generator = torch_generator(self.seed_generator, inputs.device)
        kept = torch.rand(shape, generator=generator, dtype=inputs.dtype,
                          device=inputs.device) >= self.rate
        out = torch.where(kept, inputs, self._dropped)
        return out * self._a + self._b

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, noise_shape=self.noise_shape)
        return config


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds `l1 * sum(|x|) + l2 * sum(x ** 2)`, divided
    by the batch size, to the layer's `losses`.

    Args:
        l1: non-negative float, the L1 factor.
        l2: non-negative float, the L2 factor.

    >>> import torch
    >>> layer = ActivityRegularization(l1=0.5)
    >>> _ = layer(torch.tensor([[1.0, -3.0], [2.0, 0.0]]))
    >>> float(layer.losses[0])
    1.5
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update(l1=self.l1, l2=self.l2)
        return config
