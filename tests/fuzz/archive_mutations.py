"""Structure-aware mutations of a `.keras` archive, as plain data plus their application.

A *case* is plain data (tuples, lists, strings, numbers), so hypothesis can shrink it and a
failing case can be pasted into an `@example`. Each mutation names its target by an
integer `pick`, resolved at application time as `pick % len(candidates)` over a sorted
list of candidates (JSON paths, zip records, h5 objects), or by an explicit path.

Three families, each applied to one seed archive's members (`{name: bytes}`):
- config mutations edit `config.json`: replace a value with junk of another type, delete
  a key, rename `class_name`/`module`/`registered_name`, set integers to huge/negative
  edge values, swap or duplicate list items, or damage the JSON text itself;
- zip mutations drop/duplicate/rename/add/swap members and change their compression,
  then patch header fields (sizes, CRC, method, flags, name lengths, offsets), flip bytes
  or truncate the written archive;
- h5 mutations edit `model.weights.h5`: reshape datasets or declare huge ones, change
  dtypes (vlen strings, compound, enum, references), delete/add datasets and groups,
  add attributes, replace datasets by soft/external links, external raw storage,
  virtual datasets, groups or empty datasets, and corrupt or truncate the file bytes.
"""

import contextlib
import copy
import io
import json
import math
import struct
import warnings
import zipfile

import h5py
import numpy as np
from hypothesis import strategies as st

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
SEEDS = ("sequential", "functional", "recurrent", "nested")

PICK = st.integers(0, 2**16)
EDGE_INTS = (0, 1, -1, 2, -2**31, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
             -2**63, 2**64, 10**30, -10**30)
CLASS_NAMES = (
    "Dense", "Sequential", "Functional", "Model", "InputLayer", "Lambda", "LSTM", "Adam",
    "MeanSquaredError", "GlorotUniform", "DTypePolicy", "TorchModuleWrapper", "Layer",
    "Concatenate", "Embedding", "BatchNormalization", "Metric", "__class__", "__import__",
    "system", "eval", "Popen", "", "dense", "keras.layers.Dense", "os.system",
)
MODULES = (
    "keras", "keras.layers", "keras.models", "keras.src.models.functional", "builtins", "os",
    "subprocess", "lamina", "lamina.layers", "keras.optimizers", "keras.losses", "__main__",
    "", "keras.layers.Dense", "..", "importlib",
)
CONFIG_KEYS = ("class_name", "module", "config", "registered_name", "build_config",
               "compile_config", "layers", "name", "units", "input_shape", "batch_shape",
               "inbound_nodes", "input_layers", "output_layers", "shared_object_id",
               "args", "kwargs", "keras_history", "dtype", "__tuple__", "__passive_serialization__")

_scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(EDGE_INTS), st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(CLASS_NAMES), st.sampled_from(MODULES),
)
JUNK = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(CONFIG_KEYS) | st.text(max_size=6), children,
                        max_size=4),
    ),
    max_leaves=8,
)

# --- config.json ----------------------------------------------------------------------

CONFIG_TEXT_OPS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("nest"), st.sampled_from([50, 5_000, 200_000])),
    st.tuples(st.just("replace_all"), st.sampled_from(
        [b"", b"null", b"[]", b"{}", b'"x"', b"1e999", b"NaN", b"\xff\xfe{}", b"\xef\xbb\xbf{}",
         b'{"class_name": "Sequential", "class_name": "Dense"}', b"\x00" * 16])),
)
CONFIG_OPS = st.one_of(
    st.tuples(st.just("replace"), PICK, JUNK),
    st.tuples(st.just("delete"), PICK),
    st.tuples(st.just("rename"), PICK,
              st.sampled_from(CLASS_NAMES + MODULES) | st.text(max_size=8)),
    st.tuples(st.just("int"), PICK, st.sampled_from(EDGE_INTS) | st.integers(-10, 10)),
    st.tuples(st.just("swap"), PICK, PICK, PICK),
    st.tuples(st.just("duplicate"), PICK, PICK),
    st.tuples(st.just("text"), CONFIG_TEXT_OPS),
)
CONFIG_CASES = st.tuples(st.sampled_from(SEEDS), st.lists(CONFIG_OPS, min_size=1, max_size=4))


