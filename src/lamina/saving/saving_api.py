"""`save_model`/`load_model` (`.keras`), `save_weights`/`load_weights` (`.weights.h5`, or
sharded: `.weights.json`), and JSON configs, in Keras 3's formats.

Everything is serialized in memory before the target file is touched, and files are
replaced atomically, so a failing `get_config` or a crash never corrupts a previous save.
Loading is safe by default: see `lamina.serialization.serialization`.
"""

import datetime
import io
import json
import os

import h5py  # NOTE: imported with the loader: importing h5py spawns `uname -p` (platform)
import numpy as np
import torch

from lamina.layers.layer import Layer
from lamina.saving import (
    assets,
    h5_safety,
    keras2_config,
    keras_archive,
    legacy_h5,
    legacy_model_h5,
    sharded_weights,
    weights_h5,
)
from lamina.serialization import registry
from lamina.serialization.serialization import (
    LoadBudget,
    SafeModeScope,
    deserialize_keras_object,
    serialize_keras_object,
)
from lamina.utils.file_utils import atomic_path

KERAS_VERSION = "3.15.1"  # the file format lamina writes and reads


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable: {value!r}")


def _check_path(filepath, suffix, what):
    filepath = os.fspath(filepath)
    if not str(filepath).endswith(suffix):
        raise ValueError(
            f"Invalid filepath extension for {what}: the filename must end in `{suffix}`. "
            f"Received: filepath={filepath}"
        )
    return filepath


def _check_overwrite(filepath, overwrite):
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(
            f"'{filepath}' already exists and `overwrite=False`. Pass `overwrite=True` to "
            "replace it."
        )


def model_to_json(model, **kwargs):
    """The model's config as a JSON string (`model.to_json()`); `kwargs` go to `json.dumps`.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    >>> model_from_json(model_to_json(model)).output_shape
    (None, 2)
    """
    return json.dumps(serialize_keras_object(model), default=_json_default, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A new (untrained) model from `model_to_json`'s output, a Keras 3 JSON config, or
    tf.keras 2's `model.to_json()` (objects without `module`, upgraded by `keras2_config`)."""
    config = json.loads(json_string)
    if keras2_config.is_legacy_model_config(config):
        config = keras2_config.upgrade_model_config(config)
    with registry.CustomObjectScope(custom_objects), LoadBudget():
        return deserialize_keras_object(config, custom_objects=custom_objects)


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True):
    """Save `model` to a `.keras` archive (config, weights, optimizer state), atomically.

    Args:
        model: a lamina model.
        filepath: path ending in `.keras`.
        overwrite: replace an existing file (False raises `FileExistsError`).
        zipped: only the zipped format exists; `False` is refused.
        include_optimizer: also store the optimizer state.
    """
    if zipped is False:
        raise ValueError("lamina writes only zipped `.keras` archives: pass zipped=None/True.")
    filepath = _check_path(filepath, ".keras", "saving a model")
    _check_overwrite(filepath, overwrite)
    # Everything that can fail runs before the target file is opened.
    config_json = json.dumps(serialize_keras_object(model), default=_json_default)
    metadata = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    })
    weights = keras_archive.h5_bytes(
        lambda f: weights_h5.save_state(model, f, include_optimizer=include_optimizer))
    keras_archive.write_archive(filepath, {
        keras_archive.METADATA: metadata.encode(),
        keras_archive.CONFIG: config_json.encode(),
        keras_archive.WEIGHTS: weights,
        **assets.save_assets(model),
    })


