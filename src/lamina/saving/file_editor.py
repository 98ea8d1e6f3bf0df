"""`KerasFileEditor`: read, inspect, edit and re-save the weights of a `.keras` archive or
a `.weights.h5` file without building the model that wrote it.

The file's weights become a nested dict, `weights_dict`: one dict per saved object (a
layer, a model, the optimizer) keyed by its attribute path (`"layers"` -> `"dense_1"`),
holding its variables as numpy arrays under their keys in the file (`"0"`, `"1"`, ...).
Objects that hold no variables, and containers holding no such objects, are left out, as
Keras does. Edits change that dict; `save` writes it back in Keras' `.weights.h5` layout
(`<path>/vars/<key>`), so the result loads in Keras 3 and in lamina.

Reading goes through the same checks as `load_weights`/`load_model` (archive members and
sizes, HDF5 links, external storage, dtypes, shape bombs, the `max_load_bytes` limit) and
is data-only: nothing is built, imported or executed.

Where lamina differs from Keras 3.15 (each a Keras defect, not a format difference):
- A bare name (`"dense_1"`) is found wherever it is unique in the file; Keras reports
  almost any bare name as ambiguous once the file holds more than one top-level object
  (e.g. `layers` and `optimizer`), so only full paths work there.
- An object holding both variables and sub-objects keeps both; Keras' editor drops the
  sub-objects of an object that has variables of its own.
- `rename_object` refuses a new name already taken (Keras silently overwrites that object);
  keys and values are checked when added (Keras fails later, in `save`, or not at all).
- `compare` counts each mismatching or matching weight (or missing object) once, as the
  counts are documented; Keras counts them again at every enclosing level.
- Keras' bfloat16 weights (opaque 2-byte values) read as exact float32 arrays and save as
  float32, which a bfloat16 variable loads unchanged; Keras' editor holds raw bytes and
  cannot save them.
- Paths may start with `/` (as `object_metadata`'s keys do) and file paths may be
  `pathlib.Path`s.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import torch

from lamina.saving import h5_safety, keras_archive
from lamina.serialization import serialization
from lamina.utils import io_utils
from lamina.utils.file_utils import atomic_path

_KERAS_SUFFIX = ".keras"
_WEIGHTS_SUFFIX = ".weights.h5"
_VARS = "vars"
_RULE = "\u2500" * 21
_LIST_HINT = "Call `editor.summary()` to list the objects in the file."


class InvalidKerasArchiveError(zipfile.BadZipFile, ValueError):
    """A `.keras` path that is not a zip archive (a `zipfile.BadZipFile`, as Keras raises,
    and a `ValueError`, as lamina's loaders raise)."""


class KerasFileEditor:
    """Inspect and edit the weights stored in a `.keras` or `.weights.h5` file.

    Useful to adapt a saved file to a changed architecture: rename, delete or add the
    weights of objects, compare the file to a model, and save the result as a
    `.weights.h5` file that `model.load_weights` reads (in lamina and in Keras 3).

    Args:
        filepath: a local `.keras` or `.weights.h5` file.

    Attributes:
        weights_dict: the file's weights, a nested dict (see the module docstring).
        config, metadata: a `.keras` file's `config.json` and `metadata.json` as dicts
            (None for a `.weights.h5` file).
        object_metadata: `{"/<path>": {"name": ...}}`, the attributes the file stores
            for each object that holds variables.

    Example:

    >>> import os, tempfile, numpy as np, lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
    >>> model.save_weights(path)
    >>> editor = KerasFileEditor(path)  # doctest: +ELLIPSIS
    Keras model file '...model.weights.h5'
    >>> editor.summary()
    Weights structure
      > layers
          └─ dense
              ├─ 0: shape=(3, 2), dtype=float32
              └─ 1: shape=(2,), dtype=float32
    >>> editor.add_weights("layers/dense", {"1": np.ones(2, "float32")})
    >>> editor.save(path)
    >>> model.load_weights(path)
    >>> model.layers[0].bias.numpy().tolist()
    [1.0, 1.0]
    """

    def __init__(self, filepath):
        self.filepath = filepath
        self.model = None
        self.config = None
        self.metadata = None
        self.object_metadata = {}
        path = _fspath(filepath, "filepath")
        if path.endswith(_KERAS_SUFFIX):
            members = _read_keras_archive(path)
            self.config = _json_member(members, keras_archive.CONFIG, path)
            if keras_archive.METADATA in members:
                self.metadata = _json_member(members, keras_archive.METADATA, path)
            if keras_archive.WEIGHTS not in members:
                raise ValueError(f"'{path}' holds no {keras_archive.WEIGHTS!r}: there are no "
                                 "weights to edit.")
            source, where = (io.BytesIO(members[keras_archive.WEIGHTS]),
                             f"{path} ({keras_archive.WEIGHTS})")
        elif path.endswith(_WEIGHTS_SUFFIX):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"No file found at '{path}'.")
            source, where = path, path
        else:
            raise ValueError(f"`filepath` must name a `{_KERAS_SUFFIX}` archive or a "
                             f"`{_WEIGHTS_SUFFIX}` file. Received: filepath={path}")
        self.weights_dict = _read_weights(source, where, self.object_metadata)
        io_utils.print_msg(f"Keras model file '{path}'")
        if isinstance(self.metadata, dict) and "keras_version" in self.metadata:
            io_utils.print_msg(f"Saved with Keras {self.metadata['keras_version']} - date: "
                               f"{self.metadata.get('date_saved', 'unknown')}")

    # -- inspection -------------------------------------------------------------------

    def summary(self):
        """Print the file's objects and weights (shape and dtype) as a tree."""
        lines = ["Weights structure"]
        items = list(self.weights_dict.items())
        for index, (key, value) in enumerate(items):
            last = index == len(items) - 1
            marker = "> " if index == 0 else ("\u2514\u2500 " if last else "\u251c\u2500 ")
            _tree_lines(lines, key, value, "  ", marker, "    " if last else "\u2502   ")
        io_utils.print_msg("\n".join(lines))

    def compare(self, reference_model):
        """Compare the file's weights with those `reference_model` would save.

        Prints each mismatch: a weight whose shape differs, or a weight or object present
        on one side only.

        Args:
            reference_model: a model (or any layer or optimizer) to compare to.

        Returns:
            `{"status": "success" or "error", "error_count": int, "match_count": int}`:
            the number of mismatches and of weights whose shapes match.
        """
        io_utils.print_msg("Running comparison")
        reference = _reference_shapes(reference_model)
        counts = {"error": 0, "match": 0}
        _compare(reference, self.weights_dict, "", counts)
        io_utils.print_msg(_RULE)
        if counts["error"]:
            plural = "s" if counts["error"] > 1 else ""
            io_utils.print_msg(f"Found {counts['error']} error{plural}: saved file is not "
                               "compatible with the reference model")
            status = "error"
        else:
            io_utils.print_msg("Comparison successful: saved file is compatible with the "
                               f"reference model\n    Found {counts['match']} matching weights")
            status = "success"
        return {"status": status, "error_count": counts["error"],
                "match_count": counts["match"]}

    # -- edits ------------------------------------------------------------------------

    def rename_object(self, object_name, new_name):
        """Rename an object (or a weight) of the file.

        Args:
            object_name: its name (`"dense_2"`, where unique in the file) or full path
                (`"layers/dense_2"`).
            new_name: the new name: one path part, no `/`.
        """
        parent, key, path = self._find(object_name, "object_name")
        new_name = _check_key(new_name, "new_name", leaf_only=True)
        if new_name == key:
            return
        if new_name in parent:
            raise ValueError(
                f"Cannot rename '{path}' to {new_name!r}: an object or weight named "
                f"{new_name!r} already exists next to it. Delete it first with "
                "`editor.delete_object(...)` if it should be replaced.")
        parent[new_name] = parent.pop(key)

    def delete_object(self, object_name):
        """Remove an object (e.g. a layer) and all its weights from the file.

        Args:
            object_name: its name (`"dense_2"`, where unique in the file) or full path
                (`"layers/dense_2"`).
        """
        parent, key, _ = self._find(object_name, "object_name")
        del parent[key]

    def add_object(self, object_path, weights):
        """Add an object (e.g. a layer) with its weights; an object already at that path
        is replaced.

        Args:
            object_path: the object's full path (`"layers/dense_2"`); the objects above it
                must exist.
            weights: `{weight name: array}`, e.g. `{"0": kernel, "1": bias}` (values may
                also be dicts, for sub-objects).
        """
        weights = _check_weights(weights, allow_objects=True)
        parts = _split_path(object_path, "object_path")
        parent = self.weights_dict
        for depth, part in enumerate(parts[:-1]):
            child = parent.get(part)
            if not isinstance(child, dict):
                where = "/".join(parts[:depth + 1])
                what = "is a weight, not an object" if child is not None else "does not exist"
                raise ValueError(f"Cannot add '{'/'.join(parts)}': its parent path '{where}' "
                                 f"{what} in the file. {_LIST_HINT}")
            parent = child
        _check_key(parts[-1], "object_path", leaf_only=False, is_object=True)
        parent[parts[-1]] = weights

    def delete_weight(self, object_name, weight_name):
        """Remove one weight of an object.

        Args:
            object_name: the object's name (where unique) or full path.
            weight_name: the weight's key in the file (e.g. `"0"`).
        """
        obj, path = self._find_object(object_name)
        if not isinstance(weight_name, str) or weight_name not in obj:
            raise ValueError(f"Object '{path}' has no weight {weight_name!r}. Its weights: "
                             f"{[k for k, v in obj.items() if not isinstance(v, dict)]}")
        del obj[weight_name]

    def add_weights(self, object_name, weights):
        """Add weights to an existing object (a weight with the same key is replaced).

        Args:
            object_name: the object's name (where unique) or full path.
            weights: `{weight name: array}`, e.g. `{"0": kernel, "1": bias}`.
        """
        weights = _check_weights(weights, allow_objects=False)
        obj, _ = self._find_object(object_name)
        obj.update(weights)

    # -- writing ----------------------------------------------------------------------

    def save(self, filepath):
        """Write the (edited) weights to a `.weights.h5` file, atomically.

        Args:
            filepath: the target; must end in `.weights.h5`.
        """
        path = _fspath(filepath, "filepath")
        if not path.endswith(_WEIGHTS_SUFFIX):
            raise ValueError(f"`filepath` must end in `{_WEIGHTS_SUFFIX}`: the editor saves "
                             f"weights only. Received: filepath={path}")
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            _write(f, self.weights_dict)

    def resave_weights(self, filepath):
        """As `save`: write the (edited) weights to a `.weights.h5` file."""
        self.save(filepath)

    # -- lookups ----------------------------------------------------------------------

    def _find(self, name, argument):
        """`(parent dict, key, full path)` of the object or weight `name` (a full path, or
        a bare name found exactly once in the file)."""
        if not isinstance(name, str) or not name.strip("/"):
            raise ValueError(f"`{argument}` must be an object's name or path, such as "
                             f"'layers/dense'. Received: {argument}={name!r}")
        if "/" in name.strip("/"):
            parts = _split_path(name, argument)
            parent = self.weights_dict
            for part in parts[:-1]:
                parent = parent.get(part)
                if not isinstance(parent, dict):
                    break
            if not isinstance(parent, dict) or parts[-1] not in parent:
                raise ValueError(f"Nothing at path '{'/'.join(parts)}' in the file. "
                                 f"{_LIST_HINT}")
            return parent, parts[-1], "/".join(parts)
        name = name.strip("/")
        found = list(_find_key(self.weights_dict, name, ""))
        if not found:
            raise ValueError(f"No object or weight named {name!r} in the file. {_LIST_HINT}")
        if len(found) > 1:
            raise ValueError(f"Name {name!r} is ambiguous: the file has it at "
                             f"{[path for _, path in found]}. Pass a full path instead.")
        parent, path = found[0]
        return parent, name, path

    def _find_object(self, object_name):
        parent, key, path = self._find(object_name, "object_name")
        obj = parent[key]
        if not isinstance(obj, dict):
            raise ValueError(f"'{path}' is a weight, not an object: pass the path of the "
                             f"object that holds it ('{path.rpartition('/')[0] or '/'}').")
        return obj, path


