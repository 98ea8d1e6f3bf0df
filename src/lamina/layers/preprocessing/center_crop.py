"""`CenterCrop`: crop the central window of images to a fixed height and width."""

import torch

from lamina import ops
from lamina.layers.preprocessing.image_base import (
    BaseImagePreprocessingLayer,
    check_size,
    sized_output_shape,
)
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format


class CenterCrop(BaseImagePreprocessingLayer):
    """Crops the central `(height, width)` window of images, in training and inference
    alike.

    An image smaller than the target on either side is instead resized (bilinear) after
    cropping the largest central window with the target aspect ratio, so nothing is
    distorted. When the margins are odd the extra row or column is cut at the bottom and
    right. The output is in the compute dtype (float32 by default).

    Args:
        height, width: the output size.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.arange(16.0).reshape(4, 4, 1)
    >>> CenterCrop(2, 2)(x)[..., 0]
    tensor([[ 5.,  6.],
            [ 9., 10.]])
    """

    _USE_BASE_FACTOR = False

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = check_size(self, "height", height)
        self.width = check_size(self, "width", width)

    def get_random_transformation(self, images, training=True):
        return {"input_shape": tuple(images.shape)}

    def transform_images(self, images, transformation=None, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        if height < self.height or width < self.width:
            return ops.image.resize(images, (self.height, self.width),
                                    crop_to_aspect_ratio=True, data_format=self.data_format)
        top, left = (height - self.height) // 2, (width - self.width) // 2
        return images.narrow(self._height_axis, top, self.height).narrow(
            self._width_axis, left, self.width)

    def transform_segmentation_masks(self, masks, transformation=None, training=True):
        return self.transform_images(masks, transformation, training=training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                               height=height, width=width)
        fits = height >= self.height and width >= self.width
        if fits:
            crop_height, crop_width = self.height, self.width
        else:
            # The largest central window of the target aspect ratio, later resized.
            crop_height = max(min(height, int(float(width * self.height) / self.width)), 1)
            crop_width = max(min(width, int(float(height * self.width) / self.height)), 1)
        top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
        x1, y1, x2, y2 = boxes["boxes"].unbind(-1)
        xs = [torch.clamp(x, left, left + crop_width) - left for x in (x1, x2)]
        ys = [torch.clamp(y, top, top + crop_height) - top for y in (y1, y2)]
        boxes["boxes"] = torch.stack([xs[0], ys[0], xs[1], ys[1]], dim=-1)
        if not fits:
            boxes = convert_format(boxes, "xyxy", "rel_xyxy", height=crop_height,
                                   width=crop_width)
            boxes = convert_format(boxes, "rel_xyxy", "xyxy", height=self.height,
                                   width=self.width)
        boxes = clip_to_image_size(boxes, self.height, self.width, "xyxy")
        return convert_format(boxes, "xyxy", self.bounding_box_format, height=self.height,
                              width=self.width)

    def compute_output_shape(self, input_shape):
        return sized_output_shape(self, input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width)
        return config

