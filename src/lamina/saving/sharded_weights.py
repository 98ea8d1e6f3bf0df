"""Keras 3's sharded weights: a `.weights.json` map naming `.weights.h5` shards.

`save_weights("m.weights.json", max_shard_size=GB)` writes `m_00000.weights.h5`,
`m_00001.weights.h5`, ... next to the map, in `weights_h5`'s layout; a new shard starts when
the next variable would take the current one past `max_shard_size`, so one object's
variables may span shards. The map is Keras':
`{"metadata": {"total_size": bytes}, "weight_map": {"/<path>/vars": [shard, ...]}}`.

Loading treats the map as untrusted. Before any shard is opened, every name it lists must
be a plain `.weights.h5` file name in the map's own directory (no absolute path, no `..`,
no separator, no symlink out of the directory), every shard must exist, and their sizes
together must fit `max_load_bytes`. Shards are then read with `h5_safety`'s data-only rules,
like a single `.weights.h5`, and the bytes of every dataset read count against the budget.
"""

import contextlib
import json
import os
import pathlib
import stat
import warnings

import h5py

from lamina.saving import h5_safety, weights_h5
from lamina.serialization.serialization import max_config_bytes
from lamina.serialization.serialization import max_load_bytes as default_max_load_bytes
from lamina.utils.file_utils import atomic_path

MAP_SUFFIX = ".weights.json"
SHARD_SUFFIX = ".weights.h5"
_GB = 1024**3  # Keras' unit for `max_shard_size`


def map_path(filepath):
    """`(map path, shard base name)` for `save_weights(filepath, max_shard_size=...)`.

    As Keras, a `.weights.h5` path is written as the `.weights.json` map beside it (with a
    warning), and shards are named after the path given, without `.weights`.

    >>> map_path("run/model.weights.json")
    ('run/model.weights.json', 'model')
    """
    path = pathlib.Path(filepath)
    base = path.stem.replace(".weights", "")
    if path.suffix != ".json":
        path = path.with_suffix(".json")
        warnings.warn(f"Saving sharded weights requires `*.json` as the extension: "
                      f"'{filepath}' is written as '{path}'.", stacklevel=4)
    return str(path), base


def _shard_limit(max_shard_size):
    if isinstance(max_shard_size, bool) or not isinstance(max_shard_size, (int, float)) or \
            not max_shard_size > 0:
        raise ValueError("`max_shard_size` must be a positive number of gigabytes (e.g. 2 or "
                         f"0.5). Received: max_shard_size={max_shard_size!r}")
    return float(max_shard_size) * _GB


class _ShardWriter:
    """Stands for the h5py file `weights_h5.save_state` writes into: each object's `vars`
    group lives in the current shard, and a dataset that would overfill it opens the next."""

    def __init__(self, directory, base, limit, stack):
        self.directory, self.base, self.limit, self.stack = directory, base, limit, stack
        self.names, self.weight_map, self.total_size = [], {}, 0.0
        self.file, self.size = None, 0.0
        self._next_shard()

    def _next_shard(self):
        name = f"{self.base}_{len(self.names):05d}{SHARD_SUFFIX}"
        tmp = self.stack.enter_context(atomic_path(os.path.join(self.directory, name)))
        self.close()
        self.file = self.stack.enter_context(h5py.File(tmp, "w"))
        self.names.append(name)
        self.size = 0.0

    def require_group(self, path):
        return _ShardGroup(self, path)

    def add(self, path, key, data):
        """Write one dataset, opening the next shard first if it would overfill this one."""
        nbytes = float(data.size * data.dtype.itemsize)
        if nbytes > self.limit:
            raise ValueError(
                f"The variable '{path}/{key}' takes {nbytes:.0f} bytes, more than "
                f"`max_shard_size` ({self.limit:.0f} bytes): no shard can hold it. Raise "
                "`max_shard_size`."
            )
        if self.size + nbytes > self.limit:
            self._next_shard()
        self.size += nbytes
        self.total_size += nbytes
        group = self.file.require_group(path)
        dataset = group.create_dataset(key, data=data)
        shards = self.weight_map.setdefault(group.name, [])
        if self.names[-1] not in shards:
            shards.append(self.names[-1])
        return dataset

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def map_json(self):
        return json.dumps({"metadata": {"total_size": self.total_size},
                           "weight_map": self.weight_map}, indent=4)