# -- reading ----------------------------------------------------------------------------


def _fspath(filepath, argument):
    try:
        path = os.fspath(filepath)
    except TypeError:
        raise TypeError(f"`{argument}` must be a path (str or os.PathLike). Received: "
                        f"{argument}={filepath!r} of type {type(filepath).__name__}") from None
    return path.decode() if isinstance(path, bytes) else path


def _read_keras_archive(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No file found at '{path}'.")
    if not zipfile.is_zipfile(path):
        raise InvalidKerasArchiveError(
            f"'{path}' is not a valid `.keras` zip archive: the file may be truncated, "
            "corrupted or of another kind.")
    return keras_archive.read_archive(path)


def _json_member(members, name, path):
    try:
        value = json.loads(members[name])
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise ValueError(f"'{path}' holds an invalid {name}: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"'{path}' holds an invalid {name}: expected a JSON object, found "
                         f"{type(value).__name__}.")
    return value


def _read_weights(source, where, object_metadata):
    budget = {"left": serialization.max_load_bytes(), "limit": serialization.max_load_bytes()}
    try:
        h5file = h5py.File(source, "r")
    except OSError as error:
        raise OSError(f"'{where}' is not a readable HDF5 weights file: {error}") from error
    with h5_safety.damage_as_oserror(f"'{where}' is damaged"), h5file:
        return _read_group(h5file, "", where, budget, object_metadata)


def _read_group(group, path, where, budget, object_metadata):
    """The weights under `group`: its `vars` datasets first, then its sub-objects that
    hold weights."""
    result = {}
    own = h5_safety.group(group, _VARS, where)
    if own is not None:
        for key in own:
            result[key] = _read_dataset(h5_safety.dataset(own, key, where), budget, where)
        if result:
            object_metadata["/" + path] = {
                name: value for name in own.attrs
                if (value := h5_safety.string_attribute(own, name)) is not None}
    for key in group:
        if key == _VARS:
            continue
        child = h5_safety.group(group, key, where)
        weights = _read_group(child, f"{path}/{key}" if path else key, where, budget,
                              object_metadata)
        if weights:
            result[key] = weights
    return result


def _read_dataset(dataset, budget, where):
    size = h5_safety.declared_bytes(dataset)
    budget["left"] -= size
    if budget["left"] < 0:
        raise ValueError(
            f"Refusing to read '{where}': its weights hold more than the limit of "
            f"{serialization.readable_bytes(budget['limit'])} (at '{dataset.name}'). Raise it "
            "with `lamina.config.set_max_load_bytes(N)` if the file is trusted.")
    # NOTE: Keras' bfloat16 values read as exact float32; the editor keeps (and saves)
    # float32, which a bfloat16 variable of either library casts back when loading.
    value = h5_safety.read(dataset)
    return value[()] if value.ndim == 0 else value


def _find_key(tree, name, path):
    for key, value in tree.items():
        here = f"{path}/{key}" if path else key
        if key == name:
            yield tree, here
        if isinstance(value, dict):
            yield from _find_key(value, name, here)


# -- checking edits ---------------------------------------------------------------------


def _split_path(path, argument):
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"`{argument}` must be a path such as 'layers/dense'. Received: "
                         f"{argument}={path!r}")
    parts = path.strip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"`{argument}` must be a plain path such as 'layers/dense' (no empty, "
                         f"'.' or '..' parts). Received: {argument}={path!r}")
    return parts


