"""Keras 2 (tf.keras) and legacy-`.h5` model configs, rewritten into Keras 3's schema.

A whole-model `.h5` file stores its config in the legacy schema, which differs from
what `.keras` archives hold:

- objects carry `class_name` and `config` but no `module` (`{"class_name": "Dense", ...}`),
  and a model is a `"Functional"`, `"Model"` or `"Sequential"`;
- `InputLayer` (and a first layer built with `input_shape`) holds `batch_input_shape`;
- `dtype` is a string or a mixed-precision `{"class_name": "Policy", ...}`;
- `Lambda` functions are `[base64 bytecode, defaults, closure]` lists with
  `function_type`/`module` beside them (a module is never imported here);
- `BatchNormalization.axis` is a one-item list, RNNs carry `time_major`;
- nodes are nested lists `[[["dense", 0, 0, {}]]]` (`functional_config` replays them);
- optimizers are `"Custom>Adam"` with `is_legacy_optimizer`/`jit_compile`, losses carry
  `reduction: "auto"`.

`upgrade_model_config` gives every layer-like object the Keras 3 module it resolves in
(only lamina's own classes then, or the user's registered/custom ones, which resolve
first by name), and fixes the per-class differences. Nested initializers, regularizers
and constraints keep no module: their family's `get()` resolves them by name.
"""

import copy

from lamina import optimizers

# Keys whose value is a layer config (wrappers, RNN cells) or a list of them.
_LAYER_KEYS = ("layer", "backward_layer", "forward_layer", "cell")
_LAYER_LIST_KEYS = ("layers", "cells")

# Keras 2 Lambda arguments Keras 3 no longer has (the module is never imported).
_LAMBDA_LEGACY_KEYS = ("module", "function_type", "output_shape_type",
                       "output_shape_module")

_RNN_WITH_IMPLEMENTATION = {"LSTM", "GRU", "LSTMCell", "GRUCell", "ConvLSTM1D",
                            "ConvLSTM2D", "ConvLSTM3D"}

_ENGINE_MODULES = ("keras.engine.", "keras.src.engine.")

# tf.keras layers that wrap TensorFlow ops: no Keras 3 (or lamina) equivalent exists.
_TF_OP_LAYERS = {"TFOpLambda", "SlicingOpLambda", "TensorFlowOpLayer"}


