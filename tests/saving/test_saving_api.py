"""`.keras` and `.weights.h5` round trips: Sequential, functional, subclassed, compiled."""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina.saving import keras_archive, saving_api, weights_h5

rng = np.random.default_rng(0)
X = rng.random((16, 4), dtype=np.float32)
Y = rng.random((16, 2), dtype=np.float32)


def sequential():
    model = lamina.Sequential(name="seq")
    model.add(lamina.layers.InputLayer(shape=(4,)))
    model.add(lamina.layers.Dense(8, activation="relu"))
    model.add(lamina.layers.Dropout(0.5))
    model.add(lamina.layers.Dense(2))
    return model


def multi_io_functional():
    """Two inputs, dict outputs, a nested functional model called twice, a shared layer,
    and recorded ops."""
    x = lamina.Input((4,), name="x")
    y = lamina.Input((3, 2), name="y")
    inner_in = lamina.Input((4,))
    inner = lamina.Model(inner_in, lamina.layers.Dense(5)(inner_in), name="inner")
    shared = lamina.layers.Dense(3, name="shared")
    a, b = shared(inner(x)), shared(inner(x))
    flat = lamina.layers.Dense(3)(lamina.layers.Flatten()(y))
    h = lamina.ops.relu(lamina.ops.add(lamina.ops.add(a, b), flat))
    outputs = {"p": lamina.layers.Dense(1, name="p")(h), "q": lamina.layers.Dense(2, name="q")(h)}
    return lamina.Model([x, y], outputs, name="multi")


@lamina.saving.register_keras_serializable(package="Tests")
class TwoTower(lamina.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.towers = [lamina.layers.Dense(units), lamina.layers.Dense(units)]
        self.head = lamina.layers.Dense(2)
        self._private = lamina.layers.Dense(units)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(2,), initializer="ones", name="scale")

    def call(self, x):
        h = self.towers[0](x) + self.towers[1](x) + self._private(x)
        return self.head(h) * self.scale

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _predict(model, x):
    with torch.no_grad():
        out = model(x)
    return {k: v.numpy() for k, v in out.items()} if isinstance(out, dict) else out.numpy()


def test_sequential_keras_round_trip_keeps_predictions_and_config(tmp_path):
    model = sequential()
    path = tmp_path / "seq.keras"
    lamina.saving.save_model(model, path)
    loaded = lamina.saving.load_model(path)
    np.testing.assert_allclose(_predict(loaded, torch.from_numpy(X)),
                               _predict(model, torch.from_numpy(X)), atol=0)
    assert loaded.get_config() == model.get_config()
    names = zipfile.ZipFile(path).namelist()
    assert names == ["metadata.json", "config.json", "model.weights.h5"]
    metadata = json.loads(zipfile.ZipFile(path).read("metadata.json"))
    assert metadata["keras_version"] == "3.15.1" and "@" in metadata["date_saved"]


def test_sequential_weights_follow_keras_attribute_paths(tmp_path):
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "seq.weights.h5"
    lamina.saving.save_weights(model, path)
    with h5py.File(path) as f:
        datasets = []
        f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
        assert f["layers/dense/vars"].attrs["name"] == model.layers[0].name
        assert len(f["layers/dropout/vars"]) == 0
        np.testing.assert_array_equal(f["layers/dense_1/vars/0"][()],
                                      model.layers[2].kernel.numpy())
    assert datasets == ["layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0",
                        "layers/dense_1/vars/1"] + [f"optimizer/vars/{i}" for i in range(10)]


def test_functional_multi_io_nested_shared_round_trip(tmp_path):
    model = multi_io_functional()
    path = tmp_path / "multi.keras"
    lamina.saving.save_model(model, path)
    loaded = lamina.saving.load_model(path)
    inputs = [torch.from_numpy(X[:5]), torch.rand(5, 3, 2)]
    expected, got = _predict(model, inputs), _predict(loaded, inputs)
    assert sorted(got) == ["p", "q"]
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    # The shared layer is one object with two nodes; the nested model is rebuilt nested.
    assert len(loaded.get_layer("shared")._inbound_nodes) == 2
    assert type(loaded.get_layer("inner")).__name__ == "Functional"
    assert loaded.get_config() == model.get_config()


