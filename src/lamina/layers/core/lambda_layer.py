"""`Lambda`: wrap a function as a layer.

A Python `lambda` is saved as its compiled bytecode (marshal, then base64), as Keras
does, so `.keras` files move both ways. Loading bytecode runs code from the file, so
`from_config` refuses it in safe mode.
"""

import base64
import builtins
import inspect
import marshal
import types

import numpy as np
import torch

from lamina import activations, ops
from lamina.layers.layer import Layer
from lamina.serialization import registry, serialization

_UNSAFE_LAMBDA = (
    "Requested the deserialization of a `Lambda` layer whose `{what}` is a Python lambda. "
    "Loading it executes bytecode stored in the file, which is a potential risk of arbitrary "
    "code execution, so it is disallowed by default. If you trust the source of the file, "
    "pass `safe_mode=False` to the loading function, or call "
    "`lamina.config.enable_unsafe_deserialization()`."
)


class Lambda(Layer):
    """Wraps a function (usually a `lambda`) as a layer.

    Args:
        function: called as `function(inputs, **arguments)`; it also receives `mask=` and
            `training=` when its signature names them.
        output_shape: the per-sample output shape (a tuple, the batch axis is added), or
            a function mapping the full input shape to the full output shape. When None
            the shape is inferred by running `function`.
        mask: a function `mask(inputs, previous_mask)` computing the output mask, or a
            fixed mask. With a mask the layer supports masking.
        arguments: dict of extra keyword arguments passed to `function`.

    >>> import torch, lamina
    >>> layer = Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    >>> layer(torch.ones(1, 2)).tolist()
    [[3.0, 3.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                "Argument `function` of Lambda must be callable. "
                f"Received: {function!r} of type {type(function).__name__}"
            )
        self.function = function
        self.arguments = dict(arguments) if arguments else {}
        self.mask = mask
        self._output_shape = output_shape
        self.supports_masking = mask is not None
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._pass_mask = "mask" in params
        self._pass_training = "training" in params
        self.built = True

    def call(self, inputs, mask=None, training=None):
        kwargs = self.arguments
        if self._pass_mask or self._pass_training:
            kwargs = dict(kwargs)
            if self._pass_mask:
                kwargs["mask"] = mask
            if self._pass_training:
                kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        spec = self._output_shape
        if spec is None:
            return super().compute_output_shape(input_shape)
        if callable(spec):
            return spec(input_shape)
        first = input_shape
        while isinstance(first, (list, tuple, dict)) and first and not _is_shape(first):
            first = next(iter(first.values())) if isinstance(first, dict) else first[0]
        batch = first[0] if first else None
        if _is_shape(spec):
            return (batch, *spec)
        return [(batch, *s) for s in spec]

    def get_config(self):
        config = super().get_config()
        config["function"] = _serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_function(self._output_shape)
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = _serialize_function(self.mask) if callable(self.mask) else self.mask
        config["arguments"] = {k: serialization.serialize_keras_object(v)
                               for k, v in self.arguments.items()}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild a Lambda; Python-lambda bytecode is only loaded with safe mode off."""
        config = dict(config)
        if safe_mode is None:
            safe_mode = serialization.in_safe_mode()
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict) and "class_name" in value:
                config[key] = _deserialize_function(value, custom_objects, safe_mode, key)
        if isinstance(config.get("output_shape"), list) and _is_shape(config["output_shape"]):
            config["output_shape"] = tuple(config["output_shape"])
        arguments = config.get("arguments") or {}
        config["arguments"] = {
            k: serialization.deserialize_keras_object(v, custom_objects, safe_mode)
            if isinstance(v, dict) and "class_name" in v else v
            for k, v in arguments.items()
        }
        return super().from_config(config)


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value)


def _serialize_function(fn):
    """Keras' config for a function inside a Lambda config."""
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        closure = fn.__closure__
        # NOTE: re-marshalling a loaded code object can change its bytes (reference flags),
        # so a lambda read from a config writes back the exact text it was read from.
        code = getattr(fn, "_lamina_code_text", None)
        if code is None or code[0] is not fn.__code__:
            code = (fn.__code__, base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"))
        return {
            "class_name": "__lambda__",
            "config": {
                "code": code[1],
                "defaults": fn.__defaults__,
                "closure": tuple(c.cell_contents for c in closure) if closure else None,
            },
        }
    return serialization.serialize_keras_object(fn)  # Keras' `builtins` function layout


def _deserialize_function(config, custom_objects, safe_mode, what):
    class_name = config["class_name"]
    if class_name == "__lambda__":
        if safe_mode:
            raise ValueError(_UNSAFE_LAMBDA.format(what=what))
        return _load_lambda(config["config"], custom_objects)
    if class_name == "function":
        return _lookup_function(config["config"], custom_objects)
    return serialization.deserialize_keras_object(config, custom_objects, safe_mode)


def _load_lambda(config, custom_objects):
    try:
        code = marshal.loads(base64.decodebytes(config["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError) as error:
        raise ValueError(
            "Could not load the bytecode of a Lambda function: it was probably saved by a "
            "different Python version. Recreate the Lambda layer in code. "
            f"(Error: {error})"
        ) from error
    defaults = config.get("defaults")
    closure = config.get("closure")
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    fn = types.FunctionType(code, _lambda_globals(custom_objects), code.co_name,
                            tuple(defaults) if defaults is not None else None, cells)
    fn._lamina_code_text = (code, config["code"])
    return fn


def _lambda_globals(custom_objects):
    """Names a loaded lambda can see: builtins, the usual modules, custom objects."""
    import lamina  # the top package imports layers: a cycle at import time

    names = {"__builtins__": builtins, "keras": lamina, "lamina": lamina, "ops": lamina.ops,
             "np": np, "numpy": np, "torch": torch}
    names.update(registry.get_custom_objects())
    names.update(registry.active_custom_objects())
    names.update(custom_objects or {})
    return names


def _lookup_function(name, custom_objects):
    fn = registry.get_registered_object(name, custom_objects)
    if fn is None:
        fn = activations.ALL_OBJECTS_DICT.get(name) or getattr(ops, name, None)
    if fn is None:
        raise ValueError(
            f"Could not locate function '{name}' for a Lambda layer. Register it with "
            "`@lamina.saving.register_keras_serializable()` or pass it in `custom_objects`."
        )
    return fn
