"""`AugMix`: blend each batch with a few chains of random augmentations."""

import random as py_random

import torch

from lamina import random
from lamina.layers.preprocessing.color_base import check_value_range
from lamina.layers.preprocessing.image_base import (
    INTERPOLATIONS,
    BaseImagePreprocessingLayer,
    check_choice,
    check_size,
)
from lamina.layers.preprocessing.rand_augment import draw_with, make_parts
from lamina.random.seed_generator import SeedGenerator

_BASE_OPS = ["random_shear", "random_translation", "random_rotation", "random_posterization",
             "solarization", "auto_contrast", "equalization"]
_COLOUR_OPS = ["random_brightness", "random_color_degeneration", "random_contrast",
               "random_sharpness"]


class AugMix(BaseImagePreprocessingLayer):
    """AugMix (Hendrycks et al., 2020) while training: `num_chains` chains of up to
    `chain_depth` random augmentations each, mixed with Dirichlet(`alpha`) weights, then
    blended with the input by a Beta(`alpha`, `alpha`) weight and clipped to
    `value_range`; the identity in inference.

    The chains serve the whole batch. Each step of a chain picks one augmentation or
    none; with a `seed` the picks come from a Python RNG seeded by it (Keras picks from
    the global Python RNG, so its seeded layer varies from run to run). The output is in
    the compute dtype.

    Args:
        value_range: `(low, high)` of the input values.
        num_chains: how many chains are mixed.
        chain_depth: the most augmentations in a chain.
        factor: a float `f` in `[0, 1]` (magnitudes in `[0, f]`) or a pair.
        alpha: concentration of the Dirichlet and Beta weights.
        all_ops: also use brightness, colour degeneration, contrast and sharpness.
        interpolation: `"bilinear"` (default) or `"nearest"`, for the warps.
        seed: integer seed for reproducible chains.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.rand(2, 8, 8, 3) * 255
    >>> AugMix(seed=0)(x).shape
    torch.Size([2, 8, 8, 3])
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        check_value_range(self, value_range)
        self.value_range = value_range
        self.num_chains = check_size(self, "num_chains", num_chains)
        self.chain_depth = check_size(self, "chain_depth", chain_depth)
        self._set_factor(factor)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"AugMix layer '{self.name}': `alpha` should be a positive "
                             f"number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.all_ops = bool(all_ops)
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self._chooser = py_random if seed is None else py_random.Random(seed)
        # (Made in Keras' order: solarization before posterization.)
        made = ["random_shear", "random_translation", "random_rotation", "solarization",
                "random_posterization", "auto_contrast", "equalization"]
        made += _COLOUR_OPS if self.all_ops else []
        parts = {name: (layer, takes_seed) for name, layer, takes_seed in make_parts(
            self, made, value_range, interpolation, seed, data_format, kwargs)}
        names = _BASE_OPS + (_COLOUR_OPS if self.all_ops else [])
        self.__dict__["_op_names"] = names
        self.__dict__["_takes_seed"] = {name: parts[name][1] for name in names}

    def build(self, input_shape):
        for name in self._op_names:
            getattr(self, name).build(input_shape)
        self.built = True

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"chain_mixing_weights": (num_chains,), "weight_sample": (), "chain_transforms":
        [[{"layer_name", "transformation"}, ...] per chain]}`, drawn in Keras' order."""
        if not training:
            return None
        images = self._as_batch(data)
        generator = seed or self.generator
        gammas = random.gamma((self.num_chains,), self.alpha, seed=generator)
        weight = random.beta((), self.alpha, self.alpha, seed=generator)
        chains = []
        for _ in range(self.num_chains):
            steps = []
            for _ in range(self.chain_depth):
                name = self._chooser.choice(self._op_names + [None])
                if name is not None:
                    steps.append({"layer_name": name, "transformation": draw_with(
                        getattr(self, name), images, generator, self._takes_seed[name])})
            chains.append(steps)
        return {"chain_mixing_weights": gammas / gammas.sum(-1, keepdim=True),
                "weight_sample": weight, "chain_transforms": chains}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        mixed = self._mix(images, transformation, "transform_images")
        return mixed.clamp_(self.value_range[0], self.value_range[1])

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._mix(masks, transformation, "transform_segmentation_masks")

    def _mix(self, images, transformation, method):
        dtype = images.dtype if images.is_floating_point() else (
            self.dtype_policy.compute_torch_dtype)
        weights = torch.as_tensor(transformation["chain_mixing_weights"]).to(dtype)
        weight = torch.as_tensor(transformation["weight_sample"]).to(dtype)
        augmented = torch.zeros_like(images, dtype=dtype)
        for index, chain in enumerate(transformation["chain_transforms"]):
            chained = images
            for step in chain:
                chained = getattr(getattr(self, step["layer_name"]), method)(
                    chained, step["transformation"])
            augmented = augmented + chained * weights[index]
        return weight * images + (1 - weight) * augmented

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, num_chains=self.num_chains,
                      chain_depth=self.chain_depth, factor=self.factor, alpha=self.alpha,
                      all_ops=self.all_ops, interpolation=self.interpolation, seed=self.seed)
        return config
