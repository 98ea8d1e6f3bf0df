"""Colour jitter: `RandomBrightness`, `RandomContrast`, `RandomSaturation`, `RandomHue`, and
`RandomColorJitter`, which chains them in that order."""

import torch

from lamina import ops
from lamina.backend.config import epsilon
from lamina.layers.preprocessing.color_base import BaseColorLayer, rescale_values, uniform


class RandomBrightness(BaseColorLayer):
    """Adds a random offset to every pixel of each image while training; the identity in
    inference.

    The offset is drawn uniformly from `factor`, as a fraction of the width of
    `value_range`, and the result is clipped to `value_range`. The output keeps the
    dtype of the input (Keras adds the offset in that dtype, so integer images stay
    integer).

    Args:
        factor: a float `f` in `[-1, 1]` (offsets in `[-|f|, |f|]`) or a pair
            `(lower, upper)`; -1 makes an image black, 1 white.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible offsets.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> layer = RandomBrightness((0.5, 0.5), value_range=(0, 1))
    >>> layer(torch.full((2, 2, 3), 0.25))[0, 0]
    tensor([0.7500, 0.7500, 0.7500])
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        low, high = self.value_range
        delta = uniform(seed or self.generator, (images.shape[0], 1, 1, 1), *self.factor,
                        images.device)
        return {"rgb_delta": delta * (high - low)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._clip(images + transformation["rgb_delta"].to(images.dtype))

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomContrast(BaseColorLayer):
    """Scales each channel of each image about its mean by a random factor while
    training; the identity in inference.

    Each pixel `x` of a channel becomes `(x - mean) * c + mean`, with `c` drawn per image
    from `[1 - lower, 1 + upper]`, then clipped to `value_range`. The output is in the
    compute dtype (float32 by default).

    Args:
        factor: a pair `(lower, upper)` in `[0, 1]`, or a float `f`, read as `(0, f)`
            as Keras reads it (so `c` in `[1, 1 + f]`).
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible factors.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.tensor([[[0.0], [1.0]]])
    >>> RandomContrast(1.0, value_range=(0, 1))(x, training=False).tolist()
    [[[0.0], [1.0]]]
    """

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        factor = uniform(seed or self.generator, (images.shape[0], 1, 1, 1),
                         1.0 - self.factor[0], 1.0 + self.factor[1], images.device,
                         self.dtype_policy.compute_torch_dtype)
        return {"contrast_factor": factor}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = self._compute(images)
        mean = images.mean(self._height_axis, keepdim=True).mean(self._width_axis,
                                                                   keepdim=True)
        factor = transformation["contrast_factor"].to(images.dtype)
        return self._clip((images - mean) * factor + mean)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class _HSVLayer(BaseColorLayer):
    """Shared by the layers that edit one HSV channel of RGB images."""

    def _edit_hsv(self, images, channel, edit):
        """`images` through HSV, with HSV channel `channel` replaced by `edit(channel)`."""
        hsv = ops.image.rgb_to_hsv(images, data_format=self.data_format)
        axis = 1 if self.data_format == "channels_first" else 3
        parts = list(hsv.unbind(axis))
        parts[channel] = edit(parts[channel])
        return ops.image.hsv_to_rgb(torch.stack(parts, axis), data_format=self.data_format)

    def _float(self, images):
        if images.shape[1 if self.data_format == "channels_first" else 3] != 3:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects RGB images (3 channels). "
                f"Received images of shape {tuple(images.shape)} ({self.data_format}).")
        return self._compute(images)


class RandomSaturation(_HSVLayer):
    """Scales the saturation of each RGB image by a random factor while training; the
    identity in inference.

    A draw `d` from `factor` scales the HSV saturation by `d / (1 - d)` (0 gives a
    grayscale image, values near 1 fully saturated colours); the saturation is then
    clipped to `value_range`, as in Keras. The output is in the compute dtype.

    Args:
        factor: a float `f` in `[-1, 1]` (draws in `[-|f|, |f|]`) or a pair
            `(lower, upper)`; e.g. `(0.5, 0.5)` leaves images unchanged.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible factors.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.tensor([[[0.2, 0.4, 0.6]]])
    >>> RandomSaturation((0.0, 0.0), value_range=(0, 1))(x)
    tensor([[[0.6000, 0.6000, 0.6000]]])
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        draws = uniform(seed or self.generator, (images.shape[0],), *self.factor,
                        images.device)
        return {"factor": draws / (1 - draws + epsilon())}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = self._float(images)
        factor = transformation["factor"].to(images.dtype)[:, None, None]
        low, high = self.value_range
        if low <= 0 <= high and images.dtype not in (torch.float16, torch.bfloat16):
            return self._scale_saturation(images, factor[..., None])
        return self._edit_hsv(images, 1, lambda s: self._clip(s * factor))

    def _scale_saturation(self, images, factor):
        """The HSV round trip's result, computed in RGB: with hue and value kept, each
        channel `c` of a pixel becomes `v - (v - c) * s_new / s` (`v` the pixel's maximum,
        `s` its saturation). Gray and non-positive pixels (saturation 0) stay at `v`,
        as they do through HSV when the clipped new saturation is 0, which `low <= 0`
        guarantees. A third of the passes over the image of the round trip."""
        axis = 1 if self.data_format == "channels_first" else 3
        if axis == 1:
            factor = factor.reshape(-1, 1, 1, 1)
        value = images.amax(axis, keepdim=True)
        saturation = (value - images.amin(axis, keepdim=True)).div_(
            torch.where(value > 0, value, 1.0)).mul_(value > 0)
        scale = self._clip(saturation * factor).div_(
            torch.where(saturation > 0, saturation, 1.0))
        return value - (value - images).mul_(scale)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomHue(_HSVLayer):
    """Shifts the hue of each RGB image by a random amount while training; the identity
    in inference.

    Each image's hue turns by a draw from `factor` times half a turn, in a random
    direction. The output is in the compute dtype.

    Args:
        factor: a float `f` in `[0, 1]` (shifts of up to `f / 2` turns either way) or a
            pair `(lower, upper)`.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible shifts.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.tensor([[[0.5, 0.5, 0.5]]])
    >>> torch.allclose(RandomHue(0.5, value_range=(0, 1))(x), x)  # gray has no hue
    True
    """

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        generator, shape, device = seed or self.generator, (images.shape[0],), images.device
        direction = torch.where(uniform(generator, shape, 0.0, 1.0, device) > 0.5, -1.0, 1.0)
        amount = uniform(generator, shape, *self.factor, device)
        return {"factor": direction * amount * 0.5}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = rescale_values(self._float(images), self.value_range, (0, 1))
        shift = transformation["factor"].to(images.dtype)[:, None, None]
        images = self._turn_hue(images, shift).clamp_(0, 1)
        return self._compute(rescale_values(images, (0, 1), self.value_range, in_place=True))

    def _turn_hue(self, images, shift):
        """`hsv_to_rgb(rgb_to_hsv(images))` with the hue turned by `shift`, in one pass of
        each: the saturation is never formed (`value * saturation` is the pixel's range
        `delta`), and no HSV image is stacked and split again."""
        axis = 1 if self.data_format == "channels_first" else 3
        dtype = images.dtype
        if dtype in (torch.float16, torch.bfloat16):
            images = images.float()  # hue arithmetic needs float32's mantissa
        r, g, b = images.unbind(axis)
        value = images.amax(axis)
        delta = value - images.amin(axis)
        safe = torch.where(delta > 0, delta, 1.0)
        hue = torch.where(value == r, (g - b).div_(safe), torch.where(
            value == g, (b - r).div_(safe).add_(2.0), (r - g).div_(safe).add_(4.0)))
        hue = torch.where(delta > 0, hue.div_(6.0).remainder_(1.0), 0.0).add_(shift)
        hue = torch.where(hue > 1.0, hue - 1.0, hue)
        hue = torch.where(hue < 0.0, hue + 1.0, hue)
        offsets = torch.tensor([5.0, 3.0, 1.0], dtype=images.dtype, device=images.device)
        if axis == 1:
            offsets = offsets[:, None, None]
        # channel = value - delta * clamp(min(k, 4 - k), 0, 1), k = (offset + 6 hue) mod 6,
        # rewritten with 1 - clamp(min(k, 4 - k), 0, 1) = clamp(|k - 2| - 1, 0, 1) and
        # value - delta = minimum, to run in place on one full-size tensor
        k = (offsets + hue.mul_(6.0).unsqueeze(axis)).remainder_(6.0)
        k = k.sub_(2.0).abs_().sub_(1.0).clamp_(0, 1).mul_(delta.unsqueeze(axis))
        return k.add_((value - delta).unsqueeze(axis)).to(dtype)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomColorJitter(BaseColorLayer):
    """Random brightness, contrast, saturation and hue changes, in that order, while
    training; the identity in inference.

    Each factor given (not None) adds that change, with the semantics of
    `RandomBrightness`, `RandomContrast`, `RandomSaturation` and `RandomHue`; all draw
    from this layer's seed. The output is in the compute dtype.

    Args:
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the `factor`
            of each change, or None (the default) to skip it.
        seed: integer seed for reproducible changes.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> layer = RandomColorJitter(value_range=(0, 1), brightness_factor=(0.5, 0.5))
    >>> layer(torch.full((1, 1, 3), 0.25)).tolist()
    [[[0.75, 0.75, 0.75]]]
    """

    _SORTS_VALUE_RANGE = False

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self._seeded(seed)
        # NOTE: the sublayers hold their own (unused) seed generators as in Keras, so a
        # `.keras` file lists the same variables; every draw uses this layer's generator.
        common = {"value_range": value_range, "seed": seed, "data_format": data_format}
        self.random_brightness = None if brightness_factor is None else RandomBrightness(
            brightness_factor, **common)
        self.random_contrast = None if contrast_factor is None else RandomContrast(
            contrast_factor, **common)
        self.random_saturation = None if saturation_factor is None else RandomSaturation(
            saturation_factor, **common)
        self.random_hue = None if hue_factor is None else RandomHue(hue_factor, **common)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        images = self._compute(images)
        for layer in (self.random_brightness, self.random_contrast, self.random_saturation,
                      self.random_hue):
            if layer is not None:
                step = layer.get_random_transformation(images, seed=self.generator)
                images = layer.transform_images(images, step)
        return self._compute(images)

    def get_config(self):
        config = super().get_config()
        config.update(brightness_factor=self.brightness_factor,
                      contrast_factor=self.contrast_factor,
                      saturation_factor=self.saturation_factor, hue_factor=self.hue_factor)
        return config
