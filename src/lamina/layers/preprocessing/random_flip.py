"""`RandomFlip`: mirror images left-right and/or top-bottom while training."""

import torch

from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer
from lamina.random.seed_generator import SeedGenerator, torch_generator
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"
_MODES = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)


class RandomFlip(BaseImagePreprocessingLayer):
    """Randomly flips each image while training; the identity in inference.

    Each image is flipped with probability 1/2. With `"horizontal_and_vertical"` one
    draw decides both flips (as in Keras 3): an image is either left alone or turned by
    180 degrees. Images of any value range and dtype are accepted; the output is in the
    compute dtype (float32 by default).

    Args:
        mode: `"horizontal"` (left-right), `"vertical"` (top-bottom) or
            `"horizontal_and_vertical"` (the default).
        seed: integer seed for reproducible flips.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.arange(6.0).reshape(1, 2, 3, 1)
    >>> y = RandomFlip("horizontal", seed=0)(x)
    >>> torch.equal(y, x) or torch.equal(y, x.flip(2))
    True
    >>> torch.equal(RandomFlip()(x, training=False), x)
    True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in _MODES:
            raise ValueError(
                f"RandomFlip layer '{self.name}': `mode` must be one of "
                f"{', '.join(map(repr, _MODES))}. Received: mode={mode!r}")
        self.mode = mode
        self.seed = seed
        self.generator = SeedGenerator(seed)
        dims = []
        if mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            dims.append(self._width_axis)
        if mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            dims.append(self._height_axis)
        self._flip_dims = tuple(dims)

    def get_random_transformation(self, images, training=True):
        if not training:
            return None
        # NOTE: Keras' draw (uniform of shape (batch, 1, 1, 1), flip where <= 0.5), so a
        # seeded layer flips the same images as Keras' on the same device.
        generator = torch_generator(self.generator, images.device)
        draws = torch.rand((images.shape[0], 1, 1, 1), generator=generator,
                           device=images.device)
        return {"flips": draws <= 0.5, "input_shape": tuple(images.shape)}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        return torch.where(transformation["flips"], images.flip(self._flip_dims), images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "rel_xyxy",
                               height=height, width=width)
        flips = transformation["flips"]
        flips = torch.as_tensor(flips, device=boxes["boxes"].device).reshape(-1, 1)
        x1, y1, x2, y2 = boxes["boxes"].unbind(-1)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            x1, x2 = torch.where(flips, 1 - x2, x1), torch.where(flips, 1 - x1, x2)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            y1, y2 = torch.where(flips, 1 - y2, y1), torch.where(flips, 1 - y1, y2)
        boxes["boxes"] = torch.stack([x1, y1, x2, y2], dim=-1)
        # NOTE: Keras clips these relative boxes as pixel boxes (to `[0, width]`), which
        # only drops the labels of empty boxes; kept for parity.
        boxes = clip_to_image_size(boxes, height, width, "xyxy")
        return convert_format(boxes, "rel_xyxy", self.bounding_box_format,
                              height=height, width=width)

    def get_config(self):
        config = super().get_config()
        config.update(seed=self.seed, mode=self.mode)
        return config
