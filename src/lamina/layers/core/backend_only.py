"""Keras layers that exist only on other backends: `JaxLayer`, `FlaxLayer`, `TFSMLayer`.

The names exist (so `hasattr(layers, "JaxLayer")` and imports work); constructing one
raises an error that says why and what to use on torch instead.
"""

from lamina.layers.layer import Layer


class _BackendOnlyLayer(Layer):
    _error = ValueError
    _message = ""

    def __init__(self, *args, **kwargs):
        raise self._error(f"{type(self).__name__} is not available in lamina: {self._message}")


class JaxLayer(_BackendOnlyLayer):
    """Keras' wrapper of a JAX function; lamina runs on torch, so it raises `ValueError`.

    >>> JaxLayer(lambda params, x: x)
    Traceback (most recent call last):
    ...
    ValueError: JaxLayer is not available in lamina: ...
    """

    _message = ("it wraps JAX functions, which need Keras' JAX or TensorFlow backend. On "
                "torch, write the computation as a `lamina.layers.Layer` subclass, or wrap "
                "a `torch.nn.Module` with `lamina.layers.TorchModuleWrapper`.")


class FlaxLayer(JaxLayer):
    """Keras' wrapper of a Flax module; raises `ValueError` (see `JaxLayer`)."""

    _message = ("it wraps Flax modules, which need Keras' JAX backend. On torch, wrap a "
                "`torch.nn.Module` with `lamina.layers.TorchModuleWrapper`, or write a "
                "`lamina.layers.Layer` subclass.")


class TFSMLayer(_BackendOnlyLayer):
    """Keras' loader of a TensorFlow SavedModel; raises `NotImplementedError`."""

    _error = NotImplementedError
    _message = ("it loads TensorFlow SavedModels, which need Keras' TensorFlow backend. "
                "Load a `.keras` file with `lamina.saving.load_model`, or a torch program "
                "exported with `torch.export.load`.")


__all__ = ["FlaxLayer", "JaxLayer", "TFSMLayer"]