def test_functional_config_uses_keras_schema():
    config = multi_io_functional().get_config()
    assert config["input_layers"] == [["x", 0, 0], ["y", 0, 0]]
    assert config["output_layers"] == {"p": ["p", 0, 0], "q": ["q", 0, 0]}
    shared = next(e for e in config["layers"] if e["name"] == "shared")
    histories = [n["args"][0]["config"]["keras_history"] for n in shared["inbound_nodes"]]
    assert histories == [["inner", 0, 0], ["inner", 1, 0]]
    ops = [e for e in config["layers"] if e["module"].startswith("keras.src.ops")]
    assert [(e["class_name"], e["name"]) for e in ops] == [
        ("Add", "add"), ("Add", "add_1"), ("Relu", "relu")]


def test_subclassed_model_round_trips_through_registered_config(tmp_path):
    model = TwoTower(units=3)
    model(torch.from_numpy(X))
    with torch.no_grad():
        model.scale.copy_(torch.tensor([2.0, -1.0]))
    path = tmp_path / "towers.keras"
    lamina.saving.save_model(model, path)
    loaded = lamina.saving.load_model(path)
    assert isinstance(loaded, TwoTower) and loaded.units == 3
    np.testing.assert_allclose(_predict(loaded, torch.from_numpy(X)),
                               _predict(model, torch.from_numpy(X)), atol=1e-6)


def test_subclassed_walk_sorts_attributes_and_names_list_items():
    model = TwoTower()
    model(torch.from_numpy(X))
    paths = [p for p, _ in weights_h5.walk(model)]
    # Public names sorted, private last; `layers` (Model.layers: towers, towers, head,
    # _private) sorts before `towers`, and counts the already saved `head` as `dense_2`.
    assert paths == ["", "head", "layers/dense", "layers/dense_1", "layers/dense_3"]


def test_compiled_model_restores_optimizer_and_trains_identically(tmp_path):
    model = sequential()
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = tmp_path / "trained.keras"
    lamina.saving.save_model(model, path)
    loaded = lamina.saving.load_model(path)
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 4
    for m in (model, loaded):  # Dropout trains in fit: give both the same random masks
        lamina.utils.set_random_seed(1)
        m.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-7)


def test_load_model_without_compile_skips_optimizer(tmp_path):
    model = sequential()
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "m.keras"
    lamina.saving.save_model(model, path)
    loaded = lamina.saving.load_model(path, compile=False)
    assert not loaded.compiled and loaded.optimizer is None


def test_weights_round_trip_and_optimizer_state(tmp_path):
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "w.weights.h5"
    lamina.saving.save_weights(model, path)
    other = sequential()
    other.compile(optimizer="adam", loss="mse")
    saving_api.load_weights(other, path)
    for a, b in zip(model.weights + model.optimizer.variables,
                    other.weights + other.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # `.keras` archives also serve as weight sources.
    lamina.saving.save_model(model, tmp_path / "m.keras")
    third = sequential()
    saving_api.load_weights(third, tmp_path / "m.keras")
    np.testing.assert_array_equal(third.weights[0].numpy(), model.weights[0].numpy())


def test_load_weights_mismatch_names_layer_and_offers_skip(tmp_path):
    model = sequential()
    lamina.saving.save_weights(model, tmp_path / "w.weights.h5")
    other = lamina.Sequential()
    other.add(lamina.layers.InputLayer(shape=(4,)))
    other.add(lamina.layers.Dense(5))
    other.add(lamina.layers.Dense(2))
    with pytest.raises(ValueError, match=r"Dense '.*'.*kernel.*shape \(4, 5\).*\(4, 8\).*"
                                         "skip_mismatch"):
        saving_api.load_weights(other, tmp_path / "w.weights.h5")
    before = other.layers[0].kernel.numpy().copy()
    with pytest.warns(UserWarning, match="Skipping loading weights of Dense"):
        saving_api.load_weights(other, tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), before)


