"""`GlobalAveragePooling1D/2D/3D` and `GlobalMaxPooling1D/2D/3D`: reduce all spatial dims."""

import torch

from lamina.backend.config import standardize_data_format
from lamina.backend.convert import convert_to_tensor
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Mean or max over every spatial axis (shared by the rank variants).

    Args:
        data_format: `"channels_last"` (default) or `"channels_first"`.
        keepdims: keep the reduced axes with size 1.
    """

    rank = None
    reduce = None  # torch.mean or torch.amax

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        first = 1 if self.data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))
        self.built = True

    def call(self, inputs):
        return type(self).reduce(inputs, dim=self._axes, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if self.keepdims:
            return tuple(1 if i in self._axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in self._axes)

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class _GlobalAverage(BaseGlobalPooling):
    reduce = torch.mean
    _casts_integer_inputs = True  # the mean of ints is float, as in Keras


class _GlobalMax(BaseGlobalPooling):
    reduce = torch.amax


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over the steps axis; with a `(batch, steps)` mask, masked steps are left out.

    >>> import torch
    >>> x = torch.tensor([[[1.0], [2.0], [6.0]]])
    >>> GlobalAveragePooling1D()(x, mask=torch.tensor([[True, True, False]])).tolist()
    [[1.5]]
    """

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return torch.mean(inputs, dim=self._axes, keepdim=self.keepdims)
        if not isinstance(mask, torch.Tensor):
            mask = convert_to_tensor(mask)
        axis = self._axes[0]
        weights = mask.to(inputs.dtype).unsqueeze(2 if axis == 1 else 1)
        total = torch.sum(inputs * weights, dim=axis, keepdim=self.keepdims)
        return total / torch.sum(weights, dim=axis, keepdim=self.keepdims)

    def compute_mask(self, inputs, previous_mask):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over height and width.

    >>> import torch
    >>> GlobalAveragePooling2D(keepdims=True)(torch.ones(2, 4, 4, 3)).shape
    torch.Size([2, 1, 1, 3])
    """

    rank = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over the three spatial axes.

    >>> import torch
    >>> GlobalAveragePooling3D()(torch.ones(2, 3, 3, 3, 5)).shape
    torch.Size([2, 5])
    """

    rank = 3


class GlobalMaxPooling1D(_GlobalMax):
    """Maximum over the steps axis (like Keras, it takes no mask).

    >>> import torch
    >>> GlobalMaxPooling1D()(torch.tensor([[[1.0], [5.0], [2.0]]])).tolist()
    [[5.0]]
    """

    rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Maximum over height and width.

    >>> import torch
    >>> GlobalMaxPooling2D(data_format="channels_first")(torch.ones(2, 3, 4, 4)).shape
    torch.Size([2, 3])
    """

    rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Maximum over the three spatial axes.

    >>> import torch
    >>> GlobalMaxPooling3D()(torch.ones(2, 3, 3, 3, 5)).shape
    torch.Size([2, 5])
    """

    rank = 3


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
