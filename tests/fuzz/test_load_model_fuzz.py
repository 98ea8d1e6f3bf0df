"""Fuzzing `lamina.saving.load_model` with structure-aware mutations of valid archives.

Each test draws a seed archive and a short list of mutations (`archive_mutations`), writes
the result and checks that loading gives a model or a clear ValueError/TypeError/OSError,
within a time and memory budget (`load_guard.check_load`).

CI runs a bounded, derandomized number of examples (the whole folder in about a minute
on two cores); a longer run: `LAMINA_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz`.
`LAMINA_FUZZ_STRICT=1 LAMINA_FUZZ_EXAMPLES=2000` passes too: every error is one lamina
raised on purpose, naming what is wrong in the file.
A failing case prints as plain data: paste it into an `@example` to keep it as a
regression test.
"""

import os

import pytest
from archive_mutations import (
    CONFIG_CASES,
    H5_CASES,
    ZIP_CASES,
    build_zip,
    mutate_config,
    mutate_h5,
    mutate_zip,
)
from hypothesis import HealthCheck, example, given, settings
from load_guard import check_load

import lamina

FUZZ = settings(
    max_examples=int(os.environ.get("LAMINA_FUZZ_EXAMPLES") or 200),
    derandomize=True,
    database=None,
    deadline=None,  # load_guard enforces its own, generous, time limit
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _archive(members):
    return build_zip([[name, data, 0] for name, data in members.items()])


def test_seed_archives_load(seed_members, archive_path):
    for members in seed_members.values():
        model = check_load(archive_path(_archive(members)))
        assert not isinstance(model, BaseException), model


# The loader's answers to what the fuzzer first found, with their messages.
def test_absurdly_nested_config_json_is_a_valueerror(seed_members, archive_path):
    path = archive_path(_archive(mutate_config(seed_members["sequential"],
                                               [("text", ("nest", 200_000))])))
    with pytest.raises(ValueError, match="holds an invalid config.json: maximum recursion"):
        lamina.saving.load_model(path)


def test_config_json_that_is_no_model_is_refused(seed_members, archive_path):
    path = archive_path(_archive(mutate_config(
        seed_members["sequential"], [("replace", ["class_name"], "Adam"),
                                     ("replace", ["module"], "keras.optimizers"),
                                     ("replace", ["config"], {})])))
    with pytest.raises(ValueError, match="its config.json describes a 'Adam' object, not a model"):
        lamina.saving.load_model(path)


def test_config_failing_deep_inside_torch_names_the_layer(seed_members, archive_path):
    shape = ["config", "layers", 2, "build_config", "input_shape", 1]
    path = archive_path(_archive(mutate_config(seed_members["functional"],
                                               [("int", shape, -1)])))
    with pytest.raises(ValueError, match=r"Could not rebuild Dense 'left' \(the `layers\[2\]` of "
                                         r"Functional 'functional'\) from its config: "
                                         r"\(RuntimeError: Trying to create tensor"):
        lamina.saving.load_model(path)


def test_damaged_weights_structure_is_an_oserror(seed_members, decoy_files, archive_path):
    members = mutate_h5(seed_members["nested"], [], [("flip", 0.025, 156)], decoy_files)
    with pytest.raises(OSError, match="holds a damaged 'model.weights.h5': KeyError"):
        lamina.saving.load_model(archive_path(_archive(members)))


# Regression examples: each once escaped `load_model` as another exception type.
UNITS = ["config", "layers", 1, "config", "units"]


@FUZZ
@given(case=CONFIG_CASES)
@example(case=("sequential", [("text", ("nest", 200_000))]))  # RecursionError in json
@example(case=("nested", [("duplicate", ["config", "output_layers"], 0)]))  # RecursionError
@example(case=("sequential", [("text", ("replace_all", b'{"class_name": "Dense"}'))]))
@example(case=("sequential", [("replace", ["config", "layers", 1, "build_config",
                                           "input_shape"], {"keras_history": {}})]))  # KeyError
@example(case=("functional", [("int", ["config", "layers", 2, "build_config", "input_shape", 1],
                               -1)]))  # RuntimeError from torch
@example(case=("functional", [("delete", ["config", "layers", 1, "class_name"])]))
@example(case=("sequential", [("int", UNITS, 2**28)]))  # 4 GiB: over the load budget
@example(case=("sequential", [("int", UNITS, 2**63)]))
@example(case=("recurrent", [("rename", ["module"], "builtins")]))
# Strict-mode findings (unclear errors from the functional config schema, junk arguments,
# mutated call arguments), now reported by config_checks and the rebuild wrapper:
@example(case=("nested", [("delete", 19624)]))  # 'int' object is not iterable
@example(case=("recurrent", [("duplicate", 103, 712), ("duplicate", 103, 712)]))  # call() args
@example(case=("recurrent", [("duplicate", 103, 712), ("duplicate", 712, 712)]))  # unpacking
@example(case=("recurrent", [("delete", 3652)]))  # not enough values to unpack
@example(case=("recurrent", [("delete", 16), ("rename", 1139, "subprocess"),
                             ("replace", 511, {}), ("replace", 14151, {})]))  # float - dict
@example(case=("recurrent", [("duplicate", 1004, 0)]))  # multiple values for 'training'
@example(case=("sequential", [("replace", 351, [["", 2, 2, "Embedding"], [None], None, {}])]))
@example(case=("functional", [("replace", 34342, [{"registered_name": None}] * 2)] * 2))
@example(case=("sequential", [("duplicate", 48117, 17087), ("duplicate", 48117, 17087),
                              ("swap", 17087, 65536, 1903), ("delete", 1189)]))
@example(case=("nested", [("replace", 2, False), ("delete", 3024), ("delete", 337)]))
@example(case=("nested", [("int", 49, 10**30), ("int", 49, 10**30)]))  # torch overflow
@example(case=("recurrent", [("replace", 400, [])]))  # list indices must be integers
@example(case=("functional", [("duplicate", 6642, 511), ("replace", 189, 0)]))
def test_mutated_config_loads_or_raises_clearly(case, seed_members, archive_path):
    seed, ops = case
    check_load(archive_path(_archive(mutate_config(seed_members[seed], ops))))


@FUZZ
@given(case=ZIP_CASES)
@example(case=("sequential", [("add_zeros", "assets/x", 2**23)], []))
@example(case=("functional", [], [("field", ("central", "method"), 0, 99)]))
@example(case=("recurrent", [], [("field", ("central", "flags"), 1, 1)]))
@example(case=("nested", [("compress", 2, 14)], [("flip", 0.5, 3)]))
# A damaged LZMA member raised lzma.LZMAError:
@example(case=("sequential", [("drop", 2), ("drop", 0), ("compress", 0, 14)], [("flip", 0.5, 1)]))
# An OSError from zipfile's seek and bz2's "Invalid data stream" now name the archive:
@example(case=("sequential", [], [("field", ("central", "file_size"), 164, 8606),
                                  ("field", ("end", "directory_offset"), 1202, 24095),
                                  ("field", ("local", "file_size"), 2878, 9)]))
@example(case=("functional", [("drop", 6951), ("drop", 6951), ("compress", 42001, 12)],
               [("flip", 0.1327338030141685, 171)]))
def test_mutated_zip_loads_or_raises_clearly(case, seed_members, archive_path):
    seed, member_ops, byte_ops = case
    check_load(archive_path(mutate_zip(seed_members[seed], member_ops, byte_ops)))


@FUZZ
@given(case=H5_CASES)
@example(case=("sequential", [("huge", 0, [2**20, 2**20])], []))
@example(case=("recurrent", [("softlink", 3, "root", 0)], []))
@example(case=("functional", [("dtype", 1, "vlen_str")], []))
@example(case=("sequential", [("extlink", 2, "decoy_h5")], []))
@example(case=("sequential", [("external_storage", 2, "decoy_h5")], []))
@example(case=("sequential", [("virtual", 2, "decoy_h5")], []))
# h5py's KeyError/RuntimeError/OverflowError on damaged structures:
@example(case=("nested", [], [("flip", 0.025, 156)]))
@example(case=("nested", [], [("flip", 0.0475, 156)]))
@example(case=("nested", [("attr", 6256, "dtype", b"\x9e:\xe6")], []))  # a non-string attribute
@example(case=("sequential", [("attr", 463, "dtype", "bfloat16")], []))  # an int as bfloat16
@example(case=("sequential", [("reshape", 4, [])], [("flip", 0.8922715559271486, 4)]))  # float128
@example(case=("sequential", [("reshape", 4, [])], [("flip", 0.8922715559271486, 64)]))  # no dtype
def test_mutated_weights_load_or_raise_clearly(case, seed_members, decoy_files, archive_path):
    seed, ops, byte_ops = case
    members = mutate_h5(seed_members[seed], ops, byte_ops, decoy_files)
    check_load(archive_path(_archive(members)))
