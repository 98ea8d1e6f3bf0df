"""`Rescaling`: `inputs * scale + offset`, in the compute dtype."""

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import in_symbolic_run
from lamina.layers.layer import Layer
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object

_CPU = torch.device("cpu")


class Rescaling(Layer):
    """Rescales inputs to `inputs * scale + offset`, in training and inference alike.

    Integer inputs (e.g. uint8 pixels) are accepted; the output is in the compute dtype
    (float32 by default). `scale` and `offset` are numbers, or arrays broadcast against
    the input; a 1-D array is one value per channel, on the channel axis of
    `image_data_format()` (read when the layer is built).

    Args:
        scale: the factor, e.g. `1 / 255` maps `[0, 255]` to `[0, 1]`.
        offset: added after scaling, e.g. `scale=1 / 127.5, offset=-1` maps `[0, 255]` to
            `[-1, 1]`.

    >>> import torch
    >>> Rescaling(1 / 127.5, offset=-1)(torch.tensor([0, 255], dtype=torch.uint8))
    tensor([-1.,  1.])
    """

    _casts_integer_inputs = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True
        # device -> (scale, offset) tensors in the compute dtype (filled by `build`)
        self.__dict__["_constants"] = {}

    def build(self, input_shape):
        dtype = self.dtype_policy.compute_torch_dtype
        channels_first = backend_config.image_data_format() == "channels_first"
        # NOTE: unlike Keras, which moves only `scale` to the channel axis, both constants
        # move: a per-channel offset would otherwise broadcast over the width.
        constants = []
        for arg in ("scale", "offset"):
            value = getattr(self, arg)
            try:
                constants.append(_constant(value, dtype, channels_first))
            except (TypeError, ValueError, RuntimeError) as error:
                raise ValueError(
                    f"Rescaling layer '{self.name}': `{arg}` must be a number or an array of "
                    f"numbers (one per channel). Received: {arg}={value!r}") from error
        self.__dict__["_constants"] = {_CPU: tuple(constants)}
        self.built = True

    def call(self, inputs):
        if isinstance(inputs, dict):
            # Keras' symbolic spec for a dict is every entry, same shape, in the compute
            # dtype: each entry is rescaled.
            dtype = self.dtype_policy.compute_torch_dtype
            return {key: self.call(torch.as_tensor(value).to(dtype))
                    for key, value in inputs.items()}
        device = inputs.device
        constants = self._constants.get(device)
        if constants is None:
            scale, offset = self._constants[_CPU]
            if scale.ndim or offset.ndim:  # 0-d CPU tensors work on every device
                scale, offset = scale.to(device), offset.to(device)
            constants = scale, offset
            if not in_symbolic_run():
                self._constants[device] = constants
        scale, offset = constants
        return inputs * scale + offset

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            return {key: tuple(shape) for key, shape in input_shape.items()}
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(scale=_serialize(self.scale), offset=_serialize(self.offset))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = _deserialize(config[key])
        return super().from_config(config)


def _constant(value, dtype, channels_first):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
    constant = torch.as_tensor(np.asarray(value), dtype=dtype)
    if channels_first and 0 < constant.ndim < 3:
        constant = constant.reshape(*constant.shape, *(1,) * (3 - constant.ndim))
    return constant


def _serialize(value):
    # NOTE: Keras' layout for a tensor in a config (`serialize_keras_object` knows
    # numbers, lists and numpy arrays).
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return {"class_name": "__tensor__", "config": {
            "value": value.tolist(), "dtype": str(value.dtype).replace("torch.", "")}}
    return serialize_keras_object(value)


def _deserialize(value):
    if isinstance(value, dict) and value.get("class_name") == "__tensor__":
        inner = value["config"]
        return torch.tensor(inner["value"], dtype=to_torch_dtype(inner["dtype"]))
    return deserialize_keras_object(value)
