"""`RandAugment`: apply `num_ops` augmentations picked at random from a fixed list."""

import inspect

import torch

from lamina import random
from lamina.layers.preprocessing.color_base import check_value_range
from lamina.layers.preprocessing.color_blend import RandomColorDegeneration, RandomSharpness
from lamina.layers.preprocessing.color_jitter import RandomBrightness, RandomContrast
from lamina.layers.preprocessing.image_base import (
    INTERPOLATIONS,
    BaseImagePreprocessingLayer,
    check_choice,
    check_size,
)
from lamina.layers.preprocessing.intensity import (
    AutoContrast,
    Equalization,
    RandomPosterization,
    Solarization,
)
from lamina.layers.preprocessing.random_rotation import RandomRotation
from lamina.layers.preprocessing.random_shear import RandomShear
from lamina.layers.preprocessing.random_translation import RandomTranslation
from lamina.random.seed_generator import SeedGenerator


def draw_with(layer, data, generator, takes_seed):
    """`layer`'s transformation of `data` drawn from `generator` (another layer's), as
    Keras' composite layers draw their parts' transformations."""
    if takes_seed:
        return layer.get_random_transformation(data, training=True, seed=generator)
    if not hasattr(layer, "generator"):  # draws nothing (AutoContrast, Equalization)
        return layer.get_random_transformation(layer._as_batch(data), training=True)
    # NOTE: the warp layers take no `seed`; lending them the generator draws the same.
    own, layer.generator = layer.generator, generator
    try:
        return layer.get_random_transformation(layer._as_batch(data), training=True)
    finally:
        layer.generator = own


def make_parts(owner, names, value_range, interpolation, seed, data_format, kwargs):
    """Make the augmentation layers `names` (Keras' attribute names, made in that order)
    as attributes of `owner`, with magnitudes from `owner.factor`, as Keras' RandAugment
    and AugMix make them; returns `[(name, layer, whether its draw takes a seed)]`."""
    factor = owner.factor
    # NOTE: as in Keras, the parts take the owner's own keyword arguments too.
    common = dict(seed=seed, data_format=data_format, **kwargs)
    ranged = dict(value_range=value_range, **common)
    plain = dict(value_range=value_range, data_format=data_format, **kwargs)
    makers = {
        "random_shear": lambda: RandomShear(x_factor=factor, y_factor=factor,
                                            interpolation=interpolation, **common),
        "random_translation": lambda: RandomTranslation(
            height_factor=factor, width_factor=factor, interpolation=interpolation, **common),
        "random_rotation": lambda: RandomRotation(factor=factor, interpolation=interpolation,
                                                  **common),
        "random_brightness": lambda: RandomBrightness(factor=factor, **ranged),
        "random_color_degeneration": lambda: RandomColorDegeneration(factor=factor, **ranged),
        "random_contrast": lambda: RandomContrast(factor=factor, **ranged),
        "random_sharpness": lambda: RandomSharpness(factor=factor, **ranged),
        "solarization": lambda: Solarization(addition_factor=factor, threshold_factor=factor,
                                             **ranged),
        "random_posterization": lambda: RandomPosterization(
            factor=max(1, int(8 * factor[1])), **ranged),
        "auto_contrast": lambda: AutoContrast(**plain),
        "equalization": lambda: Equalization(**plain),
    }
    parts = []
    for name in names:
        setattr(owner, name, makers[name]())
        layer = getattr(owner, name)
        takes_seed = "seed" in inspect.signature(layer.get_random_transformation).parameters
        parts.append((name, layer, takes_seed))
    return parts


class RandAugment(BaseImagePreprocessingLayer):
    """RandAugment (Cubuk et al., 2019) while training: `num_ops` times, one augmentation
    picked at random from shear, translation, rotation, brightness, colour degeneration,
    contrast, sharpness, posterization, solarization, auto-contrast and equalization,
    all with magnitudes from `factor`; the identity in inference.

    One pick serves the whole batch. The output is in the compute dtype.

    Args:
        value_range: `(low, high)` of the input values.
        num_ops: how many augmentations to apply in a row.
        factor: a float `f` in `[0, 1]` (magnitudes in `[0, f]`) or a pair.
        interpolation: `"bilinear"` (default) or `"nearest"`, for the warps.
        seed: integer seed for reproducible picks and draws.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.rand(2, 8, 8, 3) * 255
    >>> RandAugment(seed=0)(x).shape
    torch.Size([2, 8, 8, 3])
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _AUGMENT_LAYERS = ["random_shear", "random_translation", "random_rotation",
                       "random_brightness", "random_color_degeneration", "random_contrast",
                       "random_sharpness", "random_posterization", "solarization",
                       "auto_contrast", "equalization"]

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        check_value_range(self, value_range)
        self.value_range = value_range
        self.num_ops = check_size(self, "num_ops", num_ops)
        self._set_factor(factor)
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.interpolation = interpolation
        self.seed = seed
        self.generator = SeedGenerator(seed)
        # (Made in Keras' order: solarization before posterization.)
        made = {name: (layer, takes_seed) for name, layer, takes_seed in make_parts(
            self, self._AUGMENT_LAYERS[:7] + ["solarization", "random_posterization"]
            + self._AUGMENT_LAYERS[9:], value_range, interpolation, seed, data_format, kwargs)}
        self.__dict__["_parts"] = [(name, *made[name]) for name in self._AUGMENT_LAYERS]

    def build(self, input_shape):
        for _, layer, _ in self._parts:
            layer.build(input_shape)
        self.built = True

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"transforms": {part name: its transformation}, "layer_idxes": (num_ops,)
        indices into the parts}`, drawn in Keras' order (every part draws, picked or
        not, so seeds stay in step with Keras)."""
        if not training:
            return None
        images = self._as_batch(data)
        generator = seed or self.generator
        picks = random.randint((self.num_ops,), 0, len(self._parts), seed=generator)
        transforms = {name: draw_with(layer, images, generator, takes_seed)
                      for name, layer, takes_seed in self._parts}
        return {"transforms": transforms, "layer_idxes": picks}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        return self._apply(images, transformation, "transform_images")

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._apply(masks, transformation, "transform_segmentation_masks")

    def _apply(self, images, transformation, method):
        transforms = transformation["transforms"]
        # NOTE: Keras computes every part for each op and keeps the picked one; reading
        # the `num_ops` picks once and running only those gives the same images for
        # one small host read instead of eleven transforms per op.
        for pick in torch.as_tensor(transformation["layer_idxes"]).tolist():
            name, layer, _ = self._parts[pick]
            images = getattr(layer, method)(images, transforms[name])
        return images

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, num_ops=self.num_ops, factor=self.factor,
                      interpolation=self.interpolation, seed=self.seed)
        return config
