"""The serialization layer: the class registry, Keras' object config schema and safe mode.

It sits at the bottom of the package, beside `backend`, so every family (layers,
optimizers, losses...) may import it. File formats (`.keras` archives, `.weights.h5`)
live in `lamina.saving`, at the top. Built-in classes are found by their public Keras
module name (`"keras.layers"` -> `lamina.layers`) when a config is read, not imported here.
"""

from lamina.serialization.registry import CustomObjectScope as CustomObjectScope
from lamina.serialization.registry import custom_object_scope as custom_object_scope
from lamina.serialization.registry import get_custom_objects as get_custom_objects
from lamina.serialization.registry import get_registered_name as get_registered_name
from lamina.serialization.registry import get_registered_object as get_registered_object
from lamina.serialization.registry import (
    register_keras_serializable as register_keras_serializable,
)
from lamina.serialization.serialization import (
    deserialize_keras_object as deserialize_keras_object,
)
from lamina.serialization.serialization import serialize_keras_object as serialize_keras_object
