"""`Cropping1D/2D/3D`: remove entries from both ends of the spatial axes."""

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.reshaping.zero_padding import standardize_pairs, standardize_tuple


class _Cropping(Layer):
    """Cropping over `rank` spatial axes; the output is a view of the input."""

    rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if self.rank == 1:
            self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)
            pairs = (self.cropping,)
            self.data_format = "channels_last"
        else:
            self.cropping = pairs = standardize_pairs(cropping, self.rank, "cropping")
            self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._pairs = pairs
        self._first_spatial = 1 if self.data_format == "channels_last" else 2
        self.built = True

    def _too_large(self, shape):
        if self.rank == 1:
            return ValueError(
                f"Layer '{self.name}' (Cropping1D): `cropping` parameter of `Cropping1D` layer "
                "must be smaller than the input length. Received: "
                f"inputs.shape={tuple(shape)}, cropping={self.cropping}"
            )
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}): Values in `cropping` argument "
            "should be smaller than the corresponding spatial dimension of the input. "
            f"Received: input_shape={tuple(shape)}, cropping={self.cropping}"
        )

    def call(self, inputs):
        index = [slice(None)] * inputs.ndim
        shape = inputs.shape
        for i, (before, after) in enumerate(self._pairs):
            axis = self._first_spatial + i
            if before + after >= shape[axis]:
                raise self._too_large(shape)
            index[axis] = slice(before, shape[axis] - after)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for i, (before, after) in enumerate(self._pairs):
            axis = self._first_spatial + i
            if shape[axis] is not None:
                if before + after >= shape[axis]:
                    raise self._too_large(input_shape)
                shape[axis] -= before + after
        return tuple(shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Crops the steps axis of `(batch, steps, features)` inputs.

    Args:
        cropping: int (both ends) or a pair `(start, end)`: how many steps to remove.

    >>> import torch
    >>> Cropping1D((1, 2))(torch.ones(2, 6, 3)).shape
    torch.Size([2, 3, 3])
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


class Cropping2D(_Cropping):
    """As `Cropping1D` over two spatial axes: `cropping` is an int, `(rows, cols)`
    (symmetric), or `((top, bottom), (left, right))`; `data_format` as for images.

    >>> import torch
    >>> Cropping2D(((1, 0), (2, 2)))(torch.ones(2, 4, 7, 1)).shape
    torch.Size([2, 3, 3, 1])
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """As `Cropping1D` over three spatial axes: `cropping` is an int, three ints
    (symmetric per axis), or three `(start, end)` pairs.

    >>> import torch
    >>> Cropping3D(1)(torch.ones(1, 4, 4, 4, 3)).shape
    torch.Size([1, 2, 2, 2, 3])
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