def _check_key(key, argument, leaf_only, is_object=False):
    if not isinstance(key, str):
        raise TypeError(f"`{argument}`: names in the file must be strings (weights are "
                        f"usually '0', '1', ...). Received: {key!r} of type "
                        f"{type(key).__name__}")
    if leaf_only and "/" in key:
        raise ValueError(f"`{argument}` must be a single name, not a path (no '/'). "
                         f"Received: {argument}={key!r}")
    if key in ("", ".", "..") or "/" in key:
        raise ValueError(f"`{argument}`: {key!r} is not a valid name in the file (empty, "
                         "'.', '..' or containing '/').")
    if is_object and key == _VARS:
        raise ValueError(f"`{argument}`: an object cannot be named {_VARS!r}: the file "
                         "stores each object's weights in a group of that name.")
    return key


def _check_weights(weights, allow_objects, path=""):
    if not isinstance(weights, dict):
        raise ValueError("`weights` must be a dict mapping weight names ('0', '1', ...) to "
                         f"arrays. Received: weights of type {type(weights).__name__}")
    checked = {}
    for key, value in weights.items():
        _check_key(key, "weights", leaf_only=False, is_object=isinstance(value, dict))
        where = f"{path}/{key}" if path else key
        if isinstance(value, dict):
            if not allow_objects:
                raise ValueError(
                    f"Argument `weights`: the value of {where!r} is a dict; `add_weights` "
                    "takes arrays. Use `editor.add_object(...)` to add a sub-object.")
            checked[key] = _check_weights(value, allow_objects, where)
        else:
            checked[key] = _as_array(value, where)
    return checked


