"""`RandomCrop`: crop a random window of fixed size from images while training."""

import torch

from lamina import ops
from lamina.backend.symbolic import in_symbolic_run
from lamina.layers.preprocessing.image_base import (
    BaseImagePreprocessingLayer,
    check_size,
    sized_output_shape,
)
from lamina.random.seed_generator import SeedGenerator, make_default_seed, torch_generator
from lamina.utils.bounding_boxes import convert_format


class RandomCrop(BaseImagePreprocessingLayer):
    """Crops a random `(height, width)` window while training, one location for the whole
    batch; in inference, the largest central window with the target aspect ratio, resized.

    While training, an image not larger than the target on both sides is cropped at the
    central window's corner and resized where the window falls short, as Keras does.

    NOTE: Keras 3 (up to 3.15 at least) documents the inference behaviour above but
    returns the images unchanged (keras-team/keras#21868), so a model's `predict` output
    does not have its declared shape; lamina does what Keras documents.

    Args:
        height, width: the output size.
        seed: integer seed for reproducible crops (Keras stores a fresh random seed in
            the config when none is given, and so does lamina).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> RandomCrop(3, 2, seed=0)(torch.ones(2, 6, 5, 1)).shape
    torch.Size([2, 3, 2, 1])
    """

    _USE_BASE_FACTOR = False

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = check_size(self, "height", height)
        self.width = check_size(self, "width", width)
        self.seed = seed if seed is not None else make_default_seed()
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, images, training=True):
        """`(top, left)` of the crop window, as Keras gives it."""
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        if training and height > self.height and width > self.width:
            # NOTE: drawn on the host: the offsets become slice bounds, so a draw on the
            # accelerator would cost a device sync.
            return (self._offset(height - self.height), self._offset(width - self.width))
        crop_height = max(min(height, int(width * self.height / self.width)), 1)
        crop_width = max(min(width, int(height * self.width / self.height)), 1)
        return int((height - crop_height) / 2), int((width - crop_width) / 2)

    def _offset(self, slack):
        if in_symbolic_run():
            # Shape inference: the offset moves the window, never its size, and a host
            # read of a fake draw would fail.
            return 0
        generator = torch_generator(self.generator, "cpu")
        return int(float(slack + 1) * torch.rand((1,), generator=generator)[0])

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        return self._crop(images, transformation, training, "bilinear")

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._crop(masks, transformation, training, "nearest")

    def _crop(self, images, transformation, training, interpolation):
        size = (self.height, self.width)
        if not training:
            return ops.image.resize(images, size, interpolation=interpolation,
                                    crop_to_aspect_ratio=True, data_format=self.data_format)
        top, left = (int(offset) for offset in transformation)
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        images = images.narrow(self._height_axis, top, min(self.height, height - top)).narrow(
            self._width_axis, left, min(self.width, width - left))
        if tuple(images.shape[self._height_axis:self._width_axis + 1]) != size:
            images = ops.image.resize(images, size, interpolation=interpolation,
                                      data_format=self.data_format)
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # NOTE: as Keras, boxes move only in training and relative boxes are read against
        # the crop size. Keras 3.15 shifts x by the top offset and y by the left one
        # (keras-team/keras#23518); this follows its fix (#23519): x by `left`, y by
        # `top`, clipped to the crop.
        if not training:
            return bounding_boxes
        boxes = convert_format(bounding_boxes["boxes"], self.bounding_box_format, "xyxy",
                               height=self.height, width=self.width)
        top, left = (torch.as_tensor(offset, device=boxes.device).to(boxes.dtype)
                     for offset in transformation)
        x1, y1, x2, y2 = boxes.unbind(-1)
        xs = [torch.clamp(x - left, 0, self.width) for x in (x1, x2)]
        ys = [torch.clamp(y - top, 0, self.height) for y in (y1, y2)]
        boxes = torch.stack([xs[0], ys[0], xs[1], ys[1]], dim=-1)
        boxes = convert_format(boxes, "xyxy", self.bounding_box_format, height=self.height,
                               width=self.width)
        return {"boxes": boxes, "labels": bounding_boxes["labels"]}

    def compute_output_shape(self, input_shape):
        return sized_output_shape(self, input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width, seed=self.seed)
        return config
