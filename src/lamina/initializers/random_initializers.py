"""Random initializers: RandomNormal/Uniform, TruncatedNormal, VarianceScaling and its
named configurations (Glorot, He, Lecun), and Orthogonal.

Seeds follow Keras: an int seed, or None (a seed drawn once at construction), gives the
same values on every call; a `SeedGenerator` gives new values on every call. For the same
int seed and device the values equal Keras 3's (torch backend).
"""

import math

import torch

from lamina.backend.dtypes import standardize_dtype
from lamina.initializers.initializer import Initializer
from lamina.random import random
from lamina.random.seed_generator import SeedGenerator, make_default_seed
from lamina.serialization import serialization

# The standard deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape, input_axes=None, output_axes=None):
    """`(fan_in, fan_out)` of a weight shape, Keras' way.

    Dense kernels `(in, out)` give `(in, out)`; conv kernels `(*spatial, in, out)`
    multiply both by the receptive field `prod(spatial)`. When both `input_axes` and
    `output_axes` are given, the fans are the products of those axes' sizes.
    """
    shape = tuple(int(d) for d in shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class RandomInitializer(Initializer):
    """Base of the seeded initializers: validates and serializes `seed`."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, SeedGenerator) and (
            isinstance(seed, bool) or not isinstance(seed, int)
        ):
            raise ValueError(
                f"{type(self).__name__}: `seed` argument should be an instance of "
                "`keras.random.SeedGenerator()` or an integer. "
                f"Received: seed={seed!r}"
            )
        self.seed = seed
        # NOTE: an unseeded initializer fixes its seed now, so repeated calls agree (Keras).
        self._draw_seed = make_default_seed() if seed is None else seed

    def _float_dtype(self, dtype):
        name = standardize_dtype(dtype)
        if not name.startswith(("float", "bfloat")):
            raise ValueError(
                f"{type(self).__name__} only makes floating point values. "
                f"Received: dtype={name!r}"
            )
        return name

    def get_config(self):
        return {"seed": serialization.serialize_keras_object(self.seed)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        seed = config.get("seed")
        if isinstance(seed, dict):
            config["seed"] = SeedGenerator.from_config(seed["config"])
        return cls(**config)


class RandomNormal(RandomInitializer):
    """Normal distribution with `mean` and `stddev`.

    >>> import lamina
    >>> lamina.initializers.RandomNormal(stddev=1.0, seed=1)((2, 2)).shape
    torch.Size([2, 2])
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.normal(shape, self.mean, self.stddev, self._float_dtype(dtype),
                             self._draw_seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal distribution with `mean` and `stddev`, cut at two standard deviations."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.truncated_normal(shape, self.mean, self.stddev, self._float_dtype(dtype),
                                       self._draw_seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform distribution on `[minval, maxval)`."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.uniform(shape, self.minval, self.maxval, self._float_dtype(dtype),
                              self._draw_seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")


class VarianceScaling(RandomInitializer):
    """Values with variance `scale / n`, `n` being the fan in, the fan out or their mean.

    `distribution` is `"truncated_normal"` (stddev corrected for the truncation),
    `"untruncated_normal"` or `"uniform"` (on `[-limit, limit]`,
    `limit = sqrt(3 * scale / n)`).

    >>> import lamina
    >>> init = lamina.initializers.VarianceScaling(scale=2.0, mode="fan_in", seed=0)
    >>> init((64, 32)).shape
    torch.Size([64, 32])
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if not scale > 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in _MODES:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {_MODES}")
        distribution = distribution.lower()
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}. "
                f"Please use one of {_DISTRIBUTIONS}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = self._float_dtype(dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, n[self.mode])
        if self.distribution in ("truncated_normal", "normal"):
            stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
            return random.truncated_normal(shape, 0.0, stddev, dtype, self._draw_seed)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, 0.0, math.sqrt(variance), dtype, self._draw_seed)
        limit = math.sqrt(3.0 * variance)
        return random.uniform(shape, -limit, limit, dtype, self._draw_seed)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _NamedVarianceScaling(VarianceScaling):
    """A fixed VarianceScaling configuration; only the seed and axes are arguments."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution,
                         seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {
            "seed": serialization.serialize_keras_object(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class GlorotUniform(_NamedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))` (Xavier).

    >>> import lamina
    >>> lamina.initializers.GlorotUniform(seed=1).get_config()
    {'seed': 1, 'input_axes': None, 'output_axes': None}
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


class GlorotNormal(_NamedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / (fan_in + fan_out))` (Xavier)."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


class LecunUniform(_NamedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(3 / fan_in)`."""

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


class LecunNormal(_NamedVarianceScaling):
    """Truncated normal with `stddev = sqrt(1 / fan_in)`."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


class HeUniform(_NamedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / fan_in)` (Kaiming)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


class HeNormal(_NamedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / fan_in)` (Kaiming)."""

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times `gain`: the shape is flattened to
    `(prod(shape[:-1]), shape[-1])` and its rows or columns (the fewer) are orthonormal.

    >>> import torch, lamina
    >>> q = lamina.initializers.Orthogonal(seed=0)((4, 4))
    >>> bool(torch.allclose(q @ q.T, torch.eye(4), atol=1e-5))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = self._float_dtype(dtype)
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        a = random.normal(flat, 0.0, 1.0, dtype, self._draw_seed)
        # NOTE: QR in float32 at least (no half-precision kernels); the sign fix makes
        # the result uniformly distributed (Mezzadri, 2007).
        q, r = torch.linalg.qr(a if a.dtype in (torch.float32, torch.float64) else a.float())
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).to(a.dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


OrthogonalInitializer = Orthogonal
