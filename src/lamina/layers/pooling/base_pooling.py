"""`BasePooling`: windowed max/average pooling over 1-3 spatial dims, on torch kernels.

Keras lays images out channels-last; torch's pooling kernels want channels at axis 1.
A `movedim` view bridges the two (a 4D channels-last tensor is exactly torch's
`channels_last` memory format), so no data is copied on the way in or out.
"""

import math
import numbers

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def standardize_tuple(value, rank, arg_name, allow_none=False):
    """`value` (int or sequence) as a `rank`-tuple of positive ints, or a ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * rank
    try:
        values = tuple(value)
    except TypeError:
        values = None
    if values is None or len(values) != rank or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ValueError(
            f"The `{arg_name}` argument must be a tuple of {rank} integers. "
            f"Received {arg_name}={value!r}")
    bad = {v for v in values if v <= 0}
    if bad:
        raise ValueError(
            f"The `{arg_name}` argument must be a tuple of {rank} integers. Received "
            f"{arg_name}={value!r}, including values {bad} that do not satisfy `value > 0`")
    return tuple(int(v) for v in values)


def standardize_padding(padding, owner):
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in ("valid", "same"):
        raise ValueError(
            f"Invalid `padding` argument for {owner}: expected 'valid' or 'same'. "
            f"Received: padding={padding!r}")
    return value


def same_padding(size, kernel, stride):
    """(before, after) padding so that `ceil(size / stride)` windows fit (TF's rule: the
    odd pixel goes after)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pooled_length(size, kernel, stride, padding):
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


class BasePooling(Layer):
    """Max or average pooling with `rank` spatial dims (shared by the rank variants).

    Args:
        pool_size: int or tuple of `rank` ints, the window size.
        strides: int or tuple; None means `pool_size`.
        padding: `"valid"` (no padding) or `"same"` (output size `ceil(input / stride)`;
            padded positions never win a max and are not counted in an average).
        data_format: `"channels_last"` (default) or `"channels_first"`.
    """

    rank = None
    mode = None  # "max" or "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size")
        strides = pool_size if strides is None else strides
        self.strides = standardize_tuple(strides, self.rank, "strides")
        self.padding = standardize_padding(padding, owner)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._channels_last = self.data_format == "channels_last"
        self._kernel = _MAX_POOL[self.rank] if self.mode == "max" else _AVG_POOL[self.rank]
        self._same_plans = {}
        self.built = True

    def call(self, inputs):
        x = inputs.movedim(-1, 1) if self._channels_last else inputs
        if self.padding == "valid":
            y = self._kernel(x, self.pool_size, self.strides)
        else:
            y = self._pool_same(x)
        return y.movedim(1, -1) if self._channels_last else y

    def _pool_same(self, x):
        # NOTE: the padding depends on the spatial size only, so it is planned once per size.
        key = (tuple(x.shape[2:]), x.device, x.dtype)
        plan = self._same_plans.get(key)
        if plan is None:
            plan = self._plan_same(*key)
            if x.__class__ is torch.Tensor:  # never cache tensors made during symbolic runs
                self._same_plans[key] = plan
        symmetric, pads, scale = plan
        if symmetric is not None:
            if self.mode == "max":
                return self._kernel(x, self.pool_size, self.strides, symmetric)
            return self._kernel(x, self.pool_size, self.strides, symmetric,
                                count_include_pad=False)
        if self.mode == "max":
            return self._kernel(F.pad(x, pads, value=-math.inf), self.pool_size, self.strides)
        return self._kernel(F.pad(x, pads), self.pool_size, self.strides) * scale

    def _plan_same(self, spatial, device, dtype):
        per_dim = [same_padding(n, k, s) for n, k, s in zip(spatial, self.pool_size,
                                                              self.strides)]
        if all(before == after for before, after in per_dim):
            return tuple(before for before, _ in per_dim), None, None
        pads = tuple(p for before_after in reversed(per_dim) for p in before_after)
        scale = None
        if self.mode == "average":
            # torch averages over the zero-padded window; rescale each output by
            # window size / number of real (unpadded) positions in it.
            scale = torch.ones((), dtype=torch.float64)
            for n, k, s, (before, _) in zip(spatial, self.pool_size, self.strides, per_dim):
                starts = torch.arange(math.ceil(n / s), dtype=torch.float64) * s - before
                real = (starts + k).clamp(max=n) - starts.clamp(min=0)
                scale = scale[..., None] * (k / real)
            scale = scale.to(device=device, dtype=dtype)
        return None, pads, scale

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = 1 if self._channels_last else 2
        for i in range(self.rank):
            shape[first + i] = pooled_length(shape[first + i], self.pool_size[i],
                                             self.strides[i], self.padding)
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                      data_format=self.data_format)
        return config