def _is_object(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def is_legacy_model_config(config):
    """Whether a model config is in the legacy (tf.keras 2) schema: no `module`, or the
    private `keras.engine` modules tf.keras 2.13+ named.

    >>> is_legacy_model_config({"class_name": "Sequential", "config": {"layers": []}})
    True
    """
    if not _is_object(config):
        return False
    module = config.get("module")
    return not module or isinstance(module, str) and module.startswith(_ENGINE_MODULES)


def upgrade_model_config(config):
    """A copy of a legacy model config (`{"class_name": ..., "config": ...}`) in Keras 3's
    schema, for `deserialize_keras_object`.

    >>> legacy = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    ...     {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
    ...                                             "dtype": "float32", "name": "x"}},
    ...     {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
    >>> new = upgrade_model_config(legacy)
    >>> new["module"], new["config"]["layers"][0]["config"]["batch_shape"]
    ('keras.models', [None, 3])
    """
    if not _is_object(config):
        raise ValueError(
            "A legacy model config must be a dict with `class_name` and `config`. "
            f"Received: {str(config)[:200]}"
        )
    return _upgrade_layer(copy.deepcopy(config))


def _upgrade_layer(entry):
    """One layer (or model) entry, rewritten in place and returned."""
    if not _is_object(entry):
        return entry
    class_name = entry["class_name"]
    if class_name in _TF_OP_LAYERS:
        raise ValueError(
            f"Layer {entry.get('name') or entry['config'].get('name')!r} is a tf.keras "
            f"{class_name}: a TensorFlow op recorded in the graph (e.g. `tf.math.add` or "
            "`x[:, 0]` on a Keras tensor). Keras 3 and lamina cannot rebuild it; recreate "
            "the model in code with Keras layers or `lamina.ops`, then load its weights "
            "with `model.load_weights(...)`."
        )
    module = entry.get("module") or ""
    if not module or isinstance(module, str) and module.startswith(_ENGINE_MODULES):
        # tf.keras 2.13+ names its model classes' private modules (`keras.src.engine.
        # functional`), which Keras 3 has no more.
        if class_name in ("Functional", "Model"):
            entry["module"], entry["registered_name"] = "keras.src.models.functional", None
            entry["class_name"] = "Functional"
        elif class_name == "Sequential":
            entry["module"] = "keras.models"
        else:
            entry["module"] = "keras.layers"
    config = entry["config"]
    if not isinstance(config, dict):
        return entry
    _upgrade_layer_arguments(entry["class_name"], config)
    if entry["class_name"] == "Functional":
        for key in ("input_layers", "output_layers"):
            value = config.get(key)
            if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
                # NOTE: tf.keras 2 wrote every model's inputs and outputs as lists; Keras 3
                # calls a one-output model's result a tensor (`unpack_singleton`), so
                # lamina rebuilds it with a single input/output.
                config[key] = value[0]
    for key in _LAYER_KEYS:
        if _is_object(config.get(key)):
            config[key] = _upgrade_layer(config[key])
    for key in _LAYER_LIST_KEYS:
        if isinstance(config.get(key), list):
            config[key] = [_upgrade_layer(item) for item in config[key]]
    return entry


def _upgrade_layer_arguments(class_name, config):
    """Keras 2 constructor arguments -> Keras 3's, for one layer config (in place)."""
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config.setdefault("batch_shape", config.pop("batch_input_shape"))
    dtype = config.get("dtype")
    if _is_object(dtype) and dtype["class_name"] in ("Policy", "DTypePolicy") \
            and not dtype.get("module") and isinstance(dtype["config"], dict) \
            and isinstance(dtype["config"].get("name"), str):
        # NOTE: mixed precision wrote `Policy("mixed_float16")`; its name is all it holds.
        config["dtype"] = dtype["config"]["name"]
    if class_name == "BatchNormalization":
        axis = config.get("axis")
        if isinstance(axis, list) and len(axis) == 1:
            config["axis"] = axis[0]
    if "time_major" in config:
        if config.pop("time_major"):
            raise ValueError(
                f"Layer {config.get('name')!r} ({class_name}) was saved with "
                "`time_major=True`, which Keras 3 and lamina do not support: inputs are "
                "(batch, time, features)."
            )
    if class_name in _RNN_WITH_IMPLEMENTATION:
        # NOTE: a compute-mode hint (fused or per-gate matmuls); the results are the same.
        config.pop("implementation", None)
    if class_name == "Embedding":
        config.pop("input_length", None)  # Keras 3 infers it; only a deprecation warning
    if class_name == "Lambda":
        _upgrade_lambda(config)


def _upgrade_lambda(config):
    types = {key: config.get(f"{key}_type") for key in ("function", "output_shape", "mask")}
    for key in _LAMBDA_LEGACY_KEYS + ("mask_type", "mask_module"):
        config.pop(key, None)
    for key, kind in types.items():
        value = config.get(key)
        if kind == "lambda" and isinstance(value, (list, tuple)) and len(value) == 3:
            # Python-lambda bytecode: loaded (by the Lambda layer) only with safe mode off.
            config[key] = {"class_name": "__lambda__",
                           "config": {"code": value[0], "defaults": value[1],
                                      "closure": value[2]}}
        elif kind == "function" and isinstance(value, str):
            # A named function: resolved by name (registry/custom objects), never imported.
            config[key] = {"class_name": "function", "config": value,
                           "registered_name": "function"}


def upgrade_optimizer_config(config):
    """A legacy `optimizer_config` in Keras 3's schema (built-in names, Keras 3 args)."""
    if not _is_object(config):
        return config
    config = copy.deepcopy(config)
    class_name = config["class_name"]
    if isinstance(class_name, str) and class_name.startswith("Custom>"):
        # NOTE: tf.keras 2.11+ registered its own new optimizers as `Custom>Adam`.
        name = class_name.removeprefix("Custom>")
        if name in optimizers.ALL_OBJECTS_DICT or name.lower() in optimizers.ALL_OBJECTS_DICT:
            config["class_name"] = name
    inner = config["config"]
    if isinstance(inner, dict):
        for key in ("is_legacy_optimizer", "jit_compile"):
            inner.pop(key, None)
        if not inner.get("decay"):
            inner.pop("decay", None)
        if "lr" in inner and "learning_rate" not in inner:
            inner["learning_rate"] = inner.pop("lr")
    return config


def upgrade_loss_or_metric(config):
    """A legacy loss/metric config (any nesting of names and objects) in Keras 3's schema."""
    if isinstance(config, list):
        return [upgrade_loss_or_metric(item) for item in config]
    if isinstance(config, dict) and not _is_object(config):
        return {k: upgrade_loss_or_metric(v) for k, v in config.items()}
    if _is_object(config) and isinstance(config["config"], dict):
        config = copy.deepcopy(config)
        if config["config"].get("reduction") == "auto":
            config["config"]["reduction"] = "sum_over_batch_size"
        if config["class_name"] not in ("LossFunctionWrapper", "MeanMetricWrapper"):
            config["config"].pop("fn", None)  # tf.keras 2.13+ wrote its wrapped function
    return config


__all__ = ["is_legacy_model_config", "upgrade_loss_or_metric", "upgrade_model_config",
           "upgrade_optimizer_config"]
