"""`RandomZoom`: zoom images in or out by a random factor while training."""

import torch

from lamina.layers.preprocessing.image_base import BaseAffineLayer, factor_range
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format


class RandomZoom(BaseAffineLayer):
    """Zooms each image about its centre by a random factor while training; the identity
    in inference.

    Factors are fractions of the size: a positive value zooms out (the content shrinks),
    a negative value zooms in. Pixels that come from outside the image follow
    `fill_mode`. The output is in the compute dtype (float32 by default).

    Args:
        height_factor: a float `f` (zoom by `1 + [-f, f]`) or a pair `(lower, upper)`,
            each in `(-1, 1]`.
        width_factor: as `height_factor`; None (default) zooms both axes by the same
            factor, keeping the aspect ratio.
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` (`fill_value`) or
            `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: integer seed for reproducible zooms.
        fill_value: the value outside the image when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.arange(16.0).reshape(4, 4, 1)
    >>> zoom_in = RandomZoom((-0.5, -0.5), interpolation="nearest")
    >>> zoom_in(x)[..., 0]
    tensor([[ 5.,  5.,  6.,  6.],
            [ 5.,  5.,  6.,  6.],
            [ 9.,  9., 10., 10.],
            [ 9.,  9., 10., 10.]])
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.height_lower, self.height_upper = factor_range(
            self, "height_factor", height_factor, -1.0, 1.0, low_open=True)
        if width_factor is not None:
            self.width_lower, self.width_upper = factor_range(
                self, "width_factor", width_factor, -1.0, 1.0, low_open=True)

    def get_random_transformation(self, images, training=True):
        if not training:
            return None
        shape, device = (images.shape[0], 1), images.device
        height_zoom = self._uniform(shape, 1.0 + self.height_lower, 1.0 + self.height_upper,
                                    device)
        width_zoom = height_zoom if self.width_factor is None else self._uniform(
            shape, 1.0 + self.width_lower, 1.0 + self.width_upper, device)
        return {"height_zoom": height_zoom, "width_zoom": width_zoom,
                "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, height, width):
        zoom_x = torch.as_tensor(transformation["width_zoom"], dtype=torch.float32)
        zoom_y = torch.as_tensor(transformation["height_zoom"], dtype=torch.float32)
        zeros = torch.zeros_like(zoom_x)
        # NOTE: Keras' float32 arithmetic, so both libraries sample the same positions.
        offset_x = (float(width) - 1.0) / 2.0 * (1.0 - zoom_x)
        offset_y = (float(height) - 1.0) / 2.0 * (1.0 - zoom_y)
        return torch.cat([zoom_x, zeros, offset_x, zeros, zoom_y, offset_y, zeros, zeros], 1)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                               height=height, width=width)
        matrix = self._matrix(transformation, height, width).to(boxes["boxes"].device)
        # The window of the input the output shows: where the corners (0, 0) and
        # (width, height) of the output map to.
        x_start, y_start = matrix[:, 2:3], matrix[:, 5:6]
        x_end = matrix[:, 0:1] * width + x_start
        y_end = matrix[:, 4:5] * height + y_start
        window_height, window_width = (y_end - y_start)[..., None], (x_end - x_start)[..., None]
        if boxes["boxes"].ndim == 3:
            x_start, y_start, x_end, y_end = (v[..., None] for v in
                                              (x_start, y_start, x_end, y_end))
        x1, y1, x2, y2 = boxes["boxes"].split(1, dim=-1)
        xs = [torch.clamp(x, x_start, x_end) - x_start for x in (x1, x2)]
        ys = [torch.clamp(y, y_start, y_end) - y_start for y in (y1, y2)]
        boxes["boxes"] = torch.cat([xs[0], ys[0], xs[1], ys[1]], dim=-1)
        boxes = convert_format(boxes, "xyxy", "rel_xyxy", height=window_height,
                               width=window_width)
        boxes = clip_to_image_size(boxes, window_height, window_width, "rel_xyxy")
        return convert_format(boxes, "rel_xyxy", self.bounding_box_format, height=height,
                              width=width)

    def get_config(self):
        config = super().get_config()
        config.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return config
