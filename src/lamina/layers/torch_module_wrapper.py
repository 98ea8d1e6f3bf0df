"""`TorchModuleWrapper`: any `torch.nn.Module` as a lamina layer."""

import torch

from lamina.layers.layer import Layer, _adopt_torch_module


class TorchModuleWrapper(Layer):
    """Use a `torch.nn.Module` inside a lamina model; its parameters become trainable
    lamina Variables (same storage), so `fit`, optimizers and `weights` see them.

    Args:
        module: the torch module to wrap.
        name: layer name.
        output_shape: optional output shape (without batch) when it can't be inferred.

    >>> import torch, lamina
    >>> layer = TorchModuleWrapper(torch.nn.Linear(4, 2))
    >>> layer(torch.ones(3, 4)).shape
    torch.Size([3, 2])
    >>> len(layer.trainable_weights)
    2
    """

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                "TorchModuleWrapper wraps a `torch.nn.Module`. Received: "
                f"{module!r} (of type {type(module).__name__})"
            )
        _adopt_torch_module(module)
        self.module = module
        self._output_shape = output_shape
        self.built = True

    def call(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is not None:
            return (input_shape[0], *self._output_shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        from lamina.serialization.serialization import in_safe_mode  # noqa: F401

        config = super().get_config()
        config["module"] = None
        config["output_shape"] = self._output_shape
        return config

    @classmethod
    def from_config(cls, config):
        raise ValueError(
            "A TorchModuleWrapper cannot be rebuilt from its config: the torch module's code "
            "is not part of the file. Recreate the module in code, wrap it, then load weights."
        )