class _ShardGroup:
    """One object's `vars` group in a sharded save (`H5Store` writes through it)."""

    def __init__(self, writer, path):
        self.writer, self.path = writer, path

    @property
    def attrs(self):
        # NOTE: metadata (the object's name) goes to the shard open when the object is
        # reached, as Keras writes it.
        return self.writer.file.require_group(self.path).attrs

    def create_dataset(self, key, data):
        return self.writer.add(self.path, key, data)


def save(model, path, base, max_shard_size):
    """Write `model`'s variables as the map `path` and shards `<base>_NNNNN.weights.h5`
    (`map_path` gives both).

    Every file is written to a temporary file first; nothing replaces an existing file
    until all of them are complete, and the map is replaced last.
    """
    limit = _shard_limit(max_shard_size)
    directory = os.path.dirname(os.path.abspath(path))
    # NOTE: the stack exits last-in first-out, so the map (entered first) is replaced last.
    with contextlib.ExitStack() as stack:
        map_tmp = stack.enter_context(atomic_path(path))
        writer = _ShardWriter(directory, base, limit, stack)
        weights_h5.save_state(model, writer)
        writer.close()
        with open(map_tmp, "w") as f:
            f.write(writer.map_json())
    return path


def _refuse(map_file, name, why):
    raise ValueError(f"Refusing to load '{map_file}': its weight_map names shard {name!r}, "
                     f"which {why}. Shards must be `*{SHARD_SUFFIX}` files in the map's own "
                     "directory.")


