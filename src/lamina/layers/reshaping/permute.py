"""`Permute`: reorder the non-batch axes."""

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class Permute(Layer):
    """Permutes the non-batch axes of the input.

    Args:
        dims: the new order of the non-batch axes, 1-indexed (the batch axis is 0), e.g.
            `(2, 1)` swaps the two axes of a `(batch, steps, features)` input.

    >>> import torch, lamina
    >>> Permute((2, 1))(torch.zeros(8, 3, 5)).shape
    torch.Size([8, 5, 3])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                f"`dims` must be consecutive and start from 1. Received dims={self.dims}"
            )
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self._order = (0, *self.dims)
        self.built = True

    def call(self, inputs):
        return inputs.permute(self._order)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[i] for i in self._order)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
