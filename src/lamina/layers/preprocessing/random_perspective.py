"""`RandomPerspective`: warp images by a random perspective while training."""

import torch

from lamina import ops
from lamina.layers.preprocessing.image_base import INTERPOLATIONS, BaseWarpLayer, check_choice
from lamina.ops.image import _homography
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format


class RandomPerspective(BaseWarpLayer):
    """Warps some images by a random perspective while training; the identity in
    inference.

    Each corner moves by up to `scale / 2` of its own coordinates; an image is warped
    when a uniform draw falls below its transformation probability, itself drawn from
    `factor`. Pixels from outside the image read `fill_value`. The output is in the
    compute dtype (float32 by default).

    Args:
        factor: a float `f` in `[0, 1]` (probabilities in `[0, f]`) or a pair.
        scale: in `[0, 1]`, how far the corners may move.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_value: the value outside the warped image.
        seed: integer seed for reproducible warps.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.ones(2, 5, 5, 3)
    >>> torch.equal(RandomPerspective(scale=0.0)(x), x)
    True
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._set_factor(factor)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
                0.0 <= scale <= 1.0):
            raise ValueError(f"RandomPerspective layer '{self.name}': `scale` should be a "
                             f"number in the range [0, 1]. Received: scale={scale!r}")
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.scale = scale
        self.interpolation = interpolation
        self.fill_value = fill_value

    def get_random_transformation(self, images, training=True):
        """`{"apply_perspective": (batch,) bool, "start_points", "end_points": (batch, 4,
        2) corners (x, y), "input_shape"}`, drawn in Keras' order."""
        if not training:
            return None
        batch, device = images.shape[0], images.device
        dtype = self.dtype_policy.compute_torch_dtype
        height = images.shape[self._height_axis]
        width = images.shape[self._width_axis]
        probability = self._uniform((batch,), *self.factor, device)
        threshold = self._uniform((batch,), 0.0, 1.0, device)
        moves = self._uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, device,
                              dtype)
        corners = torch.tensor([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1],
                                [width - 1, height - 1]], dtype=dtype, device=device)
        start = corners.expand(batch, 4, 2)
        return {"apply_perspective": threshold < probability, "start_points": start,
                "end_points": start + start * moves, "input_shape": tuple(images.shape)}

    def _warp_batch(self, images, transformation, interpolation):
        warped = ops.image.perspective_transform(
            images, transformation["start_points"], transformation["end_points"],
            interpolation=interpolation, fill_value=self.fill_value,
            data_format=self.data_format)
        apply = torch.as_tensor(transformation["apply_perspective"], device=images.device)
        return torch.where(apply[:, None, None, None], warped, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Each box becomes the hull of its four corners carried by the warp.

        NOTE: Keras 3.15 returns these boxes in xyxy whatever `bounding_box_format` says;
        here they come back in the layer's format (the same for "xyxy").
        """
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._input_size(transformation)
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                               height=height, width=width)
        xyxy = boxes["boxes"]
        dtype = self.dtype_policy.compute_torch_dtype
        start, end = (torch.as_tensor(transformation[key], device=xyxy.device)
                      for key in ("start_points", "end_points"))
        # The image warp's own homography (output pixels to input ones), so boxes and
        # pixels move alike; its inverse carries the boxes.
        coefficients = _homography(start, end).to(dtype)
        matrix = torch.cat([coefficients, torch.ones_like(coefficients[:, :1])], -1)
        inverse = torch.linalg.inv(matrix.reshape(-1, 3, 3))
        x1, y1, x2, y2 = xyxy.unbind(-1)
        corners = torch.stack([torch.stack([x, y, torch.ones_like(x)], -1) for x, y in
                               ((x1, y1), (x2, y2), (x1, y2), (x2, y1))], -2)  # (B, N, 4, 3)
        moved = torch.einsum("bij,bnkj->bnki", inverse, corners.to(dtype))
        xs, ys = moved[..., 0] / moved[..., 2], moved[..., 1] / moved[..., 2]
        warped = torch.stack([xs.amin(-1), ys.amin(-1), xs.amax(-1), ys.amax(-1)], -1)
        apply = torch.as_tensor(transformation["apply_perspective"], device=xyxy.device)
        boxes["boxes"] = torch.where(apply[:, None, None], warped, xyxy)
        boxes = clip_to_image_size(boxes, height, width, "xyxy")
        return convert_format(boxes, "xyxy", self.bounding_box_format, height=height,
                              width=width)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, interpolation=self.interpolation,
                      fill_value=self.fill_value, seed=self.seed)
        return config
