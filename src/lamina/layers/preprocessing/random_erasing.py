"""`RandomErasing`: replace a random box of each image by noise or a constant while
training."""

import torch

from lamina.layers.preprocessing.color_base import check_value_range, uniform
from lamina.layers.preprocessing.image_base import (
    BaseImagePreprocessingLayer,
    _is_number,
    box_masks,
    crop_bounds,
    draw_applied,
)
from lamina.random.seed_generator import SeedGenerator, torch_generator


class RandomErasing(BaseImagePreprocessingLayer):
    """Erases a random box of some images while training; the identity in inference.

    Each image is erased when a uniform draw falls below its probability, itself drawn
    from `factor`. The box's sides are `sqrt(s)` of the image's, `s` drawn from `scale`
    per side, at a random place; it is filled with `fill_value`, or with normal noise
    times `value_range[1]` when `fill_value` is None, clipped to `value_range`. Labels
    and segmentation masks are left alone. The output is in the compute dtype.

    Args:
        factor: a float `f` in `[0, 1]` (probabilities in `[0, f]`) or a pair.
        scale: a float or a pair in `[0, 1]`, the range of `s`.
        fill_value: None (noise), a number, or three numbers (one per channel).
        value_range: `(low, high)` of the input values.
        seed: integer seed for reproducible boxes.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.full((2, 8, 8, 3), 5.0)
    >>> y = RandomErasing(fill_value=0.0, seed=1)(x)
    >>> bool(((y == 0) | (y == 5)).all())
    True
    >>> torch.equal(RandomErasing()(x, training=False), x)
    True
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = self._bounded_range("scale", scale)
        if not (fill_value is None or _is_number(fill_value) or (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3
                and all(_is_number(v) for v in fill_value))):
            raise ValueError(
                f"RandomErasing layer '{self.name}': `fill_value` should be None (noise), a "
                f"number, or a list of three numbers. Received: fill_value={fill_value!r}")
        self.fill_value = fill_value
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"apply_erasing": (batch,) bool, "batch_masks": bool like the images,
        "fill_value": like the images}`, drawn in Keras' order."""
        if not training:
            return None
        images = self._as_batch(data)
        generator = seed or self.generator
        batch, device = images.shape[0], images.device
        dtype = self.dtype_policy.compute_torch_dtype
        sides = uniform(generator, (batch, 2), *self.scale, device, dtype).sqrt()
        x0, x1 = crop_bounds(generator, batch, images.shape[self._width_axis], sides[:, 0],
                             device, dtype)
        y0, y1 = crop_bounds(generator, batch, images.shape[self._height_axis], sides[:, 1],
                             device, dtype)
        masks = box_masks(self, images.shape, x0, x1, y0, y1, device, dtype)
        applied = draw_applied(generator, batch, self.factor, device)
        if self.fill_value is None:
            fill = torch.randn(images.shape, generator=torch_generator(generator, device),
                               dtype=dtype, device=device) * self.value_range[1]
        else:
            fill = torch.tensor(self.fill_value, dtype=dtype, device=device).expand(
                images.shape)
        low, high = sorted(self.value_range)
        return {"apply_erasing": applied, "batch_masks": masks,
                "fill_value": fill.clamp(low, high)}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        apply = transformation["apply_erasing"][:, None, None, None]
        erase = apply & transformation["batch_masks"]
        return torch.where(erase, transformation["fill_value"], images)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # Erased patches leave the boxes where they are, as in Keras.
        return bounding_boxes

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, fill_value=self.fill_value,
                      value_range=self.value_range, seed=self.seed)
        return config

