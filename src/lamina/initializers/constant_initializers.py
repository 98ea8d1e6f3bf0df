"""Deterministic initializers: Zeros, Ones, Constant, Identity."""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.initializers.initializer import Initializer
from lamina.serialization import serialization


def _shape(shape):
    return tuple(int(d) for d in shape)


class Zeros(Initializer):
    """All zeros.

    >>> import lamina
    >>> lamina.initializers.Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return torch.zeros(_shape(shape), dtype=to_torch_dtype(dtype), device=config.get_device())


class Ones(Initializer):
    """All ones.

    >>> import lamina
    >>> lamina.initializers.Ones()((2,), dtype="int32").tolist()
    [1, 1]
    """

    def __call__(self, shape, dtype=None):
        return torch.ones(_shape(shape), dtype=to_torch_dtype(dtype), device=config.get_device())


class Constant(Initializer):
    """Every entry equals `value` (a scalar, or an array broadcast to the shape).

    >>> import lamina
    >>> lamina.initializers.Constant(3.0)((2,)).tolist()
    [3.0, 3.0]
    """

    def __init__(self, value=0.0):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        dtype = to_torch_dtype(dtype)
        device = config.get_device()
        if np.ndim(self.value) == 0:
            return torch.full(shape, float(self.value) if dtype.is_floating_point
                              else self.value, dtype=dtype, device=device)
        value = torch.as_tensor(np.asarray(self.value), dtype=dtype, device=device)
        try:
            return torch.broadcast_to(value, shape).clone()
        except RuntimeError:
            raise ValueError(
                f"Constant initializer: a value of shape {tuple(value.shape)} cannot be "
                f"broadcast to the requested shape {shape}."
            ) from None

    def get_config(self):
        return {"value": serialization.serialize_keras_object(self.value)}

    @classmethod
    def from_config(cls, config):
        value = serialization.deserialize_keras_object(config["value"])
        return cls(value=value)


class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only; non-square ones are padded
    with zeros).

    >>> import lamina
    >>> lamina.initializers.Identity()((2, 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        eye = torch.eye(*shape, dtype=to_torch_dtype(dtype), device=config.get_device())
        return eye if self.gain == 1.0 else eye * self.gain

    def get_config(self):
        # NOTE: Keras writes `{}` (dropping `gain`); we add it only when it is not the
        # default, so default configs match Keras and a custom gain survives a round trip.
        return {} if self.gain == 1.0 else {"gain": self.gain}


IdentityInitializer = Identity
