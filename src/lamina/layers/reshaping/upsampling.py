"""`UpSampling1D/2D/3D`: repeat (or interpolate) along the spatial axes."""

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.reshaping.zero_padding import standardize_tuple

_INTERPOLATIONS = ("nearest", "bilinear")


def repeat_spatial(inputs, sizes, first_axis):
    """Repeat each entry `sizes[i]` times along axis `first_axis + i` (nearest
    upsampling): a broadcast view, then one copy, for any dtype."""
    index, view, out = [], [], []
    for axis, n in enumerate(inputs.shape):
        index.append(slice(None))
        view.append(n)
        if first_axis <= axis < first_axis + len(sizes):
            size = sizes[axis - first_axis]
            index.append(None)
            view.append(size)
            out.append(n * size)
        else:
            out.append(n)
    return inputs[tuple(index)].expand(view).reshape(out)


class _UpSampling(Layer):
    """Upsampling over `rank` spatial axes by integer factors."""

    rank = None

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, self.rank, "size")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): argument `interpolation` must "
                f"be one of {_INTERPOLATIONS}. Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._first_spatial = 1 if self.data_format == "channels_last" else 2
        self.built = True

    def call(self, inputs):
        if self.interpolation == "nearest":
            return repeat_spatial(inputs, self.size, self._first_spatial)
        x = inputs if self.data_format == "channels_first" else inputs.movedim(-1, 1)
        dtype = x.dtype
        if not dtype.is_floating_point:
            x = x.float()
        shape = tuple(n * s for n, s in zip(x.shape[2:], self.size))
        out = F.interpolate(x, size=shape, mode="bilinear", align_corners=False)
        if out.dtype is not dtype:
            out = torch.round(out).to(dtype)
        return out if self.data_format == "channels_first" else out.movedim(1, -1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for i, size in enumerate(self.size):
            axis = self._first_spatial + i
            if shape[axis] is not None:
                shape[axis] *= size
        return tuple(shape)


class UpSampling1D(_UpSampling):
    """Repeats each step of `(batch, steps, features)` inputs `size` times.

    Args:
        size: positive int, the upsampling factor.

    >>> import torch
    >>> UpSampling1D(2)(torch.tensor([[[1.0], [2.0]]])).flatten().tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        super().__init__(size, **kwargs)
        self.size = size
        self._first_spatial = 1

    def call(self, inputs):
        return repeat_spatial(inputs, (self.size,), 1)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(_UpSampling):
    """Upsamples the rows and columns of images by `size` factors.

    Args:
        size: int or `(rows, cols)` ints, the upsampling factors.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        interpolation: `"nearest"` (repeat) or `"bilinear"`.

    >>> import torch
    >>> UpSampling2D((2, 3))(torch.ones(1, 2, 2, 4)).shape
    torch.Size([1, 4, 6, 4])
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format,
                      interpolation=self.interpolation)
        return config


class UpSampling3D(_UpSampling):
    """As `UpSampling2D` (nearest only) over three spatial axes.

    >>> import torch
    >>> UpSampling3D(2)(torch.ones(1, 1, 2, 3, 4)).shape
    torch.Size([1, 2, 4, 6, 4])
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format)
        return config
