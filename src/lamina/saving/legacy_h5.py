"""Read weights from legacy Keras 2 / tf.keras `.h5` files (and Keras 3's legacy `.h5`).

The legacy layout keys weights by *layer name*, not attribute path: a group
`model_weights` (or the file root) lists its layers in the attribute `layer_names`; each
layer's group lists its weights in `weight_names` (`"dense/kernel:0"` in tf.keras 2.x,
`"dense/kernel"` from Keras 3), and each name is a dataset path inside that group.

A layer's weights are stored in the legacy order: all trainable weights, then all
non-trainable ones, each in creation order. For a plain layer that is its own order
(BatchNormalization: gamma, beta, moving_mean, moving_variance; LSTM/GRU/SimpleRNN:
kernel, recurrent_kernel, bias; Bidirectional: forward then backward;
MultiHeadAttention: query, key, value, attention_output, kernel before bias); for a nested
model it puts the trainable weights of every sublayer before any non-trainable one.
lamina's built-in layers create their weights in Keras' order, so `trainable_weights +
non_trainable_weights` reproduces the file's order for each of them. Where the file's
weight names are a permutation of the layer's (unique names, other order), values are
matched by name instead, so a reordered file cannot assign gamma to beta silently.

Every value is checked before any is assigned: an error leaves the model untouched.
"""

import os
import warnings

import numpy as np
import torch

from lamina.saving import h5_safety
from lamina.saving.weights_h5 import own_variables


def is_legacy_path(filepath):
    """Whether `filepath` names a legacy h5 file (`.h5`/`.hdf5`, not `.weights.h5`)."""
    filepath = str(filepath)
    return filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5")


