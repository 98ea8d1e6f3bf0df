"""Keras' customizing-saving hooks: `save_own_variables`/`load_own_variables` (with
defaults on `Layer` that overrides reach through `super()`), `save_assets`/`load_assets`,
and a `get_compile_config` returning Python objects."""

import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import keras_archive
from lamina.serialization import registry

X = np.random.default_rng(0).random((4, 3)).astype("float32")


@pytest.fixture
def registered():
    """Register classes/functions for one test and drop them afterwards."""
    added = []

    def register(obj, package="Hooks"):
        lamina.saving.register_keras_serializable(package=package)(obj)
        added.append(obj)
        return obj

    yield register
    for obj in added:
        registry.GLOBAL_CUSTOM_OBJECTS.pop(registry.GLOBAL_CUSTOM_NAMES.pop(obj), None)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_layer_and_dense_have_default_own_variable_hooks():
    dense = layers.Dense(2)
    dense.build((None, 3))
    store = {}
    dense.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    assert store["0"] is dense.kernel and store["1"] is dense.bias
    other = layers.Dense(2)
    other.build((None, 3))
    other.load_own_variables({k: v.detach().numpy() for k, v in store.items()})
    np.testing.assert_array_equal(other.kernel.detach().numpy(), dense.kernel.detach().numpy())
    base = lamina.Layer()
    base.w = base.add_weight(shape=(2,), name="w")
    base.built = True
    store = {}
    base.save_own_variables(store)
    assert list(store) == ["0"] and store["0"] is base.w


def test_dense_writes_kernel_and_bias_only_as_keras_does():
    class WithExtra(layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.extra = lamina.Variable(np.zeros(units, "float32"), name="extra")

    layer = WithExtra(2)
    layer.build((None, 3))
    assert [v.name for v in layer.weights] == ["extra", "kernel", "bias"]
    store = {}
    layer.save_own_variables(store)
    assert sorted(store) == ["0", "1"] and store["0"] is layer.kernel
    unbuilt = {}
    layers.Dense(2).save_own_variables(unbuilt)
    assert unbuilt == {}
    with pytest.raises(ValueError, match="never built"):
        layers.Dense(2).load_own_variables({"0": np.zeros((3, 2))})
    layers.Dense(2).load_own_variables({})  # nothing to load into nothing


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Dense(3, lora_rank=2), (None, 4)),
    (lambda: layers.EinsumDense("ab,bc->ac", (3,), bias_axes="c", lora_rank=2), (None, 4)),
    (lambda: layers.Embedding(5, 3, lora_rank=2), (None, 2)),
], ids=["Dense", "EinsumDense", "Embedding"])
def test_lora_layers_save_the_merged_weights_and_reload_them(make, shape):
    layer = make()
    layer.build(shape)
    factors = [v for v in layer.weights if v.name.startswith("lora_")]
    with torch.no_grad():
        for factor in factors:
            factor.copy_(torch.rand(factor.shape))
    x = torch.randint(0, 5, (2, 2)) if isinstance(layer, layers.Embedding) else torch.rand(2, 4)
    expected = layer(x)
    store = {}
    layer.save_own_variables(store)
    assert len(store) == (1 if isinstance(layer, layers.Embedding) else 2)
    twin = make()
    twin.build(shape)
    twin.load_own_variables({k: v.detach().numpy() for k, v in store.items()})
    assert all(not v.detach().any() for v in twin.weights if v.name.startswith("lora_"))
    torch.testing.assert_close(twin(x), expected)


def test_default_load_checks_count_and_shape_before_assigning():
    dense = layers.Dense(2)
    dense.build((None, 3))
    before = dense.kernel.detach().clone()
    with pytest.raises(ValueError, match=r"Dense 'dense' expected 2 variables.*holds 1"):
        dense.load_own_variables({"0": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"'dense/bias' has shape \(2,\).*shape \(5,\)"):
        dense.load_own_variables({"0": np.zeros((3, 2)), "1": np.zeros(5)})
    torch.testing.assert_close(dense.kernel.detach(), before)  # nothing assigned
    with pytest.raises(ValueError, match="was never built"):
        layers.Dense(2).load_own_variables({"0": np.zeros((3, 2))})


def test_overrides_extend_the_default_through_super(tmp_path, registered):
    calls = []

    @registered
    class Tagged(layers.Dense):
        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["tag"] = np.array([42.0])

        def load_own_variables(self, store):
            calls.append(float(np.asarray(store["tag"])[0]))
            super().load_own_variables(store)  # the extra named entry is ignored

    model = lamina.Sequential([lamina.Input((3,)), Tagged(2)])
    model.save(tmp_path / "tagged.keras")
    loaded = lamina.saving.load_model(tmp_path / "tagged.keras")
    assert calls == [42.0]
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    model.save_weights(tmp_path / "tagged.weights.h5")
    model.load_weights(tmp_path / "tagged.weights.h5")
    assert calls == [42.0, 42.0]


def _vocab_layer(registered):
    @registered
    class Vocabulary(layers.Layer):
        def __init__(self, vocabulary=None, **kwargs):
            super().__init__(**kwargs)
            self.vocabulary = list(vocabulary or [])
            self.loaded_from = "unset"

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "vocabulary": None}

        def save_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocab.txt"), "w") as f:
                f.write("\n".join(self.vocabulary))

        def load_assets(self, dir_path):
            self.loaded_from = dir_path
            if dir_path is not None:
                with open(os.path.join(dir_path, "vocab.txt")) as f:
                    self.vocabulary = f.read().split("\n")

    return Vocabulary


