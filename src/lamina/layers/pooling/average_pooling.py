"""`AveragePooling1D/2D/3D`: the mean over each window."""

from lamina.layers.pooling.base_pooling import BasePooling


class _AveragePooling(BasePooling):
    mode = "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_AveragePooling):
    """Average pooling over one spatial dim; inputs `(batch, steps, channels)` by default.

    With `padding="same"`, padded positions are left out of each mean. See `BasePooling`
    for the arguments.

    >>> import torch
    >>> x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    >>> AveragePooling1D(2, padding="same")(x).flatten().tolist()
    [1.5, 3.5, 5.0]
    """

    rank = 1


class AveragePooling2D(_AveragePooling):
    """As `AveragePooling1D`, with two spatial dims: `(batch, height, width, channels)`.

    >>> import torch
    >>> AveragePooling2D(2)(torch.ones(1, 4, 6, 3)).shape
    torch.Size([1, 2, 3, 3])
    """

    rank = 2


class AveragePooling3D(_AveragePooling):
    """As `AveragePooling1D`, with three spatial dims.

    >>> import torch
    >>> AveragePooling3D(2, data_format="channels_first")(torch.ones(1, 2, 4, 4, 4)).shape
    torch.Size([1, 2, 2, 2, 2])
    """

    rank = 3


AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
