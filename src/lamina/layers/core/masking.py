"""`Masking`: mark timesteps whose features all equal a padding value."""

from lamina.backend.convert import tensor_unless_symbolic
from lamina.layers.layer import Layer


class Masking(Layer):
    """Masks timesteps whose features all equal `mask_value`.

    The output is the input with masked timesteps zeroed, and it carries the mask
    `any(inputs != mask_value, axis=-1)` for downstream layers (RNNs, attention, losses).

    Args:
        mask_value: the padding value.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]])
    >>> out = Masking()(x)
    >>> out._keras_mask.tolist()
    [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return inputs * keep.to(inputs.dtype)

    def compute_mask(self, inputs, previous_mask=None):
        return (tensor_unless_symbolic(inputs) != self.mask_value).any(dim=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
