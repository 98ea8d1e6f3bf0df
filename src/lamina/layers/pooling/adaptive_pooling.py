"""`AdaptiveAveragePooling1D/2D/3D`, `AdaptiveMaxPooling1D/2D/3D`: pool to a fixed size.

Output cell `i` of an axis of input size `n` and output size `m` covers the inputs
`floor(i * n / m)` to `ceil((i + 1) * n / m)` (torch's and Keras' rule).
"""

import numbers

import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_KERNELS = {
    ("average", 1): F.adaptive_avg_pool1d, ("average", 2): F.adaptive_avg_pool2d,
    ("average", 3): F.adaptive_avg_pool3d, ("max", 1): F.adaptive_max_pool1d,
    ("max", 2): F.adaptive_max_pool2d, ("max", 3): F.adaptive_max_pool3d,
}


def _standardize_output_size(value, rank, owner):
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(value):
        values = (int(value),) * rank
    elif isinstance(value, (tuple, list)):
        if len(value) != rank:
            raise ValueError(
                f"{owner}: `output_size` must be an integer or a tuple of {rank} integers. "
                f"Received: output_size={value!r} (length {len(value)})")
        values = tuple(value)
    else:
        values = None
    if values is None or not all(is_int(v) for v in values):
        raise TypeError(
            f"{owner}: `output_size` must be an integer or a tuple of {rank} integers. "
            f"Received: {value!r} of type {type(value)}")
    if any(v <= 0 for v in values):
        raise ValueError(
            f"{owner}: `output_size` values must be positive. Received: output_size={value!r}")
    return tuple(int(v) for v in values)


class BaseAdaptivePooling(Layer):
    """Pool every spatial axis down (or up) to `output_size` (shared by the variants).

    Args:
        output_size: int or tuple of `rank` positive ints.
        data_format: `"channels_last"` (default) or `"channels_first"`.
    """

    rank = None
    mode = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.output_size = _standardize_output_size(output_size, self.rank, owner)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._channels_last = self.data_format == "channels_last"
        self._kernel = _KERNELS[(self.mode, self.rank)]
        self.built = True

    def call(self, inputs):
        if self._channels_last:
            return self._kernel(inputs.movedim(-1, 1), self.output_size).movedim(1, -1)
        return self._kernel(inputs, self.output_size)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = 1 if self._channels_last else 2
        shape[first:first + self.rank] = self.output_size
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(output_size=self.output_size, data_format=self.data_format)
        return config


class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Average-pool the steps axis to `output_size` cells.

    >>> import torch
    >>> x = torch.arange(1.0, 8.0).reshape(1, 7, 1)
    >>> AdaptiveAveragePooling1D(3)(x).flatten().tolist()
    [2.0, 4.0, 6.0]
    """

    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """As `AdaptiveAveragePooling1D`, with two spatial dims.

    >>> import torch
    >>> AdaptiveAveragePooling2D((2, 3))(torch.ones(1, 5, 7, 4)).shape
    torch.Size([1, 2, 3, 4])
    """

    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """As `AdaptiveAveragePooling1D`, with three spatial dims.

    >>> import torch
    >>> AdaptiveAveragePooling3D(2)(torch.ones(1, 4, 5, 6, 3)).shape
    torch.Size([1, 2, 2, 2, 3])
    """

    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Max-pool the steps axis to `output_size` cells.

    >>> import torch
    >>> x = torch.arange(1.0, 8.0).reshape(1, 7, 1)
    >>> AdaptiveMaxPooling1D(3)(x).flatten().tolist()
    [3.0, 5.0, 7.0]
    """

    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """As `AdaptiveMaxPooling1D`, with two spatial dims.

    >>> import torch
    >>> AdaptiveMaxPooling2D(2, data_format="channels_first")(torch.ones(1, 3, 5, 5)).shape
    torch.Size([1, 3, 2, 2])
    """

    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """As `AdaptiveMaxPooling1D`, with three spatial dims.

    >>> import torch
    >>> AdaptiveMaxPooling3D((1, 2, 3))(torch.ones(1, 4, 5, 6, 3)).shape
    torch.Size([1, 1, 2, 3, 3])
    """

    rank, mode = 3, "max"
