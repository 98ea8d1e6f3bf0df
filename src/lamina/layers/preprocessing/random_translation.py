"""`RandomTranslation`: shift images by a random offset while training."""

import torch

from lamina.layers.preprocessing.image_base import BaseAffineLayer, factor_range
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format


class RandomTranslation(BaseAffineLayer):
    """Shifts each image by a random offset while training; the identity in inference.

    Offsets are fractions of the height and width: positive moves the content down and
    right. Pixels that come from outside the image follow `fill_mode`. The output is in
    the compute dtype (float32 by default).

    Args:
        height_factor: a float `f` (shift by `[-f, f]` of the height) or a pair
            `(lower, upper)`, each in `[-1, 1]`.
        width_factor: as `height_factor`, for the width.
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` (`fill_value`) or
            `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: integer seed for reproducible shifts.
        fill_value: the value outside the image when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.arange(9.0).reshape(3, 3, 1)
    >>> one_row_down = RandomTranslation((1 / 3, 1 / 3), 0.0, fill_mode="constant")
    >>> one_row_down(x)[..., 0]
    tensor([[0., 0., 0.],
            [0., 1., 2.],
            [3., 4., 5.]])
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.height_lower, self.height_upper = factor_range(
            self, "height_factor", height_factor, -1.0, 1.0)
        self.width_lower, self.width_upper = factor_range(
            self, "width_factor", width_factor, -1.0, 1.0)

    def get_random_transformation(self, images, training=True):
        """`{"translations": (batch, 2) pixel shifts (x, y), "input_shape"}`."""
        if not training:
            return None
        shape, device = (images.shape[0], 1), images.device
        height = images.shape[self._height_axis]
        width = images.shape[self._width_axis]
        dy = self._uniform(shape, self.height_lower, self.height_upper, device) * height
        dx = self._uniform(shape, self.width_lower, self.width_upper, device) * width
        return {"translations": torch.cat([dx, dy], 1), "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, height, width):
        shifts = torch.as_tensor(transformation["translations"], dtype=torch.float32)
        ones, zeros = torch.ones_like(shifts[:, :1]), torch.zeros_like(shifts[:, :1])
        return torch.cat([ones, zeros, -shifts[:, :1], zeros, ones, -shifts[:, 1:],
                          zeros, zeros], 1)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                               height=height, width=width)
        shifts = torch.as_tensor(transformation["translations"], device=boxes["boxes"].device)
        shifts = shifts.to(boxes["boxes"].dtype)
        dx, dy = shifts[:, :1], shifts[:, 1:]
        x1, y1, x2, y2 = boxes["boxes"].unbind(-1)
        boxes["boxes"] = torch.stack([x1 + dx, y1 + dy, x2 + dx, y2 + dy], dim=-1)
        boxes = clip_to_image_size(boxes, height, width, "xyxy")
        return convert_format(boxes, "xyxy", self.bounding_box_format, height=height,
                              width=width)

    def get_config(self):
        config = super().get_config()
        config.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return config
