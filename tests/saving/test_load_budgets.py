"""Budgets before allocation, and archive parts: a file cannot make lamina allocate more
than the load limits, inflate a zip bomb, or load without its weights.

Limits: `max_load_bytes` (variables created from a config, and archive contents; 64 GiB)
and `max_config_bytes` (config.json/metadata.json; 1 GiB), each raised per call with
`load_model(..., max_load_bytes=N, max_config_bytes=N)` or process-wide with
`lamina.config.set_max_load_bytes(N)` / `set_max_config_bytes(N)`.
"""

import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import keras_archive
from lamina.serialization import serialization


@pytest.fixture(autouse=True)
def _default_limits():
    saved = (lamina.config.max_load_bytes(), lamina.config.max_config_bytes())
    yield
    lamina.config.set_max_load_bytes(saved[0])
    lamina.config.set_max_config_bytes(saved[1])


def _dense_config(units, input_dim=1024):
    return {
        "module": "keras", "class_name": "Sequential", "registered_name": None,
        "config": {"name": "seq", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, input_dim], "dtype": "float32", "name": "in"}},
            {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"units": units, "name": "huge"}},
        ]},
    }


def _write(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _archive(path, config, weights=True, extra=None):
    members = {"metadata.json": json.dumps({"keras_version": "3.15.1"}),
               "config.json": json.dumps(config)}
    if weights:
        members["model.weights.h5"] = keras_archive.h5_bytes(lambda f: None)
    return _write(path, {**members, **(extra or {})})


@pytest.fixture
def allocations(monkeypatch):
    """Records the size of every tensor torch allocates through the factories a
    Variable's initializers use, so a test can prove nothing big was allocated."""
    sizes = []
    for name in ("empty", "zeros", "ones", "rand", "randn", "full"):
        original = getattr(torch, name)

        def record(*args, _original=original, **kwargs):
            out = _original(*args, **kwargs)
            sizes.append(out.numel())
            return out

        monkeypatch.setattr(torch, name, record)
    return sizes


def test_huge_dense_in_config_is_refused_before_allocation(tmp_path, allocations):
    path = _archive(tmp_path / "huge.keras", _dense_config(2**30))
    with pytest.raises(ValueError, match=(
            r"Refusing to create variable 'kernel' of shape \(1024, 1073741824\) for layer "
            r"'huge' \(Dense\) \(4\.0 TiB\).*more than the load limit of 64\.0 GiB.*"
            r"load_model\(\.\.\., max_load_bytes=N\).*lamina\.config\.set_max_load_bytes")):
        lamina.saving.load_model(path)
    assert max(allocations, default=0) < 2**20


def test_budget_counts_all_variables_of_the_model(tmp_path):
    # Each kernel fits alone; together they pass the per-call limit.
    config = _dense_config(256, input_dim=256)
    config["config"]["layers"].append(
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "config": {"units": 256, "name": "second"}})
    path = _archive(tmp_path / "two.keras", config)
    with pytest.raises(ValueError, match="'second' \\(Dense\\).*load limit of 300.0 KiB"):
        lamina.saving.load_model(path, max_load_bytes=300 * 1024)


def test_budget_is_raised_by_keyword_and_by_config(tmp_path):
    config = _dense_config(64, input_dim=64)
    model = lamina.models.model_from_json(json.dumps(config))
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="limit of 1024 bytes.*max_load_bytes=N"):
        lamina.saving.load_model(tmp_path / "m.keras", max_load_bytes=1024)
    loaded = lamina.saving.load_model(tmp_path / "m.keras", max_load_bytes=2**20)
    np.testing.assert_array_equal(loaded.weights[0].numpy(), model.weights[0].numpy())
    lamina.config.set_max_load_bytes(1024)
    assert lamina.config.max_load_bytes() == 1024
    with pytest.raises(ValueError, match="limit of 1024 bytes.*set_max_load_bytes"):
        lamina.saving.load_model(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="load limit of 1.0 KiB"):
        lamina.models.model_from_json(json.dumps(config))
    lamina.saving.load_model(tmp_path / "m.keras", max_load_bytes=2**20)  # keyword wins
    lamina.models.load_model(tmp_path / "m.keras", max_load_bytes=2**20)