def _decode(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _read_names(group, attr):
    """A list-of-strings attribute, also when h5 split it into `attr0`, `attr1`, ..."""
    if attr in group.attrs:
        values = group.attrs[attr]
    else:
        values, chunk = [], 0
        while f"{attr}{chunk}" in group.attrs:
            values.extend(group.attrs[f"{attr}{chunk}"])
            chunk += 1
        if not chunk:
            return None
    return [_decode(v) for v in np.atleast_1d(values) if not isinstance(v, float)]


def legacy_weights(layer):
    """`layer`'s weights in the legacy file order: trainable first, then non-trainable.

    >>> import lamina
    >>> bn = lamina.layers.BatchNormalization()
    >>> bn.build((None, 3))
    >>> [w.name for w in legacy_weights(bn)]
    ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """
    seen, ordered = set(), []
    for weight in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(weight) not in seen:
            seen.add(id(weight))
            ordered.append(weight)
    return ordered


def _base_name(name):
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


def _match_order(saved_names, weights):
    """Indices into `saved_names` for each of `weights`: positional, unless the saved names
    are a unique permutation of the weights' names, which then decide."""
    saved = [_base_name(n) for n in saved_names]
    ours = [_base_name(getattr(w, "name", "")) for w in weights]
    if saved != ours and sorted(saved) == sorted(ours) and len(set(saved)) == len(saved):
        return [saved.index(name) for name in ours]
    return list(range(len(weights)))


def _describe(layer, index=None):
    where = f" #{index}" if index is not None else ""
    return f"layer{where} '{layer.name}' ({type(layer).__name__})"


def _layer_plan(layer, group, filepath, skip_mismatch, index=None):
    """`[(weight, array)]` for one layer, or None when skipped with a warning."""
    weights = legacy_weights(layer)
    saved_names = _read_names(group, "weight_names") or []
    if len(saved_names) != len(weights):
        message = (
            f"Weight count mismatch for {_describe(layer, index)}: the layer has "
            f"{len(weights)} weights {[w.name for w in weights]}, but '{filepath}' holds "
            f"{len(saved_names)} {saved_names}."
        )
        if skip_mismatch:
            warnings.warn(f"Skipping loading {message}", stacklevel=4)
            return None
        raise ValueError(message + " Pass `skip_mismatch=True` to skip such layers.")
    plan = []
    for weight, source in zip(weights, _match_order(saved_names, weights)):
        name = saved_names[source]
        dataset = h5_safety.dataset(group, name, filepath)
        if dataset is None:
            raise ValueError(
                f"'{filepath}' lists weight '{name}' for {_describe(layer, index)} but holds "
                "no such dataset: the file is truncated or malformed."
            )
        # NOTE: the declared shape is checked before reading, so nothing oversized is read.
        if tuple(dataset.shape) != tuple(weight.shape):
            message = (
                f"Shape mismatch in {_describe(layer, index)} for weight "
                f"'{getattr(weight, 'path', weight.name)}': the weight expects shape "
                f"{tuple(weight.shape)}, but '{filepath}' holds shape {tuple(dataset.shape)} "
                f"for '{name}'."
            )
            if skip_mismatch:
                warnings.warn(f"Skipping loading {message}", stacklevel=4)
                return None
            raise ValueError(message + " Pass `skip_mismatch=True` to skip such layers.")
        plan.append((weight, h5_safety.read(dataset)))
    return plan


def _weights_root(h5file, filepath):
    root = h5_safety.group(h5file, "model_weights", filepath) or h5file
    names = _read_names(root, "layer_names")
    if names is None:
        raise ValueError(
            f"'{filepath}' is not a legacy Keras h5 weights file: it has no `layer_names` "
            "attribute (at the root or in `model_weights`)."
        )
    version = _decode(root.attrs.get("keras_version", h5file.attrs.get("keras_version", "")))
    if version.startswith("1."):
        raise ValueError(
            f"'{filepath}' was written by Keras {version}; Keras 1 weight layouts are not "
            "supported. Re-save the model with Keras 2 or 3."
        )
    return root, names


def _layer_group(root, name, filepath):
    group = h5_safety.group(root, name, filepath)
    if group is None:
        raise ValueError(f"'{filepath}' lists layer '{name}' in `layer_names` but holds no "
                         "such group: the file is truncated or malformed.")
    return group


def _model_layers(model):
    layers = getattr(model, "layers", None)
    return list(layers) if layers is not None else [model]


def _assign(plan):
    with torch.no_grad():
        for weight, value in plan:
            weight.copy_(torch.as_tensor(value).to(device=weight.device, dtype=weight.dtype))


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Load a legacy Keras 2 / tf.keras `.h5` weights (or whole-model) file into `model`.

    Args:
        model: a built lamina model.
        filepath: path of the `.h5`/`.hdf5` file.
        by_name: match layers by name (layers absent from the file keep their weights)
            instead of by order (the model's layers with weights, in order, against the
            file's layers with weights).
        skip_mismatch: skip layers whose weight count or shapes differ, with a warning.
    """
    import h5py

    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file found at '{filepath}'.")
    with h5py.File(filepath, "r") as h5file:
        root, saved_layers = _weights_root(h5file, filepath)
        plan = []
        if by_name:
            groups = {name: _layer_group(root, name, filepath) for name in saved_layers}
            for layer in _model_layers(model):
                if layer.name in groups:
                    plan.extend(_layer_plan(layer, groups[layer.name], filepath,
                                            skip_mismatch) or [])
        else:
            saved = [n for n in saved_layers
                     if _read_names(_layer_group(root, n, filepath), "weight_names")]
            layers = [layer for layer in _model_layers(model) if legacy_weights(layer)]
            if len(saved) != len(layers):
                raise ValueError(
                    f"Layer count mismatch when loading weights from '{filepath}': the model "
                    f"has {len(layers)} layers with weights {[x.name for x in layers]}, but "
                    f"the file holds {len(saved)} {saved}."
                )
            for index, (layer, name) in enumerate(zip(layers, saved)):
                plan.extend(_layer_plan(layer, _layer_group(root, name, filepath), filepath,
                                        skip_mismatch, index) or [])
        top = h5_safety.group(root, "top_level_model_weights", filepath)
        if top is not None and _read_names(top, "weight_names"):
            own = own_variables(model)
            names = _read_names(top, "weight_names")
            if len(names) != len(own):
                raise ValueError(
                    f"'{filepath}' holds {len(names)} top-level weights for model "
                    f"'{model.name}', which has {len(own)} of its own."
                )
            for weight, name in zip(own, names):
                dataset = h5_safety.dataset(top, name, filepath)
                shape = None if dataset is None else tuple(dataset.shape)
                if shape != tuple(weight.shape):
                    raise ValueError(
                        f"'{filepath}' holds shape {shape} for top-level weight '{name}' of "
                        f"model '{model.name}', which expects {tuple(weight.shape)}."
                    )
                plan.append((weight, h5_safety.read(dataset)))
    _assign(plan)


__all__ = ["is_legacy_path", "legacy_weights", "load_weights"]
