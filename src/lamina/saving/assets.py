"""The `assets/` tree of a `.keras` archive: files that objects write with `save_assets`.

Keras gives each saveable object that defines `save_assets(dir_path)` a directory named by
its attribute path (the same path as its weights, e.g. `layers/vocab`), and stores every
file written there as the archive member `assets/<path>/<file>`. On loading, objects that
define `load_assets(dir_path)` get that directory back (None when the archive holds none
for them); Keras calls them only when the archive has assets at all.

Loading extracts the asset members into a private temporary directory, removed right
after the calls, and only when some object of the model defines `load_assets`: that is
the one file a load writes, because the hook's contract is a directory.
"""

import os
import tempfile

from lamina.saving import keras_archive
from lamina.saving.weights_h5 import walk


def save_assets(model):
    """Run every `save_assets` hook of `model`; return `{archive member: bytes}`."""
    hooks = [(path, obj) for path, obj in walk(model) if hasattr(obj, "save_assets")]
    if not hooks:
        return {}
    members = {}
    with tempfile.TemporaryDirectory(prefix="lamina-assets-") as root:
        for path, obj in hooks:
            directory = os.path.join(root, *path.split("/")) if path else root
            os.makedirs(directory, exist_ok=True)
            obj.save_assets(directory)
        for dirpath, _, filenames in os.walk(root):
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as f:
                    members[f"{keras_archive.ASSETS}{relative}"] = f.read()
    return members


def load_assets(model, members):
    """Give every `load_assets` hook of `model` its directory of the archive's assets."""
    assets = {name[len(keras_archive.ASSETS):]: data for name, data in members.items()
              if name.startswith(keras_archive.ASSETS) and not name.endswith("/")}
    if not assets:
        return
    hooks = [(path, obj) for path, obj in walk(model) if hasattr(obj, "load_assets")]
    if not hooks:
        return
    with tempfile.TemporaryDirectory(prefix="lamina-assets-") as root:
        for relative, data in assets.items():
            # Member names were checked by `keras_archive.read_archive` (no `..`, no
            # absolute paths), so each lands inside `root`.
            target = os.path.join(root, *relative.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)
        for path, obj in hooks:
            directory = os.path.join(root, *path.split("/")) if path else root
            obj.load_assets(directory if os.path.isdir(directory) else None)
