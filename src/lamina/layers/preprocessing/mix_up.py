"""`MixUp`: blend each image (and its label) with another of the batch while training."""

import torch

from lamina import random
from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer
from lamina.random.seed_generator import SeedGenerator


def mixed(values, weight, order):
    """`weight * values + (1 - weight) * values[order]`, `weight` one per row."""
    weight = weight.reshape((-1,) + (1,) * (values.ndim - 1))
    partner = values.index_select(0, order)
    if values.is_floating_point() and weight.dtype == values.dtype:
        # NOTE: two passes over the batch instead of four (half the time on 128 images);
        # the fused multiply-add may round the last bit differently from Keras' formula.
        return torch.mul(partner, 1.0 - weight).addcmul_(values, weight)
    return weight * values + (1.0 - weight) * partner


class MixUp(BaseImagePreprocessingLayer):
    """Blends each image with another image of the batch while training (Zhang et al.,
    2017), and its label alike; the identity in inference.

    The partner comes from a random permutation of the batch, the weight of the image
    itself from `Beta(alpha, alpha)`. Labels should be one-hot (or soft) floats; pass
    `{"images": ..., "labels": ...}` to mix both. The output is in the compute dtype.

    Args:
        alpha: concentration of the Beta distribution the weights come from.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        seed: integer seed for reproducible mixes.

    >>> import torch
    >>> data = {"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)}
    >>> out = MixUp(seed=0)(data)
    >>> bool(torch.allclose(out["labels"].sum(-1), torch.ones(4)))
    True
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"MixUp layer '{self.name}': `alpha` should be a positive "
                             f"number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"mix_weight": (batch,), "permutation_order": (batch,) int64}`, drawn in
        Keras' order (in inference too, as Keras draws them, so seeds stay in step)."""
        images = self._as_batch(data)
        generator = seed or self.generator
        batch = images.shape[0]
        order = random.shuffle(torch.arange(batch, device=images.device), seed=generator)
        weight = random.beta((batch,), self.alpha, self.alpha, seed=generator)
        return {"mix_weight": weight, "permutation_order": order}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        images = images.to(self.dtype_policy.compute_torch_dtype)
        weight = transformation["mix_weight"].to(images.dtype)
        return mixed(images, weight, transformation["permutation_order"])

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        labels = torch.as_tensor(labels)
        return mixed(labels, transformation["mix_weight"], transformation["permutation_order"])

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self.transform_labels(masks, transformation, training=training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Each image keeps its boxes and gains those of its partner (`(batch, 2N, 4)`).

        NOTE: Keras 3.15 joins the labels along the batch axis, out of step with the
        boxes; here they are joined per image, as the boxes are.
        """
        if not training or transformation is None:
            return bounding_boxes
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        order = torch.as_tensor(transformation["permutation_order"], device=boxes.device)
        return {"boxes": torch.cat([boxes, boxes.index_select(0, order)], 1),
                "labels": torch.cat([labels, labels.index_select(0, order)], 1)}

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, seed=self.seed)
        return config
