"""`RandomGaussianBlur`: blur some images with a random Gaussian while training."""

import numbers

import torch

from lamina import ops
from lamina.layers.preprocessing.color_base import check_value_range, uniform
from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer, draw_applied
from lamina.random.seed_generator import SeedGenerator


class RandomGaussianBlur(BaseImagePreprocessingLayer):
    """Blurs some images with a Gaussian while training; the identity in inference.

    Each image is blurred when a uniform draw falls below its probability, itself drawn
    from `factor`; the two standard deviations (one per axis, shared by the batch) are
    drawn from `sigma`. The result is clipped to `value_range`, in the compute dtype.

    Args:
        factor: a float `f` in `[0, 1]` (probabilities in `[0, f]`) or a pair.
        kernel_size: an odd int (or a pair of odd ints), the window's size.
        sigma: a float `s` in `[0, 1]` (deviations in `[0, s]`) or a pair.
        value_range: `(low, high)` of the input values.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        seed: integer seed for reproducible blurs.

    >>> import torch
    >>> x = torch.full((2, 6, 6, 3), 100.0)
    >>> y = RandomGaussianBlur(seed=0)(x)
    >>> bool(torch.allclose(y[:, 2:4, 2:4], x[:, 2:4, 2:4]))
    True
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.kernel_size = self._check_kernel_size(kernel_size)
        self.sigma = self._bounded_range("sigma", sigma)
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def _check_kernel_size(self, kernel_size):
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        if len(sizes) != 2 or not all(
                isinstance(k, numbers.Real) and not isinstance(k, bool) and k % 2 == 1
                for k in sizes):
            raise ValueError(
                f"RandomGaussianBlur layer '{self.name}': `kernel_size` should be an odd "
                f"number (or a list of two odd numbers). Received: kernel_size={kernel_size!r}")
        return tuple(sizes)

    def get_random_transformation(self, data, training=True, seed=None):
        """`{"should_apply_blur": (batch,) bool, "blur_factor": (2,) deviations}`, drawn
        in Keras' order."""
        if not training:
            return None
        images = self._as_batch(data)
        generator = seed or self.generator
        batch, device = images.shape[0], images.device
        applied = draw_applied(generator, batch, self.factor, device)
        sigma = uniform(generator, (2,), *self.sigma, device,
                        self.dtype_policy.compute_torch_dtype) + 1e-6
        return {"should_apply_blur": applied, "blur_factor": sigma}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        if not training or transformation is None:
            return images
        sigma = transformation["blur_factor"]
        blurred = ops.image.gaussian_blur(images, kernel_size=self.kernel_size, sigma=sigma,
                                          data_format=self.data_format)
        apply = transformation["should_apply_blur"][:, None, None, None]
        return torch.where(apply, blurred, images).clamp_(*self.value_range)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # Blurring moves nothing: boxes pass through, as in Keras.
        return bounding_boxes

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, kernel_size=self.kernel_size, sigma=self.sigma,
                      value_range=self.value_range, seed=self.seed)
        return config
