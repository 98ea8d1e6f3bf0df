"""Keras' `.weights.h5` layout: state stored by *attribute path*, both directions.

Every saveable object (a layer, a model, an optimizer) owns one group `<path>/vars`
holding its own variables as datasets `"0"`, `"1"`, ... (trainable first). Its children are
found by walking its attributes: public names sorted, then private ones; a list or dict
attribute names each saveable item `snake_case(ClassName)` with `_1`, `_2` suffixes. Graph
models (`Functional`, `Sequential`) walk `layers` first. An object reached twice is stored
at the first path only. So a Sequential writes `layers/dense/vars/0`, `layers/dense_1/...`,
and its optimizer `optimizer/vars/N`, exactly as Keras 3 does; layer names never matter.

The walk reads only tracked state (`_modules`, saveable attributes, public properties
that subclasses add), never a per-class table.
"""

import inspect
import math
import warnings

import h5py
import numpy as np
import torch

from lamina.backend import naming
from lamina.layers.layer import Layer
from lamina.layers.tracking import TrackedContainer
from lamina.optimizers.optimizer import Optimizer
from lamina.saving import h5_safety

_BASE_NAMES = {}
_SMALL = 2**20  # entries this size are read before their owner checks shapes


def is_saveable(obj):
    """Layers, models and optimizers (or anything with `save_own_variables`) own a group."""
    return isinstance(obj, (Layer, Optimizer)) or (
        hasattr(obj, "save_own_variables") and hasattr(obj, "load_own_variables")
        and not inspect.isclass(obj))


def _base_names(obj):
    """Names every plain `Layer` (or `Optimizer`) has: never children of a subclass."""
    base = Layer if isinstance(obj, Layer) else Optimizer if isinstance(obj, Optimizer) else None
    if base is None:
        return frozenset()
    names = _BASE_NAMES.get(base)
    if names is None:
        names = _BASE_NAMES[base] = frozenset(dir(base))
    return names


def _candidate_names(obj):
    """Attribute names that may hold saveable children, before sorting."""
    names = set()
    modules = obj.__dict__.get("_modules") or {}
    names.update(modules)
    names.update(k for k, v in obj.__dict__.items() if is_saveable(v))
    base = _base_names(obj)
    for klass in type(obj).__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, property) and not name.startswith("_") and name not in base:
                names.add(name)
    return {n for n in names if not n.startswith("__")}


def _children(obj):
    """`(attribute, value)` pairs of `obj` that hold saveables, in Keras' walk order."""
    names = _candidate_names(obj)
    ordered = []
    # Graph models walk their layer list first, like Keras' Functional/Sequential.
    if "layers" in (obj.__dict__.get("_modules") or {}):
        ordered.append("layers")
        names.discard("layers")
    ordered.extend(sorted(names, key=lambda n: (n.startswith("_"), n)))
    for name in ordered:
        try:
            value = getattr(obj, name)
        except Exception:  # a property that cannot be evaluated holds no state
            continue
        if is_saveable(value) or isinstance(value, (list, tuple, dict, TrackedContainer)):
            yield name, value


def _container_items(container):
    values = container.values() if isinstance(container, dict) else container
    used = {}
    for item in list(values):
        if not is_saveable(item):
            continue
        name = naming.to_snake_case(type(item).__name__)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        yield name, item


def walk(obj, path="", visited=None):
    """Yield `(path, saveable)` for `obj` and everything it holds, in Keras' order.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    >>> [p for p, _ in walk(model)]
    ['', 'layers/dense']
    """
    visited = set() if visited is None else visited
    if id(obj) in visited:
        return
    visited.add(id(obj))
    yield path, obj
    for name, child in _children(obj):
        child_path = f"{path}/{name}" if path else name
        if is_saveable(child):
            yield from walk(child, child_path, visited)
        else:
            for item_name, item in _container_items(child):
                yield from walk(item, f"{child_path}/{item_name}", visited)


def own_variables(obj):
    """The variables `obj` stores in its own `vars` group, trainable first."""
    if isinstance(obj, Layer):
        return obj._own_variables()
    return list(getattr(obj, "variables", []))


