"""`lamina.models`: `Model`, `Sequential` and model utilities."""

# NOTE: imported with the models, not on the first `load_model`/`load_weights` or build, so
# that loading starts no process and writes no file: importing h5py probes the platform with
# a `uname -p` subprocess, and torch._dynamo (which fake-tensor shape inference needs)
# creates its cache directory under the temp dir.
import h5py  # noqa: F401
import torch._dynamo  # noqa: F401

from lamina.models.cloning import clone_model as clone_model
from lamina.models.functional import Functional as Functional
from lamina.models.model import Model as Model
from lamina.models.sequential import Sequential as Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **limits):
    """Load a `.keras` archive written by lamina or Keras 3, or a whole-model legacy `.h5`
    from tf.keras 2 or Keras 3 (see `lamina.saving.load_model`, which also takes the
    `max_load_bytes` and `max_config_bytes` limits)."""
    # NOTE: imported here: lamina.saving is built on models (models <-> saving).
    from lamina.saving import saving_api

    return saving_api.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode, **limits)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save `model` to a `.keras` archive (or legacy `.h5`), as `lamina.saving.save_model`."""
    # NOTE: imported here: lamina.saving is built on models (models <-> saving).
    from lamina.saving import saving_api

    return saving_api.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (uncompiled, freshly initialised) from `model.to_json()`."""
    # NOTE: imported here: lamina.saving is built on models (models <-> saving).
    from lamina.saving import saving_api

    return saving_api.model_from_json(json_string, custom_objects=custom_objects)
