"""`MaxPooling1D/2D/3D`: the maximum over each window."""

from lamina.layers.pooling.base_pooling import BasePooling


class _MaxPooling(BasePooling):
    mode = "max"


class MaxPooling1D(_MaxPooling):
    """Max pooling over one spatial dim; inputs `(batch, steps, channels)` by default.

    See `BasePooling` for the arguments.

    >>> import torch
    >>> MaxPooling1D(pool_size=2)(torch.arange(6.0).reshape(1, 6, 1)).flatten().tolist()
    [1.0, 3.0, 5.0]
    """

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(_MaxPooling):
    """As `MaxPooling1D`, with two spatial dims: `(batch, height, width, channels)`.

    >>> import torch
    >>> MaxPooling2D()(torch.ones(1, 4, 6, 3)).shape
    torch.Size([1, 2, 3, 3])
    """

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling3D(_MaxPooling):
    """As `MaxPooling1D`, with three spatial dims.

    >>> import torch
    >>> MaxPooling3D(padding="same")(torch.ones(1, 3, 4, 5, 2)).shape
    torch.Size([1, 2, 2, 3, 2])
    """

    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
