"""`Identity`: returns its input unchanged."""

from lamina.layers.layer import Layer


class Identity(Layer):
    """A placeholder layer that returns its input (any structure) unchanged.

    >>> import torch, lamina
    >>> x = torch.ones(2, 3)
    >>> Identity()(x) is x
    True
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
