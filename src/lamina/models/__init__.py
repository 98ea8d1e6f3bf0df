"""`lamina.models`: `Model`, `Sequential` and model utilities."""

from lamina.models.functional import Functional as Functional
from lamina.models.model import Model as Model
from lamina.models.sequential import Sequential as Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a `.keras` archive written by lamina or Keras 3."""
    from lamina.saving import saving_api

    return saving_api.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (uncompiled, freshly initialised) from `model.to_json()`."""
    from lamina.saving import saving_api

    return saving_api.model_from_json(json_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights."""
    from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object

    if input_tensors is not None or clone_function is not None:
        raise NotImplementedError(
            "clone_model with input_tensors/clone_function is not supported yet."
        )
    return deserialize_keras_object(serialize_keras_object(model))