def _as_array(value, where):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # e.g. a ragged list
        raise ValueError(f"Argument `weights`: the value of {where!r} is not an array of a "
                         f"single shape ({error}).") from None
    if array.dtype.kind not in "biuf" or array.dtype.itemsize > 8 and array.dtype.kind == "f":
        raise ValueError(f"Argument `weights`: the value of {where!r} must be a numeric array "
                         f"(bool, int, uint or float up to 64 bits). Received dtype "
                         f"{array.dtype}.")
    return array[()] if array.ndim == 0 and isinstance(value, np.generic) else array


# -- writing ----------------------------------------------------------------------------


def _write(group, tree):
    for key, value in tree.items():
        if isinstance(value, dict):
            _write(group.require_group(key), value)
        else:
            group.require_group(_VARS).create_dataset(key, data=np.asarray(value))


# -- comparing --------------------------------------------------------------------------


class _ShapeStore:
    """A store for `save_own_variables` that keeps only the shapes it is given."""

    def __init__(self):
        self.shapes = {}

    def __setitem__(self, key, value):
        self.shapes[str(key)] = tuple(getattr(value, "shape", np.shape(value)))


def _reference_shapes(model):
    """`{path part: ... {weight key: shape}}` of what `model` would save: the weights_dict
    layout, with shapes for arrays, and nothing allocated or copied."""
    from lamina.saving import weights_h5  # NOTE: needs layers and optimizers

    if not weights_h5.is_saveable(model):
        raise ValueError("`reference_model` must be a lamina model (or layer, or any object "
                         "with `save_own_variables`). Received: "
                         f"{model!r} of type {type(model).__name__}")
    tree = {}
    for path, saveable in weights_h5.walk(model):
        store = _ShapeStore()
        saveable.save_own_variables(store)
        if not store.shapes:
            continue
        node = tree
        for part in path.split("/") if path else ():
            node = node.setdefault(part, {})
        node.update(store.shapes)
    return tree


