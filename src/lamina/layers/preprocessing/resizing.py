"""`Resizing`: resize images to a fixed height and width."""

import numbers

import torch

from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer
from lamina.ops.image import resize
from lamina.utils.bounding_boxes import clip_to_image_size, convert_format

_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")


class Resizing(BaseImagePreprocessingLayer):
    """Resizes images to `(height, width)`, in training and inference alike.

    Integer images stay integers (rounded and saturated to their dtype); float images
    come out in the compute dtype.

    Args:
        height, width: the output size.
        interpolation: `"bilinear"` (default), `"nearest"`, `"bicubic"`, `"lanczos3"`,
            `"lanczos5"` or `"area"`.
        crop_to_aspect_ratio: first centre-crop the largest window with the target aspect
            ratio, so nothing is distorted.
        pad_to_aspect_ratio: first pad the short side evenly (with `fill_value`) to the
            target aspect ratio, so nothing is distorted or cut off.
        fill_mode: how padding is filled; only `"constant"`.
        fill_value: the padding value.
        antialias: low-pass filter when downsampling.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> Resizing(2, 3)(torch.ones(4, 5, 4, 1)).shape
    torch.Size([4, 2, 3, 1])
    """

    _USE_BASE_FACTOR = False

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        for arg, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"Resizing layer '{self.name}': `{arg}` must be a positive "
                                 f"integer. Received: {arg}={value!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"Resizing layer '{self.name}': `interpolation` must be one of "
                f"{', '.join(map(repr, _INTERPOLATIONS))}. "
                f"Received: interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"Resizing layer '{self.name}': only one of "
                             "`crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
        if fill_mode != "constant":
            raise ValueError(f"Resizing layer '{self.name}': `fill_mode` must be 'constant' "
                             f"(the only mode supported). Received: fill_mode={fill_mode!r}")
        self.height = int(height)
        self.width = int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def get_random_transformation(self, images, training=True):
        # The input size, which only the boxes need (as Keras' transformation).
        return images.shape[self._height_axis], images.shape[self._width_axis]

    def transform_images(self, images, transformation=None, training=True):
        return self._resize(images, self.interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        in_height, in_width = transformation
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        # All -1 or all 0: padding rows, kept at 0 rather than moved.
        padding = ((boxes == -1).all(-1) | (boxes == 0).all(-1))[..., None]
        out = convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                             height=in_height, width=in_width)
        x1, y1, x2, y2 = out["boxes"].unbind(-1)
        scale_x, scale_y, left, top = self._box_scale_and_offset(in_height, in_width, x1)
        out["boxes"] = torch.stack([x1 * scale_x - left, y1 * scale_y - top,
                                    x2 * scale_x - left, y2 * scale_y - top], dim=-1)
        out = clip_to_image_size(out, self.height, self.width, "xyxy")
        out["boxes"] = torch.where(padding.to(out["boxes"].device),
                                   out["boxes"].new_zeros(()), out["boxes"])
        return convert_format(out, "xyxy", self.bounding_box_format, height=self.height,
                              width=self.width)

    def _box_scale_and_offset(self, in_height, in_width, like):
        """`(scale_x, scale_y, left, top)`: a box corner `x` goes to `x * scale_x - left`;
        computed in `like`'s dtype with Keras' rounding."""
        def tensor(value):
            return torch.as_tensor(value, device=like.device).to(like.dtype)

        height, width = tensor(in_height), tensor(in_width)
        if self.pad_to_aspect_ratio:
            ratio = torch.minimum(tensor(self.height / in_height), tensor(self.width / in_width))
            left = -((self.width - width * ratio) // 2)
            top = -((self.height - height * ratio) // 2)
            return ratio, ratio, left, top
        if self.crop_to_aspect_ratio:
            source_ratio = width / height
            wider = source_ratio > self.width / self.height
            new_width = torch.where(wider, self.height * source_ratio, tensor(self.width))
            new_height = torch.where(wider, tensor(self.height), self.width / source_ratio)
            return (new_width / width, new_height / height, (new_width - self.width) // 2,
                    (new_height - self.height) // 2)
        zero = tensor(0.0)
        return tensor(self.width / in_width), tensor(self.height / in_height), zero, zero

    def transform_segmentation_masks(self, masks, transformation=None, training=True):
        return self._resize(masks, "nearest")

    def _resize(self, images, interpolation):
        return resize(images, (self.height, self.width), interpolation=interpolation,
                      antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                      pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                      fill_value=self.fill_value, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                f"Resizing layer '{self.name}' expects images of rank 3 (one image) or 4 (a "
                f"batch of images). Received input_shape={tuple(input_shape)}.")
        first = len(shape) - 3 + (self.data_format == "channels_first")
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width, interpolation=self.interpolation,
                      crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                      pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                      fill_value=self.fill_value, antialias=self.antialias)
        return config
