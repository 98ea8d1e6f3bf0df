"""`ZeroPadding1D/2D/3D`: pad the spatial axes with zeros."""

import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_ORDINALS = ("1st", "2nd", "3rd")


def standardize_tuple(value, n, name, allow_zero=False):
    """`value` (an int, or `n` ints) as a tuple of `n` ints, each positive (or >= 0 with
    `allow_zero`); a ValueError names `name` otherwise."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * n
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(message) from None
    if len(value) != n or not all(isinstance(v, int) and not isinstance(v, bool)
                                  for v in value):
        raise ValueError(message)
    bad = {v for v in value if (v < 0 if allow_zero else v <= 0)}
    if bad:
        requirement = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{message}, including values {bad} that do not satisfy `value {requirement}`")
    return value


def standardize_pairs(value, rank, name):
    """`value` as `rank` (before, after) pairs of non-negative ints: an int pads every
    side alike, a tuple of `rank` ints pads each axis symmetrically, and a tuple of
    `rank` pairs gives each side."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ((value, value),) * rank
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"`{name}` should be an int, a tuple of {rank} ints, or a tuple of {rank} tuples "
            f"of 2 ints (before, after). Received: {name}={value}."
        )
    if len(value) != rank:
        # Keras' own wording differs by rank; kept so that messages match.
        if rank == 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        raise ValueError(f"`{name}` should have {rank} elements. Received: {value}.")
    return tuple(standardize_tuple(v, 2, f"{_ORDINALS[i]} entry of {name}", allow_zero=True)
                 for i, v in enumerate(value))


class _ZeroPadding(Layer):
    """Zero padding over `rank` spatial axes (channels-last or channels-first)."""

    rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        if self.rank == 1:
            self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)
            pairs = (self.padding,)
        else:
            self.padding = pairs = standardize_pairs(padding, self.rank, "padding")
        self.input_spec = InputSpec(ndim=self.rank + 2)
        # F.pad lists (before, after) from the last axis backwards.
        channels_last = self.data_format == "channels_last"
        pad = [0, 0] if channels_last else []
        for before, after in reversed(pairs):
            pad += [before, after]
        self._pad = tuple(pad)
        self._pairs = pairs
        self._first_spatial = 1 if channels_last else 2
        self.built = True

    def call(self, inputs):
        return F.pad(inputs, self._pad)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for i, (before, after) in enumerate(self._pairs):
            axis = self._first_spatial + i
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis of `(batch, steps, channels)` inputs with zeros.

    Args:
        padding: int (both sides) or a pair `(before, after)`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> ZeroPadding1D((1, 2))(torch.ones(2, 3, 4)).shape
    torch.Size([2, 6, 4])
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """As `ZeroPadding1D` over two spatial axes: `padding` is an int, `(rows, cols)`
    (symmetric), or `((top, bottom), (left, right))`.

    >>> import torch
    >>> ZeroPadding2D(((1, 0), (2, 2)))(torch.ones(2, 3, 3, 1)).shape
    torch.Size([2, 4, 7, 1])
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """As `ZeroPadding1D` over three spatial axes: `padding` is an int, three ints
    (symmetric per axis), or three `(before, after)` pairs.

    >>> import torch
    >>> ZeroPadding3D(1)(torch.ones(1, 2, 2, 2, 3)).shape
    torch.Size([1, 4, 4, 4, 3])
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
