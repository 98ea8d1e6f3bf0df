"""`RandomRotation`: rotate images by a random angle while training."""

import math

import torch

from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer
from lamina.ops.image import affine_transform
from lamina.random.seed_generator import SeedGenerator, torch_generator
from lamina.utils.bounding_boxes import affine_transform as affine_transform_boxes
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class RandomRotation(BaseImagePreprocessingLayer):
    """Rotates each image about its centre by a random angle while training; the
    identity in inference.

    Angles are drawn uniformly from `factor`, in fractions of a full turn: positive is
    counter-clockwise. Pixels that come from outside the image follow `fill_mode`. The
    output is in the compute dtype (float32 by default).

    Args:
        factor: a float `f` (angles in `[-f, f]` turns) or a pair `(lower, upper)`; e.g.
            `0.1` rotates by up to 36 degrees either way.
        fill_mode: `"reflect"` (default, `d c b a | a b c d | d c b a`), `"wrap"`,
            `"constant"` (`fill_value`) or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: integer seed for reproducible angles.
        fill_value: the value outside the image when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.arange(9.0).reshape(3, 3, 1)
    >>> quarter_turn = RandomRotation((0.25, 0.25), interpolation="nearest")
    >>> torch.equal(quarter_turn(x), torch.rot90(x, 1, (0, 1)))
    True
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(
                f"RandomRotation layer '{self.name}': `fill_mode` must be one of "
                f"{', '.join(map(repr, _FILL_MODES))}. Received: fill_mode={fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"RandomRotation layer '{self.name}': `interpolation` must be one of "
                f"{', '.join(map(repr, _INTERPOLATIONS))}. "
                f"Received: interpolation={interpolation!r}")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"angle": (batch,) degrees, "rotation_matrix": (batch, 8) affine rows,
        "image_height", "image_width", "batch_size"}` as Keras lays them out; one image
        gets one unbatched matrix."""
        if not training:
            return None
        images, single = self._batched(data["images"] if isinstance(data, dict) else data,
                                       "images")
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        lower, upper = self.factor[0] * 360.0, self.factor[1] * 360.0
        generator = torch_generator(seed or self.generator, images.device)
        draws = torch.rand((images.shape[0],), generator=generator, device=images.device)
        degrees = (upper - lower) * draws + lower
        matrix = self._rotation(degrees, height, width)
        return {"angle": degrees, "rotation_matrix": matrix[0] if single else matrix,
                "image_height": height, "image_width": width,
                "batch_size": images.shape[0]}

    @staticmethod
    def _rotation(degrees, height, width):
        """Per-image `affine_transform` rows for a rotation about the image centre.

        NOTE: the float32 operations follow Keras' affine-matrix code in the same
        order, so Keras and lamina sample the very same positions.
        """
        angle = degrees * torch.tensor(math.pi / 180.0, dtype=degrees.dtype)
        cx = 0.5 * (torch.tensor(width, dtype=degrees.dtype) - 1)
        cy = 0.5 * (torch.tensor(height, dtype=degrees.dtype) - 1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        zeros = torch.zeros_like(angle)
        return torch.stack([cos, -sin, cx - cx * cos + cy * sin,
                            sin, cos, cy - cx * sin - cy * cos, zeros, zeros], dim=1)

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        return self._rotate(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._rotate(masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # NOTE: Keras 3.15 reads the boxes as xyxy whatever `bounding_box_format` says;
        # they are converted first here, which is the same for "xyxy".
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["image_height"], transformation["image_width"]
        boxes = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                               height=height, width=width)
        angle = torch.as_tensor(transformation["angle"], device=boxes["boxes"].device)
        zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
        boxes["boxes"] = affine_transform_boxes(boxes["boxes"], angle, zeros, zeros, ones,
                                                zeros, zeros, height, width)
        boxes = clip_to_image_size(boxes, height, width, "xyxy")
        return convert_format(boxes, "xyxy", self.bounding_box_format, height=height,
                              width=width)

    def _rotate(self, images, transformation, interpolation):
        return affine_transform(images, transformation["rotation_matrix"],
                                interpolation=interpolation, fill_mode=self.fill_mode,
                                fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, fill_mode=self.fill_mode,
                      fill_value=self.fill_value, interpolation=self.interpolation,
                      seed=self.seed)
        return config