class ShardedWeights:
    """The checked shards of a `.weights.json` map, opened on first use; a weights source
    for `weights_h5.load_stores`. Use as a context manager (it closes the shards).

    Args:
        filepath: the map.
        max_load_bytes: the most bytes the shards may hold and their datasets declare;
            None means `lamina.config.max_load_bytes()`.
    """

    def __init__(self, filepath, max_load_bytes=None):
        self.filepath = os.fspath(filepath)
        self.limit = max_load_bytes or default_max_load_bytes()
        self.weight_map = self._read_map()
        self.directory = os.path.realpath(os.path.dirname(os.path.abspath(self.filepath)))
        names = list(dict.fromkeys(n for shards in self.weight_map.values() for n in shards))
        for name in names:
            self._check_name(name)
        self.paths = {name: self._existing_shard(name) for name in names}
        total = sum(os.path.getsize(p) for p in self.paths.values())
        if total > self.limit:
            raise ValueError(
                f"Refusing to load '{self.filepath}': its shards hold {total} bytes, more than "
                f"the load limit of {self.limit} bytes. If you trust these files, raise it "
                "with `lamina.saving.load_weights(model, path, max_load_bytes=N)` or "
                "`lamina.config.set_max_load_bytes(N)`."
            )
        self.read_bytes = 0
        self._files = {}

    def _read_map(self):
        if not os.path.exists(self.filepath):
            raise FileNotFoundError(f"No file found at '{self.filepath}'.")
        if os.path.getsize(self.filepath) > max_config_bytes():
            raise ValueError(
                f"Refusing to load '{self.filepath}': the map is larger than the config limit "
                f"of {max_config_bytes()} bytes (raise it with "
                "`lamina.config.set_max_config_bytes(N)`).")
        try:
            with open(self.filepath, "rb") as f:
                config = json.loads(f.read())
        except (ValueError, RecursionError) as error:
            raise ValueError(f"'{self.filepath}' is not a valid sharded weights map (JSON): "
                             f"{error}") from None
        weight_map = config.get("weight_map") if isinstance(config, dict) else None
        if not isinstance(weight_map, dict):
            raise ValueError(f"'{self.filepath}' is not a sharded weights map: expected a JSON "
                             "object with a 'weight_map' object.")
        checked = {}
        for key, shards in weight_map.items():
            shards = [shards] if isinstance(shards, str) else shards
            if not (key.startswith("/") and key.endswith("/vars")) or not isinstance(
                    shards, list) or not all(isinstance(s, str) for s in shards):
                raise ValueError(
                    f"'{self.filepath}': weight_map entry {key!r}: {shards!r} is not a "
                    "'/<path>/vars' key with a shard file name or a list of them.")
            checked[key] = shards
        return checked

    def _check_name(self, name):
        parts = name.replace("\\", "/").split("/")
        if os.path.isabs(name) or name.startswith(("/", "\\")):
            _refuse(self.filepath, name, "is an absolute path")
        if ".." in parts:
            _refuse(self.filepath, name, "leaves the map's directory ('..')")
        if len(parts) > 1 or not name or "\0" in name:
            _refuse(self.filepath, name, "is not a plain file name")
        if not name.endswith(SHARD_SUFFIX):
            _refuse(self.filepath, name, f"is not a `{SHARD_SUFFIX}` file")

    def _existing_shard(self, name):
        path = os.path.join(self.directory, name)
        real = os.path.realpath(path)
        if os.path.dirname(real) != self.directory:
            _refuse(self.filepath, name, f"is a symlink leaving the map's directory (to "
                                         f"'{real}')")
        if not os.path.exists(real):
            users = sorted(k for k, v in self.weight_map.items() if name in v)
            raise FileNotFoundError(f"'{self.filepath}' names the shard '{name}' (for "
                                    f"{users}), but there is no file at '{path}'.")
        if not stat.S_ISREG(os.stat(real).st_mode):
            _refuse(self.filepath, name, "is not a regular file")
        return real

    def _file(self, name):
        if name not in self._files:
            try:
                self._files[name] = h5py.File(self.paths[name], "r")
            except (OSError, KeyError, RuntimeError, OverflowError) as error:
                raise OSError(f"The shard '{self.paths[name]}' of '{self.filepath}' is not a "
                              f"readable HDF5 file: {error}") from error
        return self._files[name]

    def files(self):
        """Every shard, opened: `[(name, h5py file)]`."""
        return [(name, self._file(name)) for name in self.paths]

    def has(self, path):
        """Whether the map lists variables for the object at `path`."""
        return (f"/{path}/vars" if path else "/vars") in self.weight_map

    def store(self, path, owner, shapes):
        """The `vars` store of the object at `path`, spanning the shards the map lists."""
        shards = self.weight_map.get(f"/{path}/vars" if path else "/vars", [])
        groups = []
        for name in shards:
            group = h5_safety.group(self._file(name), f"{path}/vars" if path else "vars",
                                    source=name)
            if group is not None:
                groups.append((name, group))
        return _ShardedStore(self, groups, path, owner, shapes)

    def charge(self, dataset, source):
        """Count a dataset about to be read against the load limit."""
        self.read_bytes += h5_safety.declared_bytes(dataset)
        if self.read_bytes > self.limit:
            raise ValueError(
                f"Refusing to read '{source}' at '{dataset.name}': the shards of "
                f"'{self.filepath}' declare more than the load limit of {self.limit} bytes. "
                "If you trust these files, raise it with `lamina.saving.load_weights(model, "
                "path, max_load_bytes=N)` or `lamina.config.set_max_load_bytes(N)`.")

    def close(self):
        for f in self._files.values():
            f.close()
        self._files.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _ShardedStore(weights_h5.H5Store):
    """An object's `vars` entries gathered from every shard that holds some of them."""

    def __init__(self, shards, groups, path, owner, shapes):
        super().__init__(groups[0][1] if groups else None, path, owner, shapes)
        self.shards, self.groups = shards, groups

    def _dataset(self, key):
        for name, group in self.groups:
            dataset = h5_safety.dataset(group, key, source=name)
            if dataset is not None:
                self.shards.charge(dataset, name)
                return dataset
        raise KeyError(f"No variable {key!r} stored at '{self.path or '/'}/vars' in any of the "
                       f"shards {[name for name, _ in self.groups]} of "
                       f"'{self.shards.filepath}'.")

    def keys(self):
        return [key for _, group in self.groups for key in group.keys()]

    def __contains__(self, key):
        return any(group.get(str(key), getlink=True) is not None for _, group in self.groups)
