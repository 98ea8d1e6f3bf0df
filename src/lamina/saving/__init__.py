"""`lamina.saving`: `.keras` archives and `.weights.h5` files in Keras 3's formats.

The registry and (de)serialization live in `lamina.serialization` (a low layer every family
imports) and are re-exported here; the file functions load on first access, since they
need models and optimizers.
"""

import importlib

from lamina.serialization.registry import CustomObjectScope as CustomObjectScope
from lamina.serialization.registry import custom_object_scope as custom_object_scope
from lamina.serialization.registry import get_custom_objects as get_custom_objects
from lamina.serialization.registry import get_registered_name as get_registered_name
from lamina.serialization.registry import get_registered_object as get_registered_object
from lamina.serialization.registry import register_keras_serializable as register_keras_serializable
from lamina.serialization.serialization import deserialize_keras_object as deserialize_keras_object
from lamina.serialization.serialization import serialize_keras_object as serialize_keras_object

_LAZY = {
    "KerasFileEditor": "lamina.saving.file_editor",
    "save_model": "lamina.saving.saving_api",
    "load_model": "lamina.saving.saving_api",
    "save_weights": "lamina.saving.saving_api",
    "load_weights": "lamina.saving.saving_api",
    "model_to_json": "lamina.saving.saving_api",
    "model_from_json": "lamina.saving.saving_api",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina.saving' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})