def test_budget_only_applies_while_loading():
    lamina.config.set_max_load_bytes(1024)
    layer = lamina.layers.Dense(64)
    layer.build((None, 64))  # a model built in code is not a file's request
    assert serialization.LoadBudget.active() is None


def test_budget_is_per_thread():
    import threading

    errors = []

    def build_elsewhere():
        try:
            lamina.layers.Dense(64).build((None, 64))
        except ValueError as error:
            errors.append(error)

    with serialization.LoadBudget(limit=1024):
        thread = threading.Thread(target=build_elsewhere)
        thread.start()
        thread.join()
        with pytest.raises(ValueError, match="load limit of 1.0 KiB"):
            lamina.layers.Dense(64).build((None, 64))
    assert errors == []


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "64GB"])
def test_limits_must_be_positive_integers(value):
    with pytest.raises(ValueError, match="positive number of bytes"):
        lamina.config.set_max_load_bytes(value)
    with pytest.raises(ValueError, match="positive number of bytes"):
        lamina.config.set_max_config_bytes(value)


def test_huge_build_input_shape_is_refused_before_allocation(tmp_path, allocations):
    @lamina.saving.register_keras_serializable(package="Budget")
    class Lazy(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = lamina.layers.Dense(1)

        def build(self, input_shape):
            pass  # leaves `dense` unbuilt: loading completes the build with one call

        def call(self, x):
            return self.dense(x)

    config = serialization.serialize_keras_object(Lazy(name="lazy"))
    config["build_config"] = {"input_shape": [2**20, 2**20]}
    try:
        with pytest.raises(ValueError, match=r"a build input of shape \[1048576, 1048576\]"):
            lamina.saving.load_model(_archive(tmp_path / "lazy.keras", config))
    finally:
        lamina.saving.get_custom_objects().pop("Budget>Lazy")
    assert max(allocations, default=0) < 2**20


def test_config_json_over_its_limit_is_refused_unread(tmp_path):
    path = tmp_path / "m.keras"
    lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)]).save(path)
    with pytest.raises(ValueError, match=(
            r"'config.json' claims \d+ bytes, more than the limit of 100 bytes.*"
            r"max_config_bytes=N.*set_max_config_bytes")):
        lamina.saving.load_model(path, max_config_bytes=100)
    lamina.config.set_max_config_bytes(100)
    with pytest.raises(ValueError, match="limit of 100 bytes"):
        lamina.saving.load_model(path)
    lamina.saving.load_model(path, max_config_bytes=2**20)


def test_zip_bomb_is_refused_without_inflating_it(tmp_path, monkeypatch):
    # 64 MiB of zeros deflate to ~64 KiB: refused from the declared size (limit 16 MiB)
    # before a byte is inflated.
    path = _write(tmp_path / "bomb.keras", {
        "config.json": json.dumps(_dense_config(2, input_dim=2)),
        "model.weights.h5": b"\0" * (64 * 2**20)}, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    opened = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: (
        opened.append(getattr(name, "filename", name)) or original(self, name, *a, **k)))
    monkeypatch.setattr(keras_archive, "MAX_COMPRESSION_RATIO", 10**9)  # size limits only
    with pytest.raises(ValueError, match=(
            r"'model.weights.h5' claims 67108864 bytes, more than the limit of 16777216.*"
            r"max_load_bytes=N")):
        lamina.saving.load_model(path, max_load_bytes=16 * 2**20)
    assert opened == []


def test_total_inflated_size_is_budgeted_across_members(tmp_path, monkeypatch):
    # Each asset fits the per-member limit; together they pass the archive's total.
    assets = {f"assets/a{i}.bin": b"\0" * 2**20 for i in range(8)}
    path = _archive(tmp_path / "many.keras", _dense_config(2, input_dim=2), extra=assets)
    with pytest.raises(ValueError, match=r"members claim \d+ bytes in all, more than the "
                                         r"limit of \d+ bytes.*max_load_bytes"):
        keras_archive.read_archive(path, max_load_bytes=4 * 2**20, max_config_bytes=2**10)