def _json_paths(node, prefix=()):
    """Every path (tuple of keys/indices) below `node`, in document order."""
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        path = prefix + (key,)
        yield path
        yield from _json_paths(value, path)


def _resolve(root, path):
    for key in path:
        root = root[key]
    return root


def _choose(candidates, pick):
    if isinstance(pick, (list, tuple)):
        return tuple(pick)  # an explicit path, from a regression example
    return candidates[pick % len(candidates)] if candidates else None


def _apply_config_op(config, op):
    kind = op[0]
    paths = list(_json_paths(config))
    if kind in ("replace", "delete"):
        path = _choose(paths, op[1])
        if path is None:
            return config
        parent = _resolve(config, path[:-1])
        if kind == "replace":
            parent[path[-1]] = op[2]
        else:
            del parent[path[-1]]
    elif kind == "rename":
        path = _choose([p for p in paths if p[-1] in ("class_name", "module", "registered_name")],
                       op[1])
        if path is not None:
            _resolve(config, path[:-1])[path[-1]] = op[2]
    elif kind == "int":
        path = _choose([p for p in paths if type(_resolve(config, p)) is int], op[1])
        if path is not None:
            _resolve(config, path[:-1])[path[-1]] = op[2]
    elif kind == "swap":
        path = _choose([p for p in paths
                        if isinstance(_resolve(config, p), list) and len(_resolve(config, p)) > 1],
                       op[1])
        if path is not None:
            items = _resolve(config, path)
            i, j = op[2] % len(items), op[3] % len(items)
            items[i], items[j] = items[j], items[i]
    elif kind == "duplicate":
        path = _choose([p for p in paths if isinstance(_resolve(config, p), list)
                        and _resolve(config, p)], op[1])
        if path is not None:
            items = _resolve(config, path)
            items.insert(op[2] % len(items), copy.deepcopy(items[op[2] % len(items)]))
    return config


def _apply_config_text(text, op):
    kind = op[0]
    if kind == "truncate":
        return text[:int(len(text) * op[1])]
    if kind == "insert":
        at = int(len(text) * op[1])
        return text[:at] + op[2] + text[at:]
    if kind == "nest":
        return b'{"class_name": "Sequential", "config": {"layers": ' + b"[" * op[1] + b"]" * op[1] \
            + b"}}"
    return op[1]  # replace_all


def mutate_config(members, ops):
    """Apply config mutations to `members[config.json]`; returns new members."""
    config = json.loads(members[CONFIG])
    text = None
    for op in ops:
        if op[0] == "text":
            text = _apply_config_text(
                text if text is not None else json.dumps(config).encode(), op[1])
        elif text is None:
            config = _apply_config_op(config, op)
    if text is None:
        text = json.dumps(config).encode()
    return {**members, CONFIG: text}


# --- zip structure and bytes ----------------------------------------------------------