def test_unbuilt_model_refuses_weights_with_a_fix(tmp_path):
    model = TwoTower()
    model(torch.from_numpy(X))
    lamina.saving.save_weights(model, tmp_path / "t.weights.h5")
    with pytest.raises(ValueError, match="never built.*Build the model"):
        saving_api.load_weights(TwoTower(), tmp_path / "t.weights.h5")


def test_bad_paths_are_refused(tmp_path):
    model = sequential()
    with pytest.raises(ValueError, match=r"must end in `\.keras`.*model\.h5"):
        lamina.saving.save_model(model, tmp_path / "model.h5")
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        lamina.saving.save_weights(model, tmp_path / "w.h5")
    with pytest.raises(FileNotFoundError, match="No file found"):
        lamina.saving.load_model(tmp_path / "missing.keras")
    lamina.saving.save_model(model, tmp_path / "m.keras")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        lamina.saving.save_model(model, tmp_path / "m.keras", overwrite=False)


def test_json_helpers_round_trip():
    model = multi_io_functional()
    text = saving_api.model_to_json(model)
    assert json.loads(text)["class_name"] == "Functional"
    assert json.loads(text)["module"] == "keras.src.models.functional"
    rebuilt = saving_api.model_from_json(text)
    assert rebuilt.get_config() == model.get_config()


def test_custom_objects_resolve_unregistered_classes(tmp_path):
    class Doubler(lamina.layers.Layer):
        def call(self, x):
            return 2 * x

    model = lamina.Sequential()
    model.add(lamina.layers.InputLayer(shape=(2,)))
    model.add(Doubler())
    path = tmp_path / "d.keras"
    lamina.saving.save_model(model, path)
    with pytest.raises(TypeError, match="'Doubler'.*register_keras_serializable.*custom_objects"):
        lamina.saving.load_model(path)
    loaded = lamina.saving.load_model(path, custom_objects={"Doubler": Doubler})
    assert loaded(torch.ones(1, 2)).tolist() == [[2.0, 2.0]]


# -- atomic writes ---------------------------------------------------------------------------
class BrokenConfig(lamina.layers.Layer):
    def get_config(self):
        raise RuntimeError("config exploded")


def test_failing_get_config_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "model.keras"
    lamina.saving.save_model(sequential(), path)
    before = path.read_bytes()
    broken = lamina.Sequential()
    broken.add(lamina.layers.InputLayer(shape=(4,)))
    broken.add(BrokenConfig())
    with pytest.raises(RuntimeError, match="config exploded"):
        lamina.saving.save_model(broken, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]
    assert lamina.saving.load_model(path).name == "seq"


def test_crash_mid_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    lamina.saving.save_model(sequential(), path)
    before = path.read_bytes()

    def crash(self, name, data, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash)
    with pytest.raises(OSError, match="disk full"):
        lamina.saving.save_model(sequential(), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


def test_crash_mid_weights_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "w.weights.h5"
    lamina.saving.save_weights(sequential(), path)
    before = path.read_bytes()
    monkeypatch.setattr(weights_h5, "save_state",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError, match="crash"):
        lamina.saving.save_weights(sequential(), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["w.weights.h5"]


def test_atomic_write_keeps_file_permissions(tmp_path):
    path = tmp_path / "m.keras"
    lamina.saving.save_model(sequential(), path)
    os.chmod(path, 0o640)
    lamina.saving.save_model(sequential(), path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert keras_archive.read_archive(path)[keras_archive.CONFIG].startswith(b"{")
