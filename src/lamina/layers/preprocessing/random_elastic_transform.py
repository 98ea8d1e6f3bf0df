"""`RandomElasticTransform`: warp some images by a smooth random displacement field."""

import torch

from lamina import ops
from lamina.layers.preprocessing.color_base import check_value_range, uniform
from lamina.layers.preprocessing.image_base import (
    INTERPOLATIONS,
    BaseWarpLayer,
    check_choice,
    draw_applied,
)

_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


class RandomElasticTransform(BaseWarpLayer):
    """Warps some images by a random elastic distortion while training; the identity in
    inference.

    Each image is warped when a uniform draw falls below its probability, itself drawn
    from `factor`. A distortion `d` drawn from `scale` (one per batch) sets the field:
    standard-normal noise per pixel and axis, times `sigma = 0.05 d min(height, width)`,
    smoothed by a Gaussian of std `sigma` and scaled by `alpha = 0.1 d max(height,
    width)`, as Keras 3 computes it. The result is clipped to `value_range`, in the
    compute dtype. The noise is drawn from the layer's seed (Keras' torch backend draws it
    from the global torch RNG).

    Args:
        factor: a float `f` in `[0, 1]` (probabilities in `[0, f]`) or a pair.
        scale: a float `s` in `[0, 1]` (distortions in `[0, s]`) or a pair.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: `"reflect"` (default), `"constant"`, `"nearest"`, `"wrap"` or
            `"mirror"`.
        fill_value: the value outside the image with `fill_mode="constant"`.
        value_range: `(low, high)` of the input values.
        seed: integer seed for reproducible warps.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> x = torch.full((2, 8, 8, 3), 7.0)
    >>> torch.allclose(RandomElasticTransform(seed=0)(x), x)
    True
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = self._bounded_range("scale", scale)
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        check_choice(self, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = check_value_range(self, value_range, sort=False)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"apply_transform": (batch,) bool, "distortion_factor": (), "seed": where the
        noise comes from}`, drawn in Keras' order; None when nothing can move."""
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = self._as_batch(data)
        generator = seed or self.generator
        batch, device = images.shape[0], images.device
        applied = draw_applied(generator, batch, self.factor, device)
        distortion = uniform(generator, (), *self.scale, device,
                             self.dtype_policy.compute_torch_dtype)
        return {"apply_transform": applied, "distortion_factor": distortion,
                "seed": generator}

    def _warp_batch(self, images, transformation, interpolation):
        height, width = images.shape[self._height_axis], images.shape[self._width_axis]
        distortion = torch.as_tensor(transformation["distortion_factor"])
        warped = ops.image.elastic_transform(
            images, alpha=max(height, width) * 0.1 * distortion,
            sigma=min(height, width) * 0.05 * distortion, interpolation=interpolation,
            fill_mode=self.fill_mode, fill_value=self.fill_value, seed=transformation["seed"],
            data_format=self.data_format)
        apply = torch.as_tensor(transformation["apply_transform"], device=images.device)
        out = torch.where(apply[:, None, None, None], warped, images)
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, interpolation=self.interpolation,
                      fill_mode=self.fill_mode, fill_value=self.fill_value,
                      value_range=self.value_range, seed=self.seed)
        return config
