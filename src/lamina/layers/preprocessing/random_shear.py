"""`RandomShear`: shear images along x and y by random amounts while training."""

import torch

from lamina.layers.preprocessing.image_base import BaseAffineLayer, factor_range
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format


class RandomShear(BaseAffineLayer):
    """Shears each image by random amounts while training; the identity in inference.

    Output pixel `(x, y)` reads the input at `(x + sx * y, y + sy * x)`, for amounts
    `sx, sy` drawn per image, their common sign flipped for a random half of the images.
    Pixels that come from outside the image follow `fill_mode`. The output is in the
    compute dtype (float32 by default).

    Args:
        x_factor: a float `f` in `[0, 1]` (amounts in `[-f, f]`) or a pair
            `(lower, upper)` in `[-1, 1]`; the horizontal shear.
        y_factor: as `x_factor`, the vertical shear.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` (`fill_value`) or
            `"nearest"`.
        fill_value: the value outside the image when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        seed: integer seed for reproducible shears.

    >>> import torch
    >>> RandomShear(0.2, 0.2, seed=1)(torch.ones(2, 5, 5, 3)).shape
    torch.Size([2, 5, 5, 3])
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        # NOTE: a number must lie in [0, 1] as in Keras, but a pair may reach down to -1:
        # Keras' config stores (-f, f), which its own check then refuses on loading.
        self.x_factor = factor_range(self, "x_factor", x_factor, 0.0, 1.0, pair_low=-1.0)
        self.y_factor = factor_range(self, "y_factor", y_factor, 0.0, 1.0, pair_low=-1.0)

    def get_random_transformation(self, images, training=True):
        """`{"shear_factor": (batch, 2) amounts (x, y), "input_shape"}`."""
        if not training:
            return None
        shape, device = (images.shape[0], 1), images.device
        dtype = self.dtype_policy.compute_torch_dtype
        # NOTE: Keras' draw order (sign, then y, then x), so seeds reproduce its shears.
        invert = self._uniform(shape, 0, 1, device, dtype)
        sign = torch.where(invert > 0.5, -torch.ones_like(invert), torch.ones_like(invert))
        shear_y = self._uniform(shape, *self.y_factor, device, dtype)
        shear_x = self._uniform(shape, *self.x_factor, device, dtype)
        return {"shear_factor": torch.cat([shear_x, shear_y], 1) * sign,
                "input_shape": tuple(images.shape)}

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "rel_xyxy",
                               height=height, width=width, dtype=self.compute_dtype)
        amounts = torch.as_tensor(transformation["shear_factor"], device=boxes["boxes"].device)
        amounts = amounts.to(boxes["boxes"].dtype)
        shear_x, shear_y = amounts[:, :1], amounts[:, 1:]
        x1, y1, x2, y2 = boxes["boxes"].unbind(-1)
        # Each corner moves with the row (column) it sits on; of a box's two edges, the
        # one that keeps the box widest wins. NOTE: y follows the sheared x, as in Keras.
        left = shear_x < 0
        x1 = torch.where(left, x1 - shear_x * y1, x1 - shear_x * y2)
        x2 = torch.where(left, x2 - shear_x * y2, x2 - shear_x * y1)
        down = shear_y > 0
        y1 = torch.where(down, y1 - shear_y * x2, y1 - shear_y * x1)
        y2 = torch.where(down, y2 - shear_y * x1, y2 - shear_y * x2)
        boxes["boxes"] = torch.stack([x1, y1, x2, y2], dim=-1)
        boxes = clip_to_image_size(boxes, height, width, "rel_xyxy")
        return convert_format(boxes, "rel_xyxy", self.bounding_box_format, height=height,
                              width=width, dtype=self.compute_dtype)

    def _matrix(self, transformation, height, width):
        shear = torch.as_tensor(transformation["shear_factor"])
        ones, zeros = torch.ones_like(shear[:, 0]), torch.zeros_like(shear[:, 0])
        return torch.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros, zeros],
                           1)

    def get_config(self):
        config = super().get_config()
        config.update(x_factor=self.x_factor, y_factor=self.y_factor)
        return config
