"""`TorchModuleWrapper`: any `torch.nn.Module` as a lamina layer, and the adoption of a
plain module's parameters that a layer also applies to torch modules it holds."""

import torch

from lamina.layers.layer import Layer
from lamina.variables import Variable


def adopt_torch_module(module):
    """Turn the parameters of a plain `nn.Module` into `lamina.Variable`s in place (same
    storage), so Keras-side code (weights, optimizers, saving) sees Variables.

    A Parameter held in several places (weight tying, e.g. an embedding shared with the
    output projection) becomes one Variable: one gradient, one optimizer slot.

    >>> import torch
    >>> embed, head = torch.nn.Embedding(5, 3), torch.nn.Linear(3, 5, bias=False)
    >>> head.weight = embed.weight
    >>> adopt_torch_module(torch.nn.ModuleList([embed, head]))
    >>> head.weight is embed.weight, type(head.weight).__name__
    (True, 'Variable')
    """
    for sub in module.modules():
        for key, param in list(sub._parameters.items()):
            if param is None or isinstance(param, Variable):
                continue
            # NOTE: the memo lives on the replaced Parameter, so a tie is kept however the
            # tied modules are adopted: in one module or in two (`self.a = ...; self.b = ...`).
            variable = getattr(param, "_lamina_variable", None)
            if variable is None:
                variable = Variable(param.data, dtype=param.dtype,
                                    trainable=param.requires_grad, name=key)
                variable._lamina_is_param = True
                param._lamina_variable = variable
            sub._parameters[key] = variable


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
        adopt_torch_module(module)
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