MEMBER_NAMES = (
    "config.json", "metadata.json", "model.weights.h5", "assets/", "assets/vocab.txt",
    "assets/a/b/c.bin", "../config.json", "/config.json", "assets/../config.json",
    "assets/./x", "assets//x", "assets\\x", "C:/x", "CONFIG.JSON", "config.json/",
    "model.weights.h5.tmp", "variables.h5", "", "x" * 300, "assets/\u00e9\u4e2d",
)
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
MEMBER_OPS = st.one_of(
    st.tuples(st.just("drop"), PICK),
    st.tuples(st.just("duplicate"), PICK),
    st.tuples(st.just("rename"), PICK, st.sampled_from(MEMBER_NAMES)),
    st.tuples(st.just("add"), st.sampled_from(MEMBER_NAMES), st.binary(max_size=64)),
    st.tuples(st.just("add_zeros"), st.sampled_from(MEMBER_NAMES), st.sampled_from([2**21, 2**23])),
    st.tuples(st.just("swap"), PICK, PICK),
    st.tuples(st.just("compress"), PICK, st.sampled_from(COMPRESSIONS)),
)
# (record kind, field) -> (offset from the record's signature, struct format)
ZIP_FIELDS = {
    ("local", "flags"): (6, "<H"), ("local", "method"): (8, "<H"),
    ("local", "crc"): (14, "<I"), ("local", "compressed_size"): (18, "<I"),
    ("local", "file_size"): (22, "<I"), ("local", "name_length"): (26, "<H"),
    ("local", "extra_length"): (28, "<H"),
    ("central", "flags"): (8, "<H"), ("central", "method"): (10, "<H"),
    ("central", "crc"): (16, "<I"), ("central", "compressed_size"): (20, "<I"),
    ("central", "file_size"): (24, "<I"), ("central", "name_length"): (28, "<H"),
    ("central", "extra_length"): (30, "<H"), ("central", "comment_length"): (32, "<H"),
    ("central", "header_offset"): (42, "<I"),
    ("end", "entries_on_disk"): (8, "<H"), ("end", "entries"): (10, "<H"),
    ("end", "directory_size"): (12, "<I"), ("end", "directory_offset"): (16, "<I"),
    ("end", "comment_length"): (20, "<H"),
}
SIGNATURES = {"local": b"PK\x03\x04", "central": b"PK\x01\x02", "end": b"PK\x05\x06"}
FIELD_VALUES = st.sampled_from([0, 1, 2, 8, 9, 12, 14, 99, 0x0800, 0x0009, 0xFFFF, 0xFFFFFFFF,
                                2**31]) | st.integers(0, 2**32 - 1)
BYTE_OPS = st.one_of(
    st.tuples(st.just("field"), st.sampled_from(sorted(ZIP_FIELDS)), PICK, FIELD_VALUES),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
)
ZIP_CASES = st.tuples(st.sampled_from(SEEDS), st.lists(MEMBER_OPS, max_size=3),
                      st.lists(BYTE_OPS, max_size=3)).filter(lambda case: case[1] or case[2])


def _apply_member_op(entries, op):
    """`entries` is a list of `[name, data, compression]`."""
    kind = op[0]
    if kind in ("add", "add_zeros"):
        data = op[2] if kind == "add" else bytes(op[2])
        entries.append([op[1], data, zipfile.ZIP_DEFLATED if kind == "add_zeros"
                        else zipfile.ZIP_STORED])
        return
    if not entries:
        return
    i = op[1] % len(entries)
    if kind == "drop":
        del entries[i]
    elif kind == "duplicate":
        entries.insert(i, list(entries[i]))
    elif kind == "rename":
        entries[i][0] = op[2]
    elif kind == "swap":
        j = op[2] % len(entries)
        entries[i][1], entries[j][1] = entries[j][1], entries[i][1]
    elif kind == "compress":
        entries[i][2] = op[2]


def _apply_byte_op(data, op):
    kind = op[0]
    if kind == "truncate":
        return data[:int(len(data) * op[1])]
    if kind == "flip":
        if not data:
            return data
        at = min(int(len(data) * op[1]), len(data) - 1)
        return data[:at] + bytes([data[at] ^ op[2]]) + data[at + 1:]
    (record, field), pick, value = op[1], op[2], op[3]
    signature = SIGNATURES[record]
    offsets = []
    start = data.find(signature)
    while start != -1:
        offsets.append(start)
        start = data.find(signature, start + 1)
    offset_in_record, fmt = ZIP_FIELDS[(record, field)]
    if not offsets:
        return data
    at = offsets[pick % len(offsets)] + offset_in_record
    size = struct.calcsize(fmt)
    if at + size > len(data):
        return data
    return data[:at] + struct.pack(fmt, value % (256 ** size)) + data[at + size:]


def build_zip(entries):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data, compression in entries:
                archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data,
                                 compress_type=compression)
    return buffer.getvalue()


def mutate_zip(members, member_ops, byte_ops):
    """The archive bytes of `members` after member and byte-level mutations."""
    entries = [[name, data, zipfile.ZIP_STORED] for name, data in members.items()]
    for op in member_ops:
        _apply_member_op(entries, op)
    data = build_zip(entries)
    for op in byte_ops:
        data = _apply_byte_op(data, op)
    return data


