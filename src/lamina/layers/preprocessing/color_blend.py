"""Blends toward a degenerate image: `RandomGrayscale` (all or nothing), and
`RandomColorDegeneration` and `RandomSharpness` (by a random amount)."""

import torch
import torch.nn.functional as F

from lamina import ops
from lamina.layers.preprocessing.color_base import BaseColorLayer, uniform
from lamina.layers.preprocessing.image_base import _is_number


class RandomGrayscale(BaseColorLayer):
    """Turns each image to grayscale with probability `factor` while training (keeping 3
    channels, all equal to the luma); the identity in inference.

    The output keeps the dtype of the input.

    Args:
        factor: the probability in `[0, 1]`, 0.5 by default.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        seed: integer seed for reproducible choices.

    >>> import torch
    >>> RandomGrayscale(1.0)(torch.tensor([[[1.0, 0.0, 0.0]]]))
    tensor([[[0.2989, 0.2989, 0.2989]]])
    """

    _HAS_VALUE_RANGE = False

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not (_is_number(factor) and 0 <= factor <= 1):
            raise ValueError(f"RandomGrayscale layer '{self.name}': `factor` should be a "
                             f"number between 0 and 1. Received: factor={factor!r}")
        self.factor = factor
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        draws = uniform(seed or self.generator, (images.shape[0],), 0.0, 1.0, images.device)
        return (draws < self.factor)[:, None, None, None]

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        gray = ops.image.rgb_to_grayscale(images, data_format=self.data_format)
        return torch.where(transformation, gray, images)

    def get_config(self):
        config = super().get_config()
        del config["seed"]  # as in Keras, whose config leaves the seed out
        config["factor"] = self.factor
        return config


class RandomColorDegeneration(BaseColorLayer):
    """Blends each RGB image with its grayscale version by a random amount while
    training; the identity in inference.

    An image `x` becomes `x + d * (gray(x) - x)`, `d` drawn per image from `factor`
    (0 keeps it, 1 makes it gray), clipped to `value_range`. The output is in the
    compute dtype.

    Args:
        factor: a float `f` in `[-1, 1]` (draws in `[-|f|, |f|]`) or a pair
            `(lower, upper)`.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible amounts.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> RandomColorDegeneration((1.0, 1.0))(torch.tensor([[[255.0, 0.0, 0.0]]]))
    tensor([[[76.2195, 76.2195, 76.2195]]])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        return {"factor": uniform(seed or self.generator, (images.shape[0], 1, 1, 1),
                                  *self.factor, images.device)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = self._compute(images)
        factor = transformation["factor"].to(images.dtype)
        gray = ops.image.rgb_to_grayscale(images, data_format=self.data_format)
        return self._clip(images + factor * (gray - images))

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                f"RandomColorDegeneration layer '{self.name}' expects images of rank 3 or 4. "
                f"Received input_shape={tuple(input_shape)}")
        channels = input_shape[-1 if self.data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ValueError(
                f"RandomColorDegeneration layer '{self.name}' expects RGB images (3 "
                f"channels). Received input_shape={tuple(input_shape)}")
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomSharpness(BaseColorLayer):
    """Sharpens or blurs each image by a random amount while training; the identity in
    inference.

    An image `x` becomes `x + (1 - 2d) * (smooth(x) - x)`, `d` drawn per image from
    `factor` and `smooth` a 3x3 smoothing filter: `d = 0.5` keeps the image, 0 blurs it,
    1 sharpens it. The result is clipped to `value_range`. The output is in the compute
    dtype, in training and inference.

    Args:
        factor: a float `f` in `[0, 1]` (draws in `[0, f]`) or a pair `(lower, upper)`.
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        seed: integer seed for reproducible amounts.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> pixels = torch.ones(4, 4, 3, dtype=torch.uint8)
    >>> RandomSharpness(0.5)(pixels, training=False).dtype
    torch.float32
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self._seeded(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        images = self._as_batch(images)
        return {"factor": uniform(seed or self.generator, (images.shape[0],), *self.factor,
                                  images.device)}

    def transform_images(self, images, transformation, training=True):
        images = self._compute(images)
        if not training or transformation is None:
            return images
        channels_last = self.data_format == "channels_last"
        x = images.permute(0, 3, 1, 2) if channels_last else images
        channels = x.shape[1]
        # The smoothing filter: 1/13 around, 5/13 in the centre (PIL's SMOOTH kernel).
        kernel = torch.full((3, 3), 1.0 / 13.0, dtype=x.dtype, device=x.device)
        kernel[1, 1] = 5.0 / 13.0
        kernel = kernel.expand(channels, 1, 3, 3)
        smooth = F.conv2d(x, kernel, padding=1, groups=channels)
        blend = (1.0 - (transformation["factor"] * 2).to(x.dtype)).reshape(-1, 1, 1, 1)
        out = self._clip(x + blend * (smooth - x))
        return out.permute(0, 2, 3, 1) if channels_last else out

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config
