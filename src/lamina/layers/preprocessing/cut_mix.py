"""`CutMix`: paste a box of another image of the batch into each image while training,
mixing the labels by area."""

import torch

from lamina import random
from lamina.layers.preprocessing.color_base import uniform
from lamina.layers.preprocessing.image_base import (
    BaseImagePreprocessingLayer,
    box_masks,
    crop_bounds,
)
from lamina.layers.preprocessing.mix_up import mixed
from lamina.random.seed_generator import SeedGenerator


class CutMix(BaseImagePreprocessingLayer):
    """Pastes a random box of another image of the batch into each image while training
    (Yun et al., 2019) and mixes the labels by the area kept; the identity in inference
    and on a single image.

    The partner comes from a random permutation of the batch; the box's area fraction is
    `1 - w`, `w` drawn from `Beta(a, a)` with `a` drawn from `factor`. Labels should be
    one-hot (or soft) floats; pass `{"images": ..., "labels": ...}` to mix both. The
    output is in the compute dtype.

    Args:
        factor: a float `f` in `[0, 1]` (`a` in `[0, f]`) or a pair.
        seed: integer seed for reproducible boxes.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> data = {"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)}
    >>> out = CutMix(seed=0)(data)
    >>> bool(torch.allclose(out["labels"].sum(-1), torch.ones(4)))
    True
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"permutation_order": (batch,) int, "batch_masks": bool like the images,
        "mix_weight": (batch, 1, 1, 1) area kept}`, drawn in Keras' order; None in
        inference and for a single image (nothing to mix with)."""
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        if images.ndim == 3:
            return None
        images = self._as_batch(images)
        generator = seed or self.generator
        batch, device = images.shape[0], images.device
        dtype = self.dtype_policy.compute_torch_dtype
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        alpha = uniform(generator, (), *self.factor, device, dtype) + 1e-6
        weight = random.beta((batch,), alpha, alpha, dtype=dtype, seed=generator)
        ratio = (1.0 - weight).sqrt()
        x0, x1 = crop_bounds(generator, batch, width, ratio, device, dtype)
        y0, y1 = crop_bounds(generator, batch, height, ratio, device, dtype)
        masks = box_masks(self, images.shape, x0, x1, y0, y1, device, dtype)
        kept = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        order = random.shuffle(torch.arange(batch, dtype=torch.int32, device=device),
                               seed=generator)
        return {"permutation_order": order, "batch_masks": masks,
                "mix_weight": kept[:, None, None, None]}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        order = transformation["permutation_order"]
        return torch.where(transformation["batch_masks"], images.index_select(0, order),
                           images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        labels = torch.as_tensor(labels)
        return mixed(labels, transformation["mix_weight"], transformation["permutation_order"])

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, seed=self.seed)
        return config