def _complete_build(model, config):
    """Build sublayers that the model's own `build` left unbuilt (a subclassed model whose
    `build` creates only its own weights), by one call on zeros of the saved input shape.
    Keras leaves them unbuilt and silently skips their weights."""
    shape = (config.get("build_config") or {}).get("input_shape")
    if shape is None or not isinstance(model, Layer) or all(
            layer.built for layer in model._flatten_layers()):
        return

    def zeros(s):
        s = [1 if d is None else d for d in s]
        if LoadBudget.active() is not None:
            LoadBudget.active().charge(4 * int(np.prod(s)), f"a build input of shape {s}")
        return torch.zeros(s)

    def is_shape(s):
        return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)

    inputs = zeros(shape) if is_shape(shape) else (
        {k: zeros(v) for k, v in shape.items()} if isinstance(shape, dict)
        else [zeros(s) for s in shape])
    with torch.no_grad():
        try:
            model(inputs)
        except Exception:  # noqa: BLE001 - loading then reports the unbuilt layer
            return


def _build_optimizer(model):
    """Create the optimizer's state before loading it, as `fit` would."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not getattr(optimizer, "built", True) and model.built:
        optimizer.build(model.trainable_variables)


def _check_is_model(model, filepath):
    if not isinstance(model, Layer):
        raise ValueError(f"'{filepath}' holds no model: its config.json describes a "
                         f"{type(model).__name__!r} object, not a model or layer.")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, *,
               max_load_bytes=None, max_config_bytes=None):
    """Load a `.keras` archive written by lamina or Keras 3, or a whole-model legacy `.h5`
    file (tf.keras 2 or Keras 3's `model.save("m.h5")`); the format comes from the content.

    Args:
        filepath: path (or binary file object) of a `.keras` file, or path of an `.h5`.
        custom_objects: dict of name -> class/function for unregistered custom objects.
        compile: restore the training configuration and optimizer state.
        safe_mode: refuse objects that would run code from the file (`Lambda`
            bytecode). Only pass False for files you trust.
        max_load_bytes: the most bytes of variables the file's config may create, and
            of archive contents it may inflate to; checked before anything is
            allocated. None means `lamina.config.max_load_bytes()` (64 GiB by default).
        max_config_bytes: the most bytes of `config.json` (and `metadata.json`). None
            means `lamina.config.max_config_bytes()` (1 GiB by default).
    """
    if isinstance(filepath, (str, os.PathLike)):
        filepath = os.fspath(filepath)
        if not os.path.exists(filepath):
            raise FileNotFoundError(f"No file found at '{filepath}'.")
    # The format comes from the content: a renamed file still loads, garbage is refused.
    file_format = legacy_model_h5.sniff_format(filepath)
    if file_format == "hdf5":
        if not isinstance(filepath, str):
            raise ValueError("A legacy `.h5` model loads from a path, not a file object.")
        with LoadBudget(max_load_bytes):
            return legacy_model_h5.load_model(filepath, custom_objects=custom_objects,
                                              compile=compile, safe_mode=safe_mode,
                                              max_config_bytes=max_config_bytes)
    if file_format != "zip":
        raise ValueError(
            f"'{filepath}' is not a valid `.keras` zip archive, nor a legacy `.h5` model "
            "(HDF5): its first bytes match neither format. The file may be truncated, "
            "corrupted or of another kind."
        )
    members = keras_archive.read_archive(filepath, max_load_bytes, max_config_bytes)
    try:
        config = json.loads(members[keras_archive.CONFIG])
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise ValueError(f"'{filepath}' holds an invalid config.json: {error}") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"'{filepath}' holds no model config (config.json has no class_name).")
    if not compile:
        config = {k: v for k, v in config.items() if k != "compile_config"}
    with registry.CustomObjectScope(custom_objects), LoadBudget(max_load_bytes):
        model = deserialize_keras_object(config, custom_objects=custom_objects,
                                         safe_mode=safe_mode)
        _check_is_model(model, filepath)
        if keras_archive.WEIGHTS not in members:
            # As Keras: the model is rebuilt first, then its missing weights are an error.
            raise ValueError(
                f"'{filepath}' holds no {keras_archive.WEIGHTS!r}: loading it would give a "
                "model with freshly initialised weights. To rebuild the architecture "
                "alone, use `lamina.models.model_from_json` on its config.json."
            )
        _complete_build(model, config)
    if compile:
        _build_optimizer(model)
    with h5_safety.damage_as_oserror(
            f"'{filepath}' holds a damaged {keras_archive.WEIGHTS!r}"), h5py.File(
            io.BytesIO(members[keras_archive.WEIGHTS]), "r") as f:
        weights_h5.load_state(model, f, include_optimizer=compile)
    assets.load_assets(model, members)
    return model


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the model's (and its optimizer's) variables to a `.weights.h5` file, atomically.

    With `max_shard_size` (in GB, as Keras), write a `.weights.json` map and shards of at
    most that size beside it (`sharded_weights`); `load_weights` reads the map.
    """
    if max_shard_size is not None:
        filepath = os.fspath(filepath)
        if not filepath.endswith((sharded_weights.MAP_SUFFIX, ".weights.h5")):
            raise ValueError(
                "Invalid filepath extension for saving sharded weights: the filename must end "
                f"in `{sharded_weights.MAP_SUFFIX}` when `max_shard_size` is given. Received: "
                f"filepath={filepath}")
        map_path, base = sharded_weights.map_path(filepath)  # warns for `.weights.h5`
        _check_overwrite(map_path, overwrite)
        sharded_weights.save(model, map_path, base, max_shard_size)
        return
    filepath = _check_path(filepath, ".weights.h5", "saving weights")
    _check_overwrite(filepath, overwrite)
    data = keras_archive.h5_bytes(lambda f: weights_h5.save_state(model, f))
    with atomic_path(filepath) as tmp, open(tmp, "wb") as f:
        f.write(data)


def load_weights(model, filepath, skip_mismatch=False, by_name=False, *, max_load_bytes=None):
    """Load variables from a `.weights.h5` file, a sharded `.weights.json` map or a `.keras`
    archive into `model`.

    Layers are matched by attribute path (as Keras does), not by name. With
    `skip_mismatch=True`, layers whose variable count or shapes differ are skipped with a
    warning instead of raising. Legacy Keras 2 `.h5`/`.hdf5` files go to
    `lamina.saving.legacy_h5`, which also matches layers by name when `by_name=True`.
    `max_load_bytes` bounds what a map's shards may hold (None: `lamina.config`'s limit).
    """
    filepath = os.fspath(filepath)
    if legacy_h5.is_legacy_path(filepath):
        return legacy_h5.load_weights(model, filepath, by_name=by_name,
                                      skip_mismatch=skip_mismatch)
    if by_name:
        raise ValueError("`by_name` only supports loading legacy '.h5' or '.hdf5' files. "
                         f"Received: filepath={filepath}")
    if filepath.endswith(sharded_weights.MAP_SUFFIX):
        with sharded_weights.ShardedWeights(filepath, max_load_bytes) as shards, \
                h5_safety.damage_as_oserror(f"'{filepath}' names a damaged shard"):
            if shards.has("optimizer"):
                _build_optimizer(model)
            weights_h5.load_stores(model, shards, skip_mismatch=skip_mismatch)
        return
    if filepath.endswith(".keras"):
        members = keras_archive.read_archive(filepath)
        if keras_archive.WEIGHTS not in members:
            raise ValueError(f"'{filepath}' holds no {keras_archive.WEIGHTS!r}.")
        source = io.BytesIO(members[keras_archive.WEIGHTS])
    elif filepath.endswith(".weights.h5"):
        if not os.path.exists(filepath):
            raise FileNotFoundError(f"No file found at '{filepath}'.")
        source = filepath
    else:
        raise ValueError(
            "Invalid filepath extension for loading weights: the filename must end in "
            f"`.weights.h5`, `{sharded_weights.MAP_SUFFIX}`, `.keras` or (legacy) `.h5`. "
            f"Received: filepath={filepath}"
        )
    with h5py.File(source, "r") as f:
        if "optimizer/vars" in f and len(f["optimizer/vars"]):
            _build_optimizer(model)
        weights_h5.load_state(model, f, skip_mismatch=skip_mismatch)


__all__ = ["load_model", "load_weights", "model_from_json", "model_to_json", "save_model",
           "save_weights", "SafeModeScope"]
