"""Load whole-model legacy `.h5` files: `model.save("m.h5")` from tf.keras 2 or Keras 3.

The file's root attributes hold the model config (`model_config`, JSON) and, for a
compiled model, the compile arguments (`training_config`, JSON, the optimizer under
`optimizer_config`); the group `model_weights` holds the weights in the legacy layout
(read by `legacy_h5`), and `optimizer_weights` the optimizer's variables, listed in its
`weight_names` attribute.

Loading follows Keras 3's legacy loader: the config rebuilds the model (through
`keras2_config`, then the ordinary safe deserialization: only built-in and registered
classes, no Lambda bytecode in safe mode, nothing named by the file imported), the
weights load by layer order, and with `compile=True` the model is compiled from
`training_config`; the optimizer's state is restored when its variables match the file's
in number and shapes (files written by Keras 3), else it starts fresh with a warning
(tf.keras 2 optimizers keep other variables), as Keras does.
"""

# NOTE: h5py decodes ASCII attributes with this codec; imported here, so that reading a
# file imports nothing (issue 14 item 6).
import encodings.ascii  # noqa: F401
import json
import os
import warnings

import numpy as np

from lamina import losses, metrics, optimizers
from lamina.layers.layer import Layer
from lamina.saving import h5_safety, keras2_config, legacy_h5
from lamina.serialization import registry, serialization
from lamina.serialization.serialization import SafeModeScope, deserialize_keras_object

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
# NOTE: an HDF5 file may start with a user block; its superblock then sits at 512, 1024,
# 2048... bytes (powers of two).
_MAX_USER_BLOCK = 1 << 20


def sniff_format(filepath):
    """`"hdf5"`, `"zip"` or None, from the file's first bytes (not its name).

    `filepath` is a path or a seekable binary file object (left at its position).
    """
    if isinstance(filepath, (str, os.PathLike)):
        with open(filepath, "rb") as f:
            return _sniff(f)
    position = filepath.tell()
    try:
        return _sniff(filepath)
    finally:
        filepath.seek(position)


def _sniff(f):
    head = f.read(8)
    if head.startswith(ZIP_SIGNATURE):
        return "zip"
    offset = 0
    while offset <= _MAX_USER_BLOCK:
        if head == HDF5_SIGNATURE:
            return "hdf5"
        offset = 512 if offset == 0 else offset * 2
        f.seek(offset)
        head = f.read(8)
        if len(head) < 8:
            return None
    return None