# --- model.weights.h5 -----------------------------------------------------------------

DTYPES = ("float16", "float64", "int8", "int64", "uint8", "bool", "complex64", "S4",
          "vlen_str", "compound", "enum", "reference", "object_array")
H5_NAMES = ("0", "1", "2", "5", "00", "-1", "x", "vars", "dtype", "0/0", "\u00e9")
ATTR_NAMES = ("dtype", "name", "keras_version", "class_name", "weight_names", "layer_names",
              "backend", "x")
ATTR_VALUES = st.one_of(
    st.sampled_from(["bfloat16", "float32", "int4", "", "vars", "\u00e9"]),
    st.text(max_size=8), st.integers(-2**63, 2**63 - 1), st.binary(max_size=8),
    st.lists(st.floats(allow_nan=True), min_size=1, max_size=3),
    st.sampled_from(["empty", "refs"]),
)
SHAPES = st.lists(st.integers(0, 6), max_size=3)
HUGE_SHAPES = st.sampled_from([[2**40], [2**20, 2**20], [2**31, 4], [2**62], [3, 2**33]])
LINK_TARGETS = ("sibling", "dangling", "root", "self", "parent_group")
FILE_TARGETS = ("decoy_h5", "missing", "directory")
H5_OPS = st.one_of(
    st.tuples(st.just("reshape"), PICK, SHAPES),
    st.tuples(st.just("huge"), PICK, HUGE_SHAPES),
    st.tuples(st.just("dtype"), PICK, st.sampled_from(DTYPES)),
    st.tuples(st.just("delete"), PICK),
    st.tuples(st.just("add"), PICK, st.sampled_from(H5_NAMES), SHAPES),
    st.tuples(st.just("attr"), PICK, st.sampled_from(ATTR_NAMES) | st.text(max_size=4),
              ATTR_VALUES),
    st.tuples(st.just("softlink"), PICK, st.sampled_from(LINK_TARGETS), PICK),
    st.tuples(st.just("extlink"), PICK, st.sampled_from(FILE_TARGETS)),
    st.tuples(st.just("external_storage"), PICK, st.sampled_from(FILE_TARGETS)),
    st.tuples(st.just("virtual"), PICK, st.sampled_from(FILE_TARGETS)),
    st.tuples(st.just("to_group"), PICK),
    st.tuples(st.just("empty"), PICK),
)
H5_BYTE_OPS = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
)
# Byte damage mostly stops HDF5 at the superblock: keep it to a minority of cases.
H5_CASES = st.tuples(st.sampled_from(SEEDS), st.lists(H5_OPS, min_size=1, max_size=3),
                     st.sampled_from([[], [], []]) | st.lists(H5_BYTE_OPS, min_size=1, max_size=1))


def _objects(f):
    names = []
    f.visit(names.append)
    datasets = sorted(n for n in names if isinstance(f.get(n, getlink=True), h5py.HardLink)
                      and isinstance(f[n], h5py.Dataset))
    groups = sorted(n for n in names if isinstance(f.get(n, getlink=True), h5py.HardLink)
                    and isinstance(f[n], h5py.Group))
    return datasets, groups


def _file_target(kind, files):
    return {"decoy_h5": files["decoy_h5"], "missing": files["missing"],
            "directory": files["directory"]}[kind]


def _attr_value(f, value):
    if value == "empty":
        return h5py.Empty("f4")
    if value == "refs":
        return np.array([f.ref], dtype=h5py.ref_dtype)
    if isinstance(value, bytes):
        return np.void(value) if value else np.bytes_(b"")
    return value