class Bfloat16Values(torch.Tensor):
    """A bfloat16 tensor read from a weights file (Keras' 2-byte opaque storage, bit for
    bit). numpy has no bfloat16, so `np.array(value)` gives its float32 values, which hold
    each bfloat16 exactly: loaders written for Keras' stores (`np.array(store["0"])`) work.

    Operations on it give plain tensors."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    def __array__(self, dtype=None, copy=None):
        value = self.as_subclass(torch.Tensor).float().numpy()
        return value if dtype is None else value.astype(dtype, copy=False)


class H5Store:
    """The `vars` group of one object: a dict of arrays keyed `"0"`, `"1"`, ...

    Passed to `save_own_variables(store)` / `load_own_variables(store)`.
    """

    def __init__(self, group, path, owner=None, shapes=None):
        self.group = group
        self.path = path
        self.owner = owner
        self.shapes = shapes  # the owner's variable shapes; None: entries are not variables

    def __setitem__(self, key, value):
        if isinstance(value, torch.Tensor):
            value = value.detach()
            if value.dtype == torch.bfloat16:
                # NOTE: Keras 3's layout (2-byte opaque values tagged dtype="bfloat16");
                # Keras cannot read float32 values under that tag.
                bits = value.cpu().contiguous().view(torch.int16).numpy()
                h5_safety.bfloat16_dataset(self.group, key, bits)
                return
            value = value.cpu().numpy()
        value = np.asarray(value)
        if value.dtype.name == h5_safety.BFLOAT16 and value.dtype.itemsize == 2:
            # ml_dtypes' bfloat16 (a Keras-style override may store one)
            h5_safety.bfloat16_dataset(self.group, key, value.view(np.uint16))
            return
        self.group.create_dataset(key, data=value)

    def _dataset(self, key):
        """The checked dataset `key`, not yet read; KeyError when absent."""
        dataset = None if self.group is None else h5_safety.dataset(self.group, key)
        if dataset is None:
            raise KeyError(f"No variable {key!r} stored at '{self.path or '/'}/vars'.")
        return dataset

    def __getitem__(self, key):
        dataset = self._dataset(str(key))
        if self.shapes is not None and dataset.size > max(
                [_SMALL, *(math.prod(shape) for shape in self.shapes)]):
            # NOTE: before reading, so a declared 4 TiB shape allocates nothing; smaller
            # mismatches are read and reported by the owner's own (exact) check.
            raise ValueError(
                f"{self.owner}: the weights file holds shape {dataset.shape} at "
                f"'{dataset.name}', larger than any of its variables (shapes "
                f"{self.shapes}). The file was saved from a different architecture; pass "
                "`skip_mismatch=True` to skip such layers."
            )
        if h5_safety.is_bfloat16(dataset):
            bits = h5_safety.read_bfloat16_bits(dataset)
            return torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16).as_subclass(
                Bfloat16Values)
        value = h5_safety.read(dataset)
        if h5_safety.string_attribute(dataset, "dtype") == h5_safety.BFLOAT16:
            # NOTE: earlier lamina wrote bfloat16 as float32 values under this tag (each
            # value exact; Keras cannot read them); the variable's own assign casts back.
            return np.asarray(value, dtype=np.float32)
        return value

    def keys(self):
        return [] if self.group is None else list(self.group.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        # NOTE: the link only; `key in group` would open an external link's file.
        return self.group is not None and self.group.get(str(key), getlink=True) is not None


def _describe(obj):
    name = getattr(obj, "name", None)
    return f"{type(obj).__name__} '{name}'" if name else type(obj).__name__


def save_state(obj, h5file, include_optimizer=True):
    """Write `obj`'s state (recursively) into the open h5py file `h5file`."""
    skip = set() if include_optimizer else _optimizer_ids(obj)
    for path, saveable in walk(obj, visited=set(skip)):
        group = h5file.require_group(f"{path}/vars" if path else "vars")
        name = getattr(saveable, "name", None)
        if isinstance(name, str):
            group.attrs["name"] = name
        saveable.save_own_variables(H5Store(group, path))


def _variable_shapes(saveable):
    """`saveable`'s variable shapes when lamina's own `load_own_variables` reads its entries
    (each entry is one variable); None for user overrides, which may store other arrays."""
    loader = getattr(type(saveable), "load_own_variables", None)
    if not getattr(loader, "__module__", "").startswith("lamina."):
        return None
    return [tuple(v.shape) for v in own_variables(saveable)]


def _optimizer_ids(obj):
    optimizer = getattr(obj, "optimizer", None)
    return {id(optimizer)} if optimizer is not None else set()


class _FileSource:
    """One open weights file as a source for `load_stores`."""

    def __init__(self, h5file):
        self.h5file = h5file

    def store(self, path, owner, shapes):
        return H5Store(h5_safety.group(self.h5file, f"{path}/vars" if path else "vars"),
                       path, owner, shapes)

    def files(self):
        return [(None, self.h5file)]


def load_state(obj, h5file, skip_mismatch=False, include_optimizer=True):
    """Read `obj`'s state from `h5file`, which may have been written by Keras 3."""
    load_stores(obj, _FileSource(h5file), skip_mismatch, include_optimizer)


def load_stores(obj, source, skip_mismatch=False, include_optimizer=True):
    """Read `obj`'s state from `source`: anything with `store(path, owner, shapes)` (the
    `H5Store` of the object at `path`) and `files()` (every h5py file it reads, for the
    check for extra entries), such as `sharded_weights.ShardedWeights`."""
    skip = set() if include_optimizer else _optimizer_ids(obj)
    walked = set()
    for path, saveable in walk(obj, visited=set(skip)):
        walked.add(path)
        store = source.store(path, _describe(saveable), _variable_shapes(saveable))
        try:
            saveable.load_own_variables(store)
        except (ValueError, KeyError) as error:
            if isinstance(error, KeyError) and not skip_mismatch:
                # NOTE: the store is dict-like (KeyError), but a missing entry is a bad file.
                raise ValueError(f"{_describe(saveable)}: {error.args[0] if error.args else error}"
                                 ) from error
            if not skip_mismatch or isinstance(error, h5_safety.UnsafeH5Error):
                raise
            warnings.warn(f"Skipping loading weights of {_describe(saveable)} at "
                          f"'{path or '/'}': {error}", stacklevel=2)
    _check_no_extra_entries([f for _, f in source.files()], walked, skip_mismatch)


def _check_no_extra_entries(h5files, walked, skip_mismatch):
    """A weights group with values for something the model does not have means the file
    belongs to another model: an error (a warning under `skip_mismatch`). Empty groups
    (Keras writes one for every layer, weights or not) and the optimizer's are left alone."""
    extra = []

    def visit(name, node):  # NOTE: h5py's visit follows hard links only
        if isinstance(node, h5py.Group) and name.split("/")[-1] == "vars" and len(node):
            path = name[: -len("/vars")] if name != "vars" else ""
            if path not in walked and path.split("/")[0] != "optimizer":
                extra.append(path or "/")

    for h5file in h5files:
        h5file.visititems(visit)
    extra = set(extra)
    if not extra:
        return
    message = (f"The weights file holds values for {sorted(extra)}, which the model does not "
               "have: it was saved from a different model. Pass `skip_mismatch=True` to "
               "load the rest anyway.")
    if not skip_mismatch:
        raise ValueError(message)
    warnings.warn(message, stacklevel=3)