def test_member_inflating_past_its_declared_size_is_refused_while_streaming(tmp_path):
    # A lying header: the central directory declares 1 KiB for 4 MiB of deflated data.
    path = _write(tmp_path / "liar.keras", {
        "config.json": json.dumps(_dense_config(2, input_dim=2)),
        "model.weights.h5": b"\0" * (4 * 2**20)}, compression=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")  # the weights' central directory entry
    data[central + 24:central + 28] = (1024).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.weights.h5"):
        keras_archive.read_archive(path)


def test_corrupt_member_data_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "bad.keras", {
        "config.json": json.dumps(_dense_config(2, input_dim=2)),
        "model.weights.h5": b"\1" * 4096}, compression=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    start = data.index(b"model.weights.h5") + len("model.weights.h5")
    data[start:start + 16] = b"\xff" * 16  # garble the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a valid `.keras` zip archive.*model.weights.h5"):
        keras_archive.read_archive(path)


def test_many_members_do_not_make_the_duplicate_check_quadratic(tmp_path):
    names = {f"assets/f{i}": b"" for i in range(20000)}
    path = _archive(tmp_path / "wide.keras", _dense_config(2, input_dim=2), extra=names)
    members = keras_archive.read_archive(path)
    assert len(members) == 3 + 20000


# -- missing and unknown parts ---------------------------------------------------------

def test_archive_without_weights_is_an_error(tmp_path):
    # Keras 3: "Expected a model.weights.h5 or model.weights.npz file." after rebuilding.
    path = _archive(tmp_path / "noweights.keras", _dense_config(2, input_dim=2),
                    weights=False)
    with pytest.raises(ValueError, match=(
            "holds no 'model.weights.h5': loading it would give a model with freshly "
            "initialised weights.*model_from_json")):
        lamina.saving.load_model(path)
    with pytest.raises(ValueError, match="holds no 'model.weights.h5'"):
        lamina.saving.load_model(path, compile=False)
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="holds no 'model.weights.h5'"):
        model.load_weights(path)


def test_npz_weights_archive_says_lamina_reads_h5_only(tmp_path):
    path = _archive(tmp_path / "npz.keras", _dense_config(2, input_dim=2), weights=False,
                    extra={"model.weights.npz": b"PK"})
    with pytest.raises(ValueError, match="npz format.*reads only h5 weights"):
        lamina.saving.load_model(path)


def test_unknown_members_are_ignored_unread_with_a_warning(tmp_path, monkeypatch):
    # Keras 3 ignores members it does not define; lamina does too, but says so, and
    # never inflates them.
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    members = keras_archive.read_archive(tmp_path / "m.keras")
    _write(tmp_path / "extra.keras", {**members, "notes/readme.txt": b"hi",
                                      "extra.py": b"raise SystemExit"})
    opened = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: (
        opened.append(getattr(name, "filename", name)) or original(self, name, *a, **k)))
    with pytest.warns(UserWarning, match=r"ignoring archive members.*'notes/readme.txt', "
                                         r"'extra.py'"):
        loaded = lamina.saving.load_model(tmp_path / "extra.keras")
    assert "extra.py" not in opened and "notes/readme.txt" not in opened
    np.testing.assert_array_equal(loaded.weights[0].numpy(), model.weights[0].numpy())


def test_unknown_config_keys_are_ignored_as_in_keras(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    members = keras_archive.read_archive(tmp_path / "m.keras")
    config = json.loads(members["config.json"])
    config["future_key"] = {"anything": 1}
    config["config"]["layers"][1]["another_key"] = [1, 2]
    members["config.json"] = json.dumps(config).encode()
    _write(tmp_path / "keys.keras", members)
    loaded = lamina.saving.load_model(tmp_path / "keys.keras")
    np.testing.assert_array_equal(loaded.weights[0].numpy(), model.weights[0].numpy())