def test_assets_are_saved_under_the_attribute_path_and_loaded_back(tmp_path, registered):
    vocabulary = _vocab_layer(registered)
    model = lamina.Sequential([lamina.Input((3,)), vocabulary(["a", "b", "c"]),
                               layers.Dense(2)])
    path = tmp_path / "vocab.keras"
    model.save(path)
    members = _members(path)
    assert members["assets/layers/vocabulary/vocab.txt"] == b"a\nb\nc"
    loaded = lamina.saving.load_model(path)
    assert loaded.layers[0].vocabulary == ["a", "b", "c"]
    assert not os.path.exists(loaded.layers[0].loaded_from)  # the temporary copy is gone


def test_load_assets_is_not_called_when_the_archive_has_no_assets(tmp_path, registered):
    vocabulary = _vocab_layer(registered)
    model = lamina.Sequential([lamina.Input((3,)), vocabulary(["a"])])
    model.layers[0].save_assets = lambda dir_path: None  # writes nothing
    model.save(tmp_path / "empty.keras")
    assert not any(n.startswith("assets/") for n in _members(tmp_path / "empty.keras"))
    loaded = lamina.saving.load_model(tmp_path / "empty.keras")
    assert loaded.layers[0].loaded_from == "unset"  # as in Keras: no assets, no call


def _rewrite(path, extra):
    members = _members(path)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**members, **extra}.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("name", ["assets/../escape.txt", "assets//abs.txt",
                                  "assets/a/./b.txt", "assets\\..\\x.txt", "assets/C:/x.txt",
                                  "other/../../file.txt"])
def test_archives_with_unsafe_asset_names_are_refused(tmp_path, name):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    _rewrite(path, {name: b"x"})
    with pytest.raises(ValueError, match="unexpected archive member"):
        lamina.saving.load_model(path)


def test_asset_directory_entries_are_accepted(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    _rewrite(path, {"assets/": b"", "assets/layers/": b""})
    assert lamina.saving.load_model(path).output_shape == (None, 2)


def test_get_compile_config_returning_objects_is_serialized(tmp_path, registered):
    @registered
    def half_mse(y_true, y_pred):
        return 0.5 * lamina.ops.mean((y_true - y_pred) ** 2, axis=-1)

    @registered
    class Custom(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def get_compile_config(self):
            return {"optimizer": "adam", "loss": half_mse,
                    "metrics": ["mae", lamina.metrics.MeanSquaredError()]}

    model = Custom()
    model.compile("adam", half_mse)
    model.fit(X, X[:, :2], epochs=1, verbose=0)
    path = tmp_path / "custom.keras"
    model.save(path)
    config = json.loads(_members(path)["config.json"])["compile_config"]
    assert config["loss"] == {"module": "builtins", "class_name": "function",
                              "config": "Hooks>half_mse", "registered_name": "function"}
    assert config["metrics"][0] == "mae"
    assert config["metrics"][1]["class_name"] == "MeanSquaredError"
    loaded = lamina.saving.load_model(path)
    assert loaded.compiled and loaded.loss is half_mse
    logs = loaded.evaluate(X, X[:, :2], verbose=0, return_dict=True)
    assert {"loss", "mae", "mean_squared_error"} <= set(logs)


def test_keras_function_layout_resolves_registered_and_builtin_functions(registered):
    @registered
    def scaled(x):
        return 2 * x

    deserialize = lamina.saving.deserialize_keras_object
    assert deserialize({"module": "builtins", "class_name": "function",
                        "config": "Hooks>scaled", "registered_name": "function"}) is scaled
    assert deserialize({"module": "builtins", "class_name": "function",
                        "config": "mean_squared_error", "registered_name": "function"}) is (
        lamina.losses.mean_squared_error)
    assert deserialize({"module": "builtins", "class_name": "function",
                        "config": "relu", "registered_name": "function"}) is (
        lamina.activations.relu)
    with pytest.raises(ValueError, match="Could not locate function 'no_such_fn'"):
        deserialize({"module": "builtins", "class_name": "function",
                     "config": "no_such_fn", "registered_name": "function"})


def test_functions_serialize_in_keras_layout(registered):
    @registered
    def shifted(x):
        return x + 1

    serialize = lamina.saving.serialize_keras_object
    assert serialize(shifted) == {"module": "builtins", "class_name": "function",
                                  "config": "Hooks>shifted", "registered_name": "function"}
    assert serialize(lamina.losses.mean_squared_error)["config"] == "mean_squared_error"


def test_compile_config_of_a_plain_compile_round_trips(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.compile(lamina.optimizers.SGD(0.1), lamina.losses.mean_squared_error,
                  metrics=[lamina.metrics.mean_absolute_error])
    path = tmp_path / "plain.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.loss is lamina.losses.mean_squared_error
    assert isinstance(loaded.optimizer, lamina.optimizers.SGD)
    np.testing.assert_allclose(float(loaded.optimizer.learning_rate), 0.1)


def test_archive_member_count_is_limited(tmp_path, monkeypatch):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    path = tmp_path / "many.keras"
    model.save(path)
    _rewrite(path, {f"assets/f{i}": b"" for i in range(5)})
    monkeypatch.setattr(keras_archive, "MAX_ASSET_MEMBERS", 3)
    with pytest.raises(ValueError, match="holds 8 members, more than the limit of 6"):
        lamina.saving.load_model(io.BytesIO(path.read_bytes()))