def _json_attribute(h5file, name, filepath, max_config_bytes):
    """A root attribute holding JSON, its size checked against `max_config_bytes`.

    NOTE: a fixed-length string is checked before it is read; a variable-length one (as
    Keras writes it) only after, as HDF5 does not declare its length, but it lives
    uncompressed in the file's heap, so reading it allocates no more than the file holds.
    """
    if name not in h5file.attrs:
        return None

    def check(size):
        if size > max_config_bytes:
            raise ValueError(
                f"Refusing to load '{filepath}': its `{name}` attribute holds {size} bytes, "
                f"more than the limit of {max_config_bytes} (raise it with `load_model(..., "
                "max_config_bytes=N)` or `lamina.config.set_max_config_bytes(N)`)."
            )

    check(h5file.attrs.get_id(name).get_storage_size())
    value = h5file.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (bytes, str)):
        check(len(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise ValueError(
            f"'{filepath}' holds a `{name}` attribute of type {type(value).__name__}; a "
            "whole-model legacy h5 file stores it as a JSON string."
        )
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise ValueError(f"'{filepath}' holds an invalid `{name}` (JSON): {error}") from None


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True,
               max_config_bytes=None):
    """Load a whole-model legacy `.h5` file (see the module docstring).

    Args:
        filepath: path of an HDF5 file written by `model.save("m.h5")`.
        custom_objects: dict of name -> class/function for the file's custom objects.
        compile: compile the model from the file's `training_config` and restore the
            optimizer's state, when the file has them.
        safe_mode: refuse objects that would run code from the file (`Lambda` bytecode).
        max_config_bytes: the most bytes of each JSON attribute; None means
            `lamina.config.max_config_bytes()`.

    Raises:
        ValueError: for a file that is not a whole model, or unsafe, or inconsistent.
        OSError: for a damaged HDF5 structure. NOTE: h5py reports damage found while
            walking a file (a bad heap, an object header out of bounds) as
            KeyError/RuntimeError/OverflowError from wherever it reads.
    """
    with h5_safety.damage_as_oserror(f"'{os.fspath(filepath)}' is a damaged HDF5 file"):
        return _load_model(filepath, custom_objects, compile, safe_mode, max_config_bytes)


def _load_model(filepath, custom_objects=None, compile=True, safe_mode=True,
                max_config_bytes=None):
    """`load_model` without the translation of h5py's damage errors."""
    import h5py

    filepath = os.fspath(filepath)
    max_config_bytes = max_config_bytes or serialization.max_config_bytes()
    try:
        h5file = h5py.File(filepath, "r")
    except OSError as error:
        raise ValueError(
            f"'{filepath}' starts like an HDF5 file but cannot be read as one (truncated "
            f"or corrupted): {error}"
        ) from None
    with h5file:
        config = _json_attribute(h5file, "model_config", filepath, max_config_bytes)
        if config is None:
            raise ValueError(
                f"'{filepath}' is an HDF5 file without a `model_config` attribute: it holds "
                "weights only, not a whole model. Build the model in code, then call "
                f"`model.load_weights('{filepath}')`."
            )
        training_config = _json_attribute(h5file, "training_config", filepath,
                                          max_config_bytes) if compile else None
        if h5_safety.group(h5file, "model_weights", filepath) is None:
            raise ValueError(
                f"'{filepath}' holds a model config but no `model_weights` group: the file "
                "is truncated or malformed."
            )
        try:
            config = keras2_config.upgrade_model_config(config)
        except RecursionError:
            raise ValueError(f"'{filepath}' holds a model config nested too deeply.") from None
        with registry.CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
            model = deserialize_keras_object(config, custom_objects=custom_objects)
            if not isinstance(model, Layer):
                raise ValueError(
                    f"'{filepath}' holds no model: its `model_config` describes a "
                    f"{type(model).__name__}, not a model or layer.")
            if training_config is not None:
                model.compile(**_compile_arguments(training_config, custom_objects))
        legacy_h5.load_weights(model, filepath,
                               by_name=_names_match(model, h5file["model_weights"]))
        optimizer_group = h5_safety.group(h5file, "optimizer_weights", filepath)
        if training_config is not None and optimizer_group is not None:
            _load_optimizer_weights(model, optimizer_group, filepath)
    return model


def _names_match(model, group):
    """Whether the file's layers with weights are exactly the model's, by name.

    NOTE: the model was built from the same file's config, so matching by name is exact
    even where lamina orders a graph's layers differently from the tf.keras that wrote
    it; any other case loads by order, as Keras does.
    """
    saved = [name for name in legacy_h5._read_names(group, "layer_names") or []
             if name in group and legacy_h5._read_names(group[name], "weight_names")]
    ours = [layer.name for layer in getattr(model, "layers", [])
            if legacy_h5.legacy_weights(layer)]
    return len(set(saved)) == len(saved) and set(saved) == set(ours) and len(ours) == len(
        set(ours))


def _compile_arguments(training_config, custom_objects):
    """`model.compile` arguments from a legacy `training_config`."""
    if not isinstance(training_config, dict) or "optimizer_config" not in training_config:
        raise ValueError(
            "The file's `training_config` has no `optimizer_config`; load it with "
            "`compile=False` and compile the model yourself."
        )
    optimizer_config = training_config["optimizer_config"]
    if not (isinstance(optimizer_config, str) or isinstance(optimizer_config, dict)
            and isinstance(optimizer_config.get("class_name"), str)
            and isinstance(optimizer_config.get("config"), dict)):
        raise ValueError(
            "The file's `training_config` holds an invalid `optimizer_config`: "
            f"{str(optimizer_config)[:200]}. Load it with `compile=False`."
        )
    optimizer = optimizers.get(optimizer_config) if isinstance(optimizer_config, str) \
        else optimizers.deserialize(keras2_config.upgrade_optimizer_config(optimizer_config),
                                    custom_objects=custom_objects)

    def objects(config, deserialize):
        config = keras2_config.upgrade_loss_or_metric(config)

        def resolve(value):
            if isinstance(value, dict) and "class_name" in value:
                return deserialize(value, custom_objects=custom_objects)
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, str):
                # A custom name resolves now, while `custom_objects` are in scope (`compile`
                # resolves names only at the first batch); a built-in name stays a name.
                found = registry.get_registered_object(value, custom_objects)
                return value if found is None else found
            return value

        return resolve(config)

    return {
        "optimizer": optimizer,
        "loss": objects(training_config.get("loss"), losses.deserialize),
        "metrics": objects(training_config.get("metrics"), metrics.deserialize),
        "weighted_metrics": objects(training_config.get("weighted_metrics"),
                                    metrics.deserialize),
        "loss_weights": training_config.get("loss_weights"),
    }


def _load_optimizer_weights(model, group, filepath):
    """The optimizer's variables, by order, when they match the file's; else a warning."""
    optimizer = model.optimizer
    names = legacy_h5._read_names(group, "weight_names") or []
    # NOTE: a model compiled but never trained saved only the unbuilt optimizer's
    # variables (iteration, learning rate); those restore without building it.
    if not getattr(optimizer, "built", True) and len(names) != len(optimizer.variables):
        optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    problem = None
    if len(names) != len(variables):
        problem = (f"the optimizer has {len(variables)} variables, the file holds "
                   f"{len(names)}")
    else:
        values = []
        for variable, name in zip(variables, names):
            dataset = h5_safety.dataset(group, name, filepath)
            if dataset is None:
                problem = f"the file lists '{name}' but holds no such dataset"
                break
            if tuple(dataset.shape) != tuple(variable.shape):  # checked before reading
                problem = (f"'{name}' has shape {tuple(dataset.shape)}, the optimizer's "
                           f"'{variable.path}' {tuple(variable.shape)}")
                break
            values.append(h5_safety.read(dataset))
    if problem is not None:
        warnings.warn(
            f"Could not restore the optimizer state from '{filepath}' ({problem}); the "
            "model starts with a freshly initialized optimizer.", stacklevel=3)
        return
    for variable, value in zip(variables, values):
        variable.assign(value)


__all__ = ["HDF5_SIGNATURE", "ZIP_SIGNATURE", "load_model", "sniff_format"]
