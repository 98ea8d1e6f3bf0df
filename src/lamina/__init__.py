"""lamina: the Keras 3 API, implemented natively on PyTorch.

`import lamina as keras` and Keras code runs unchanged; every layer is a
`torch.nn.Module`, every weight a `torch.nn.Parameter`.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets",
    "distribution", "dtype_policies", "export", "initializers", "layers", "legacy", "losses",
    "metrics", "mixed_precision", "models", "ops", "optimizers", "random", "regularizers",
    "preprocessing", "saving", "tree", "utils", "quantizers", "visualization", "wrappers",
    "distillation",
)
# Top-level names, resolved on first access so `import lamina` stays cheap.
_NAMES = {
    "Variable": "lamina.variables",
    "KerasTensor": "lamina.backend.symbolic",
    "Operation": "lamina.ops.operation",
    "Layer": "lamina.layers.layer",
    "Input": "lamina.layers.input_layer",
    "InputSpec": "lamina.layers.input_spec",
    "Model": "lamina.models.model",
    "Sequential": "lamina.models.sequential",
    "GradientTape": "lamina.trainers.gradient_tape",
    "Loss": "lamina.losses",
    "Metric": "lamina.metrics",
    "Optimizer": "lamina.optimizers",
    "Quantizer": "lamina.quantizers",
    "Initializer": "lamina.initializers",
    "Regularizer": "lamina.regularizers",
    "DTypePolicy": "lamina.dtype_policies",
    "FloatDTypePolicy": "lamina.dtype_policies",
    "device": "lamina.backend.config",
    "Function": "lamina.models.function",
    "StatelessScope": "lamina.backend.scopes",
    "SymbolicScope": "lamina.backend.scopes",
    "RematScope": "lamina.backend.remat",
    "remat": "lamina.backend.remat",
    "name_scope": "lamina.backend.naming",
}


def version():
    """The lamina version string (Keras exposes `keras.version()` too)."""
    return __version__


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"lamina.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES, *_NAMES})
