"""Intensity curves: `RandomPosterization`, `RandomInvert` and `Solarization` (random),
`AutoContrast` and `Equalization` (fixed by the image)."""

import torch

from lamina.layers.preprocessing.color_base import BaseColorLayer, rescale_values, uniform
from lamina.layers.preprocessing.image_base import _is_number
from lamina.random.seed_generator import torch_generator

_PIXELS = (0, 255)


class RandomPosterization(BaseColorLayer):
    """Keeps only the `b` highest bits of each 8-bit pixel value while training, `b` drawn
    per image; the identity in inference.

    Values are mapped from `value_range` to `[0, 255]`, truncated to integers, reduced to
    `b` bits and mapped back. The output is in the compute dtype.

    Args:
        factor: an integer `f` in `[1, 8]` (`b` in `[1, f)`, or `b = 1` when `f` is 1) or
            a pair `(lower, upper)`: `b` in `[lower, upper)`, or `b = lower` when equal.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible draws.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> RandomPosterization((1, 1))(torch.tensor([[[100.0, 130.0, 255.0]]]))
    tensor([[[  0., 128., 128.]]])
    """

    _FACTOR_BOUNDS = (1, 8)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        lower, upper = self.factor
        shape, device = (images.shape[0],), images.device
        if lower != upper:
            bits = torch.randint(int(lower), int(upper), shape, device=device,
                                 dtype=torch.uint8,
                                 generator=torch_generator(seed or self.generator, device))
        else:
            bits = torch.full(shape, int(lower), dtype=torch.uint8, device=device)
        return {"shift_factor": 8 - bits}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        dtype = self.dtype_policy.compute_torch_dtype
        shift = transformation["shift_factor"].to(torch.uint8).reshape(-1, 1, 1, 1)
        pixels = rescale_values(images.to(dtype), self.value_range, _PIXELS).to(torch.uint8)
        pixels = ((pixels >> shift) << shift).to(dtype)
        return rescale_values(pixels, _PIXELS, self.value_range)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomInvert(BaseColorLayer):
    """Inverts each image (`high - x`, `high` the top of `value_range`) with a random
    probability while training; the identity in inference.

    For each image a probability `p` is drawn from `factor`, and the image is inverted
    with probability `p`. The output is in the compute dtype.

    Args:
        factor: a float `f` in `[0, 1]` (`p` in `[0, f]`; 1.0 by default) or a pair
            `(lower, upper)`.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible draws.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.tensor([[[0.0, 55.0, 255.0]]])
    >>> RandomInvert(factor=(1.0, 1.0))(x)
    tensor([[[255., 200.,   0.]]])
    """

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        generator, shape, device = seed or self.generator, (images.shape[0],), images.device
        probability = uniform(generator, shape, *self.factor, device)
        threshold = uniform(generator, shape, 0.0, 1.0, device)
        return {"apply_inversion": threshold < probability}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = self._compute(images)
        invert = transformation["apply_inversion"].reshape(-1, 1, 1, 1)
        return torch.where(invert, self.value_range[1] - images, images)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class Solarization(BaseColorLayer):
    """Adds a random amount to each image and inverts the values above a random threshold
    while training (values in `[0, 255]` terms: `x + a`, clipped, becomes `255 - (x + a)`
    where it is at least `t`); the identity in inference.

    `a` and `t` are drawn per image from `[lower, upper * 255]` of their factors (Keras'
    scheme). The output is in the compute dtype, in training and inference.

    Args:
        addition_factor: a float `f` in `[0, 1]` (read as `(0, f)`, 0 by default) or a
            pair of them.
        threshold_factor: likewise, for the threshold.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible draws.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> Solarization()(torch.tensor([[[0.0, 100.0, 255.0]]]))  # threshold 0: invert all
    tensor([[[255., 155.,   0.]]])
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._seeded(seed)
        self.addition_factor = self._pair(addition_factor, "addition_factor")
        self.threshold_factor = self._pair(threshold_factor, "threshold_factor")

    def _pair(self, factor, arg):
        numbers = factor if isinstance(factor, (tuple, list)) else [factor]
        if not (len(numbers) in (1, 2) and all(_is_number(v) and 0 <= v <= 1
                                               for v in numbers)):
            raise ValueError(
                f"Solarization layer '{self.name}': `{arg}` should be a number (or a list of "
                f"two numbers) in the range [0, 1]. Received: {arg}={factor!r}")
        if isinstance(factor, (tuple, list)):
            lower, upper = sorted(factor)
            return lower, upper
        return 0, factor

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        generator, device = seed or self.generator, images.device
        shape, dtype = (images.shape[0], 1, 1, 1), self.dtype_policy.compute_torch_dtype
        additions = uniform(generator, shape, self.addition_factor[0],
                            self.addition_factor[1] * 255, device, dtype)
        thresholds = uniform(generator, shape, self.threshold_factor[0],
                             self.threshold_factor[1] * 255, device, dtype)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images, transformation, training=True):
        images = self._compute(images)
        if not training or transformation is None:
            return images
        images = rescale_values(images, self.value_range, _PIXELS)
        shifted = (images + transformation["additions"]).clamp_(*_PIXELS)
        solarized = torch.where(shifted < transformation["thresholds"], shifted,
                                255 - shifted)
        return rescale_values(solarized, _PIXELS, self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(addition_factor=self.addition_factor,
                      threshold_factor=self.threshold_factor)
        return config


class AutoContrast(BaseColorLayer):
    """Stretches each channel of each image to span `value_range`, in training and
    inference alike.

    The lowest value of a channel maps to `low`, the highest to `high`; a constant channel
    is left as it is. The output is in the compute dtype.

    NOTE: as in Keras, the minimum and maximum are taken over axes 1 and 2 of the batch,
    which are height and width only for `"channels_last"` images.

    Args:
        value_range: `(low, high)` of the input values, `(0, 255)` by default.

    >>> import torch
    >>> AutoContrast()(torch.tensor([[[50.0], [100.0], [150.0]]]))
    tensor([[[  0.0000],
             [127.5000],
             [255.0000]]])
    """

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)

    def transform_images(self, images, transformation=None, training=True):
        original = images
        images = rescale_values(self._compute(images), self.value_range, _PIXELS)
        low = images.amin((1, 2), keepdim=True)
        high = images.amax((1, 2), keepdim=True)
        scale = 255.0 / (high - low)
        stretched = (images * scale + (-low * scale)).clamp_(*_PIXELS)
        stretched = rescale_values(stretched, _PIXELS, self.value_range)
        return torch.where(torch.isnan(stretched), original.to(stretched.dtype), stretched)


class Equalization(BaseColorLayer):
    """Equalizes the histogram of each channel while training (spreads the values so
    that each level is about equally common); the identity in inference.

    As in Keras, one histogram of `bins` levels is taken per channel over the whole
    batch, and a channel with a single level is left alone. The output is in the compute
    dtype.

    Args:
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        bins: the number of histogram levels, 256 by default.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> Equalization()(torch.tensor([[[10.0], [20.0]], [[20.0], [30.0]]])).flatten()
    tensor([  0., 170., 170., 255.])
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f"Equalization layer '{self.name}': `bins` must be an integer "
                             f"of at least 2. Received: bins={bins!r}")
        self.bins = bins

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        images = _rescale_affine(self._compute(images), self.value_range, _PIXELS)
        bins, axis = self.bins, self._channel_axis
        equalized = torch.empty_like(images)
        # NOTE: one channel at a time, as Keras: a (1, 1, 1, 3) offset broadcast over the
        # whole batch ran about 3x slower than three passes over channel views.
        for index in range(images.shape[axis]):
            channel = images.select(axis, index)
            # NOTE: the same float32 steps as Keras, so values on a bin edge fall alike.
            levels = (channel.float() * (bins - 1) / torch.tensor(255.0)).to(torch.int32)
            hist = torch.bincount(levels.clamp_(0, bins - 1).reshape(-1), minlength=bins)
            cdf = hist.cumsum(0)
            # The first nonzero count, found without a host read.
            cdf_min = cdf[(cdf > 0).int().argmax()]
            denominator = cdf[-1] - cdf_min
            denominator = torch.where(denominator == 0, 1, denominator)
            lookup = (((cdf - cdf_min) * 255) / denominator).round_().clamp_(0, 255)
            positions = ((channel / 255.0) * (bins - 1)).clamp_(0, bins - 1).long()
            mapped = torch.take(lookup, positions).to(images.dtype)
            single_level = (hist != 0).sum() <= 1
            equalized.select(axis, index).copy_(torch.where(single_level, channel, mapped))
        return _rescale_affine(equalized, _PIXELS, self.value_range)

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else 3

    def get_config(self):
        config = super().get_config()
        config["bins"] = self.bins
        return config


def _rescale_affine(values, source, target):
    """`values * scale + offset` mapping `source` onto `target`: Equalization's form of
    `rescale_values` (Keras computes it so, exactly the identity for `(0, 255)`)."""
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return values * scale + (target[0] - source[0] * scale)