def _dataset_like(f, dtype, shape):
    shape = tuple(shape)
    if dtype == "vlen_str":
        return np.full(shape, "x", dtype=object), h5py.string_dtype()
    if dtype == "compound":
        return np.zeros(shape, dtype=[("a", "f4"), ("b", "i4")]), None
    if dtype == "enum":
        return np.zeros(shape, dtype="u1"), h5py.enum_dtype({"A": 0, "B": 1}, basetype="u1")
    if dtype == "reference":
        data = np.empty(shape, dtype=h5py.ref_dtype)
        data[...] = f.ref
        return data, h5py.ref_dtype
    if dtype == "object_array":
        data = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            data[index] = np.arange(2, dtype="u1")
        return data, h5py.vlen_dtype(np.dtype("u1"))
    return np.ones(shape, dtype=dtype), None


def _replace(f, name, make):
    parent, _, leaf = name.rpartition("/")
    group = f[parent] if parent else f
    del group[leaf]
    make(group, leaf)


def _apply_h5_op(f, op, files):
    datasets, groups = _objects(f)
    kind = op[0]
    if kind == "add":
        group = f[_choose(groups, op[1])] if groups else f
        with contextlib.suppress(ValueError, TypeError):  # the name is taken
            group.create_dataset(op[2], data=np.ones(tuple(op[3]), dtype="float32"))
        return
    if kind == "attr":
        target = f[_choose(datasets + groups, op[1])] if datasets + groups else f
        name = op[2] or "x"
        target.attrs[name] = _attr_value(f, op[3])
        return
    if kind == "delete":
        names = datasets + groups
        if names:
            name = _choose(names, op[1])
            if name in f:
                del f[name]
        return
    if not datasets:
        return
    name = _choose(datasets, op[1])
    shape = f[name].shape or ()
    if math.prod(shape) > 2**16:  # an earlier "huge" op: never allocate its declared size
        shape = (4,)
    if kind == "reshape":
        _replace(f, name, lambda g, leaf: g.create_dataset(
            leaf, data=np.ones(tuple(op[2]), dtype="float32")))
    elif kind == "huge":
        _replace(f, name, lambda g, leaf: g.create_dataset(
            leaf, shape=tuple(op[2]), dtype="float32", chunks=(1,) * len(op[2])))
    elif kind == "dtype":
        data, dtype = _dataset_like(f, op[2], shape)
        _replace(f, name, lambda g, leaf: g.create_dataset(leaf, data=data, dtype=dtype))
    elif kind == "softlink":
        target = {
            "sibling": "/" + _choose(datasets, op[3]), "dangling": "/no/such/object",
            "root": "/", "self": "/" + name, "parent_group": "/" + name.rpartition("/")[0],
        }[op[2]]
        _replace(f, name, lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink(target)))
    elif kind == "extlink":
        path = _file_target(op[2], files)
        _replace(f, name, lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(path, "/x")))
    elif kind == "external_storage":
        path = files["decoy_raw"] if op[2] == "decoy_h5" else _file_target(op[2], files)
        count = int(np.prod(shape)) if shape else 1
        _replace(f, name, lambda g, leaf: g.create_dataset(
            leaf, shape=shape, dtype="float32", external=[(path, 0, 4 * count)]))
    elif kind == "virtual":
        path = _file_target(op[2], files)
        layout = h5py.VirtualLayout(shape=shape, dtype="float32")
        layout[...] = h5py.VirtualSource(path, "x", shape=shape)
        _replace(f, name, lambda g, leaf: g.create_virtual_dataset(leaf, layout, fillvalue=7.0))
    elif kind == "to_group":
        _replace(f, name, lambda g, leaf: g.create_group(leaf))
    elif kind == "empty":
        _replace(f, name, lambda g, leaf: g.create_dataset(leaf, data=h5py.Empty("f4")))


def mutate_h5(members, ops, byte_ops, files):
    """Apply h5 mutations to `members[model.weights.h5]`; returns new members.

    `files` holds absolute paths of the decoy files that links and external storage may
    point at (`decoy_h5`, `decoy_raw`, `missing`, `directory`).
    """
    buffer = io.BytesIO(members[WEIGHTS])
    with h5py.File(buffer, "r+") as f:
        for op in ops:
            _apply_h5_op(f, op, files)
    data = buffer.getvalue()
    for op in byte_ops:
        data = _apply_byte_op(data, op)
    return {**members, WEIGHTS: data}