def _shape(value):
    return tuple(np.shape(value))


def _compare(reference, saved, path, counts):
    keys = list(reference) + [key for key in saved if key not in reference]
    for key in keys:
        where = f"{path}/{key}"
        in_ref, in_file = key in reference, key in saved
        ref_value, file_value = reference.get(key), saved.get(key)
        ref_is_obj, file_is_obj = isinstance(ref_value, dict), isinstance(file_value, dict)
        if in_ref and in_file and ref_is_obj and file_is_obj:
            _compare(ref_value, file_value, where, counts)
        elif in_ref and in_file and not ref_is_obj and not file_is_obj:
            if tuple(ref_value) == _shape(file_value):
                counts["match"] += 1
            else:
                counts["error"] += 1
                io_utils.print_msg(f"...Weight shape mismatch for {where}\n"
                                   f"    In reference model: shape={tuple(ref_value)}\n"
                                   f"    In saved file: shape={_shape(file_value)}")
        elif in_ref and in_file:
            counts["error"] += 1
            io_utils.print_msg(
                f"...{where} is {'an object' if ref_is_obj else 'a weight'} in the reference "
                f"model but {'an object' if file_is_obj else 'a weight'} in the saved file")
        else:
            counts["error"] += 1
            side, other = (("reference model", "saved file") if in_ref
                           else ("saved file", "reference model"))
            value = ref_value if in_ref else file_value
            if isinstance(value, dict):
                io_utils.print_msg(f"...Object {where} present in {side}, missing from {other}"
                                   f"\n    In {side}, {where} contains the following keys: "
                                   f"{list(value)}")
            else:
                io_utils.print_msg(f"...Weight {where} present in {side}, missing from {other}")


# -- printing ---------------------------------------------------------------------------


def _tree_lines(lines, key, value, prefix, marker, child_prefix):
    if isinstance(value, dict):
        lines.append(f"{prefix}{marker}{key}")
        items = list(value.items())
        for index, (child_key, child) in enumerate(items):
            last = index == len(items) - 1
            _tree_lines(lines, child_key, child, prefix + child_prefix,
                        "\u2514\u2500 " if last else "\u251c\u2500 ",
                        "    " if last else "\u2502   ")
    else:
        array = np.asarray(value)
        lines.append(f"{prefix}{marker}{key}: shape={array.shape}, dtype={array.dtype}")


__all__ = ["KerasFileEditor"]
