"""Loading is safe by default: malicious archives are refused before any code runs.

Each attack tries to create a canary file; the test proves the canary never appears.
"""

import base64
import json
import marshal
import zipfile

import pytest
import torch

import lamina
from lamina.saving import keras_archive


def _model_config(layer_entry):
    return {
        "module": "keras", "class_name": "Sequential", "registered_name": None,
        "config": {"name": "seq", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "in"}},
            layer_entry,
        ]},
    }


def _archive(path, config, extra=()):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", keras_archive.h5_bytes(lambda f: None))
        for name, data in extra:
            z.writestr(name, data)
    return path


@pytest.fixture
def canary(tmp_path):
    return tmp_path / "canary"


@pytest.mark.parametrize("entry", [
    {"module": "os", "class_name": "system", "config": {"command": "touch {canary}"}},
    {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", "{canary}"]}},
    {"module": "keras", "class_name": "importlib", "config": {}},
    {"module": "keras.layers", "class_name": "__builtins__", "config": {}},
    {"module": "builtins", "class_name": "exec",
     "config": {"source": "open('{canary}', 'w')"}, "registered_name": "exec"},
])
def test_module_and_class_injection_is_refused(tmp_path, canary, entry):
    entry = json.loads(json.dumps(entry).replace("{canary}", str(canary)))
    path = _archive(tmp_path / "evil.keras", _model_config(entry))
    with pytest.raises(TypeError, match=rf"Could not locate class '{entry['class_name']}'.*"
                                        "register_keras_serializable.*custom_objects"):
        lamina.saving.load_model(path)
    assert not canary.exists()


def test_function_injection_is_refused(tmp_path, canary):
    entry = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"units": 2, "name": "d",
                        "activation": {"module": "os", "class_name": "function",
                                       "config": "system", "registered_name": "system"}}}
    path = _archive(tmp_path / "evil.keras", _model_config(entry))
    with pytest.raises(ValueError, match="Could not locate function 'system'.*custom_objects"):
        lamina.saving.load_model(path)
    assert not canary.exists()


def _lambda_archive(tmp_path, canary):
    fn = eval(f"lambda x: (open({str(canary)!r}, 'w').close(), x)[1]")  # noqa: S307
    entry = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
             "config": {"name": "lam", "function": {
                 "class_name": "__lambda__", "config": {
                     "code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
                     "defaults": None, "closure": None}}}}
    return _archive(tmp_path / "lambda.keras", _model_config(entry))


def test_lambda_bytecode_is_refused_in_safe_mode(tmp_path, canary):
    path = _lambda_archive(tmp_path, canary)
    with pytest.raises(ValueError, match="Lambda.*arbitrary code execution.*safe_mode=False"):
        lamina.saving.load_model(path)
    assert not canary.exists()


def test_lambda_bytecode_loads_only_with_explicit_opt_out(tmp_path, canary):
    # Positive control: the canary does fire once the user trusts the file (the model is
    # built by running the function).
    model = lamina.saving.load_model(_lambda_archive(tmp_path, canary), safe_mode=False)
    assert canary.exists()
    assert model(torch.ones(1, 2)).tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("member", ["../escape.json", "/abs/config.json", "assets/../../x",
                                    "config.json/../../evil", "assets\\..\\x"])
def test_unexpected_or_traversing_member_names_are_refused(tmp_path, member):
    config = _model_config({"module": "keras.layers", "class_name": "Dense",
                            "config": {"units": 2, "name": "d"}})
    path = _archive(tmp_path / "t.keras", config, extra=[(member, b"x")])
    with pytest.raises(ValueError, match="unexpected archive member"):
        lamina.saving.load_model(path)
    assert not (tmp_path.parent / "escape.json").exists()


def test_oversized_and_bomb_members_are_refused(tmp_path, monkeypatch):
    config = _model_config({"module": "keras.layers", "class_name": "Dense",
                            "config": {"units": 2, "name": "d"}})
    path = tmp_path / "big.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"\0" * (8 * 2**20))
    with pytest.raises(ValueError, match="model.weights.h5.*ratio.*zip bomb"):
        lamina.saving.load_model(path)
    with pytest.raises(ValueError, match=r"'config.json' claims \d+ bytes.*limit of 100"):
        keras_archive.read_archive(_archive(tmp_path / "j.keras", config), max_config_bytes=100)


def test_duplicate_members_and_non_zip_files_are_refused(tmp_path):
    config = _model_config({"module": "keras.layers", "class_name": "Dense",
                            "config": {"units": 2, "name": "d"}})
    path = tmp_path / "dup.keras"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _archive(path, config, extra=[("config.json", b"{}")])
    with pytest.raises(ValueError, match="'config.json' appears more than once"):
        lamina.saving.load_model(path)
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid `.keras` zip archive"):
        lamina.saving.load_model(tmp_path / "junk.keras")


def test_enable_unsafe_deserialization_overrides_default(tmp_path, canary, monkeypatch):
    from lamina.serialization import serialization

    monkeypatch.setattr(serialization, "_UNSAFE_EVERYWHERE", False)
    lamina.config.enable_unsafe_deserialization()
    lamina.saving.load_model(_lambda_archive(tmp_path, canary))
    assert serialization.in_safe_mode() is False


@pytest.mark.parametrize("key", ["class_name", "module", "registered_name"])
def test_non_string_class_names_in_a_config_are_a_clear_value_error(key):
    from lamina.serialization.serialization import deserialize_keras_object

    config = {"class_name": "Dense", "config": {"units": 2}, key: {"not": "a string"}}
    with pytest.raises(ValueError, match=f"`{key}` must be a string"):
        deserialize_keras_object(config)
