"""`BaseColorLayer`: what the colour and intensity layers share (they change pixel values,
not positions): `value_range`, an optional seed, Keras' value-range mapping and draws."""

import torch

from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer, _is_number
from lamina.random.seed_generator import SeedGenerator, torch_generator


def check_value_range(layer, value_range, sort=True):
    """`value_range` as `[low, high]` (sorted, as Keras stores it, unless `sort` is False:
    then kept as given); a ValueError naming `layer` unless it is two different numbers."""
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(_is_number(v) for v in value_range) and value_range[0] != value_range[1]):
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': `value_range` should be a list of "
            f"two different numbers, e.g. (0, 255) or (0, 1). Received: "
            f"value_range={value_range!r}")
    return sorted(value_range) if sort else value_range


def rescale_values(images, source, target, in_place=False):
    """`images` mapped linearly from the range `source` to `target` (unchanged when the
    ranges are equal), in the order Keras computes it so both round alike; `in_place`
    for a tensor the layer made itself."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    low, high, new_low, new_high = (torch.tensor(v, dtype=images.dtype)
                                    for v in (*source, *target))
    # NOTE: in place after the first op: the same rounding, without three more full-size
    # allocations (a third of the time on a 128x224x224x3 batch)
    shifted = images.sub_(low) if in_place else images - low
    return shifted.div_(high - low).mul_(new_high - new_low).add_(new_low)


def uniform(generator, shape, low, high, device, dtype=torch.float32):
    """One draw from `generator` (a `SeedGenerator`), as Keras' `random.uniform` makes it,
    so a seeded layer draws the numbers its Keras twin draws on the same device."""
    draws = torch.rand(shape, generator=torch_generator(generator, device), device=device,
                       dtype=dtype)
    return (high - low) * draws + low


class BaseColorLayer(BaseImagePreprocessingLayer):
    """Base of the colour and intensity layers: `value_range`, an optional seed, and
    labels and segmentation masks left alone.

    `_SORTS_VALUE_RANGE` says whether Keras stores the range sorted or as given (it
    differs per layer, and configs show it).
    """

    _USE_BASE_FACTOR = False
    _SORTS_VALUE_RANGE = True
    _HAS_VALUE_RANGE = True

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if self._HAS_VALUE_RANGE:
            self.value_range = check_value_range(self, value_range, self._SORTS_VALUE_RANGE)

    def _as_batch(self, data):
        """The batch of images in `data`: one image, a batch, or a dict holding
        `"images"`, as Keras' `get_random_transformation` takes them."""
        images = data["images"] if isinstance(data, dict) else data
        return self._batched(images, "images")[0]

    def _seeded(self, seed):
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def _compute(self, images):
        return images.to(self.dtype_policy.compute_torch_dtype)

    def _clip(self, images):
        """`images` clipped to `value_range`, in place: only for tensors the layer made."""
        return images.clamp_(self.value_range[0], self.value_range[1])

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return masks

    def _call_on_dict(self, data, training):
        if "bounding_boxes" not in data:
            return super()._call_on_dict(data, training)
        if not self.bounding_box_format:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': the input has 'bounding_boxes' "
                "but the layer has no `bounding_box_format`. Pass one, e.g. "
                "`bounding_box_format='xyxy'`.")
        rest = {key: value for key, value in data.items() if key != "bounding_boxes"}
        # A change of colour moves no box: the boxes pass through, as tensors (as in Keras).
        boxes = {key: torch.as_tensor(value) for key, value in data["bounding_boxes"].items()}
        return {**data, **super()._call_on_dict(rest, training), "bounding_boxes": boxes}

    def get_config(self):
        config = super().get_config()
        if self._HAS_VALUE_RANGE:
            config["value_range"] = self.value_range
        if hasattr(self, "generator"):
            config["seed"] = self.seed
        return config
