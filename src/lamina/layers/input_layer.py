"""`Input` and `InputLayer`: the entry points of functional models."""

from lamina.backend.dtypes import standardize_dtype
from lamina.backend.symbolic import KerasTensor
from lamina.layers.layer import Layer
from lamina.ops.node import Node


class InputLayer(Layer):
    """The layer behind `Input`: produces a symbolic tensor of a given shape and dtype.

    >>> InputLayer(shape=(4,)).output.shape
    (None, 4)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, **kwargs)
        if sparse:
            raise ValueError("lamina does not support sparse inputs: pass sparse=False.")
        if ragged:
            raise ValueError("lamina does not support ragged inputs: pass ragged=False.")
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `shape` and `batch_shape` at the same time. "
                f"Received: shape={shape}, batch_shape={batch_shape}"
            )
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(
                    "Argument `input_tensor` must be a KerasTensor. "
                    f"Received: {type(input_tensor).__name__}"
                )
            batch_shape = input_tensor.shape
            dtype = dtype or input_tensor.dtype
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument to Input (e.g. shape=(8,)).")
            if isinstance(shape, int):
                shape = (shape,)
            try:
                batch_shape = (batch_size, *tuple(shape))
            except TypeError:
                raise ValueError(
                    f"Argument `shape` must be a tuple of integers. Received: shape={shape!r}"
                ) from None
        batch_shape = tuple(batch_shape)
        for d in batch_shape:
            if d is not None and (not isinstance(d, int) or d < 0):
                raise ValueError(
                    "Input dimensions must be non-negative integers or None. "
                    f"Received: shape={batch_shape}"
                )
        self._batch_shape = batch_shape
        self._input_dtype = standardize_dtype(dtype)
        self.sparse = False
        self.optional = optional
        self.built = True
        tensor = input_tensor or KerasTensor(batch_shape, dtype=self._input_dtype, name=self.name)
        self._input_tensor = tensor
        Node(self, (), {}, tensor)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def dtype(self):
        return self._input_dtype

    def call(self, inputs=None):
        return inputs

    def get_config(self):
        return {
            "batch_shape": list(self._batch_shape),
            "dtype": self._input_dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("ragged", None)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False, ragged=None):
    """A symbolic input for a functional model: `Input(shape=(8,))` has shape `(None, 8)`.

    >>> import lamina
    >>> x = lamina.Input(shape=(28, 28), name="image")
    >>> x.shape
    (None, 28, 28)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, input_tensor=tensor,
                       optional=optional, ragged=ragged)
    return layer.output
