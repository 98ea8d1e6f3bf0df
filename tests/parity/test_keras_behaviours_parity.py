"""Keras 3 as the oracle for the small behaviours of `tests/models/test_keras_behaviours.py`:
input casting and trailing axes, seed-generator state, the saving hooks, and files that
use them moving both ways."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")

rng = np.random.default_rng(7)
ONE_HOT_X = np.eye(4, dtype=bool)[rng.integers(0, 4, 16)]
ONE_HOT_Y = np.eye(3, dtype=bool)[rng.integers(0, 3, 16)]


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _copy_weights(source, target):
    target.set_weights([_np(w) for w in source.get_weights()])


# -- one set of custom classes per library, registered once --------------------------------
def _custom_classes(ns, log):
    package = "LaminaParityBehaviours"

    @ns.saving.register_keras_serializable(package=package)
    class Noisy(ns.layers.Layer):
        """Adds seeded normal noise: holds a SeedGenerator."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.generator = ns.random.SeedGenerator(11)

        def call(self, x):
            return x + ns.random.normal(ns.ops.shape(x), seed=self.generator)

    @ns.saving.register_keras_serializable(package=package)
    class TaggedDense(ns.layers.Dense):
        """Saves one extra named entry next to the default ones."""

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["tag"] = np.array([42.0], "float32")

        def load_own_variables(self, store):
            log.append(("tag", float(np.asarray(store["tag"])[0])))
            self.kernel.assign(store["0"])
            self.bias.assign(store["1"])

    @ns.saving.register_keras_serializable(package=package)
    class Vocabulary(ns.layers.Layer):
        """Keeps a vocabulary as an asset file."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.vocabulary = ["unset"]

        def call(self, x):
            return x

        def save_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocab.txt"), "w") as f:
                f.write("\n".join(self.vocabulary))

        def load_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocab.txt")) as f:
                self.vocabulary = f.read().split("\n")
            log.append(("assets", tuple(self.vocabulary)))

    @ns.saving.register_keras_serializable(package=package)
    def half_mse(y_true, y_pred):
        return 0.5 * ns.ops.mean((y_true - y_pred) ** 2, axis=-1)

    @ns.saving.register_keras_serializable(package=package)
    class Custom(ns.Model):
        """A subclassed model using every hook, with a compile config of objects."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.vocab = Vocabulary()
            self.dense = TaggedDense(2)

        def call(self, x):
            return self.dense(self.vocab(x))

        def get_compile_config(self):
            return {"optimizer": "sgd", "loss": half_mse,
                    "metrics": ["mae", ns.metrics.MeanSquaredError()]}

    return {"Noisy": Noisy, "TaggedDense": TaggedDense, "Vocabulary": Vocabulary,
            "half_mse": half_mse, "Custom": Custom, "log": log}


@pytest.fixture(scope="module")
def classes():
    return {"keras": _custom_classes(keras, []), "lamina": _custom_classes(lamina, [])}


# -- inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize("with_input", [True, False])
@pytest.mark.parametrize("dtype", ["bool", "int64"])
def test_sequential_on_non_float_one_hot_data_matches_keras(K, with_input, dtype):
    def build(ns):
        first = [ns.Input((4,))] if with_input else []
        return ns.Sequential([*first, ns.layers.Dense(5, activation="relu"),
                              ns.layers.Dense(3, activation="softmax")])

    k_model, l_model = build(K), build(lamina)
    x = ONE_HOT_X.astype(dtype)
    k_out = _np(k_model(x))
    l_model(x)  # builds the deferred model
    _copy_weights(k_model, l_model)
    l_out = _np(l_model(x))
    np.testing.assert_allclose(l_out, k_out, atol=1e-6)
    assert str(l_model.inputs[0].dtype) == str(k_model.inputs[0].dtype)
    np.testing.assert_allclose(l_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-6)
    for ns, model in ((K, k_model), (lamina, l_model)):
        model.compile("sgd", "categorical_crossentropy",
                      metrics=["accuracy", ns.metrics.TopKCategoricalAccuracy(k=2)])
    k_logs = k_model.evaluate(x, ONE_HOT_Y, verbose=0, return_dict=True)
    l_logs = l_model.evaluate(x, ONE_HOT_Y, verbose=0, return_dict=True)
    for key in k_logs:
        assert l_logs[key] == pytest.approx(k_logs[key], abs=1e-5), key


def test_accuracy_metrics_on_bool_targets_match_keras(K):
    scores = rng.dirichlet(np.ones(3), size=16).astype("float32")
    for name in ("categorical_accuracy", "binary_accuracy"):
        np.testing.assert_allclose(_np(getattr(lamina.metrics, name)(ONE_HOT_Y, scores)),
                                   _np(getattr(K.metrics, name)(ONE_HOT_Y, scores)))
    np.testing.assert_allclose(
        _np(lamina.metrics.top_k_categorical_accuracy(ONE_HOT_Y, scores, k=2)),
        _np(K.metrics.top_k_categorical_accuracy(ONE_HOT_Y, scores, k=2)))


def test_multi_input_trailing_axes_match_keras(K):
    def build(ns):
        a, b = ns.Input((1,), name="a"), ns.Input((1,), name="b")
        return ns.Model([a, b], ns.layers.Dense(2)(ns.layers.Concatenate()([a, b])))

    k_model, l_model = build(K), build(lamina)
    _copy_weights(k_model, l_model)
    xa, xb = rng.random(8).astype("float32"), rng.random(8).astype("float32")
    for inputs in ([xa, xb], {"a": xa, "b": xb}, [xa[:, None, None], xb]):
        np.testing.assert_allclose(_np(l_model(inputs)), _np(k_model(inputs)), atol=1e-6)
        np.testing.assert_allclose(l_model.predict(inputs, verbose=0),
                                   k_model.predict(inputs, verbose=0), atol=1e-6)


def test_bidirectional_feature_extraction_matches_keras(K):
    def build(ns):
        return ns.Sequential([ns.layers.Bidirectional(ns.layers.LSTM(4), input_shape=(5, 3)),
                              ns.layers.Dense(2)])

    k_model, l_model = build(K), build(lamina)
    _copy_weights(k_model, l_model)
    assert tuple(l_model.layers[0].output.shape) == tuple(k_model.layers[0].output.shape)
    x = rng.random((2, 5, 3)).astype("float32")
    k_features = K.Model(k_model.inputs, k_model.layers[0].output)(x)
    l_features = lamina.Model(l_model.inputs, l_model.layers[0].output)(x)
    np.testing.assert_allclose(_np(l_features), _np(k_features), atol=1e-5)


# -- seed generators -----------------------------------------------------------------------
def _seeded_model(ns, classes):
    return ns.Sequential([ns.Input((3,)), ns.layers.Dense(2),
                          ns.layers.Dropout(0.5, seed=5), classes["Noisy"](name="noisy"),
                          ns.layers.Dense(1)])


def test_seed_states_are_listed_and_drawn_like_keras(K, classes):
    k_model = _seeded_model(K, classes["keras"])
    l_model = _seeded_model(lamina, classes["lamina"])

    def names(model, attr):
        return [v.name for v in getattr(model, attr)]

    for attr in ("variables", "weights", "non_trainable_variables", "non_trainable_weights"):
        assert names(l_model, attr) == names(k_model, attr), attr
    states = [_np(v) for v in l_model.non_trainable_variables]
    assert [s.tolist() for s in states] == [[5, 0], [11, 0]]
    x = np.zeros((2, 3), "float32")
    noisy_k, noisy_l = k_model.get_layer("noisy"), l_model.get_layer("noisy")
    for _ in range(2):
        np.testing.assert_allclose(_np(noisy_l(x)), _np(noisy_k(x)), atol=1e-6)
    assert _np(noisy_l.generator.state).tolist() == _np(noisy_k.generator.state).tolist()


def _h5_layout(path):
    with zipfile.ZipFile(path) as archive:
        f = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        found = []
        f.visititems(lambda name, obj: found.append(
            (name, tuple(obj.shape) if isinstance(obj, h5py.Dataset) else None)))
        return sorted(found)


def test_models_with_seed_generators_move_both_ways(K, classes, tmp_path):
    x = rng.random((4, 3)).astype("float32")
    k_model = _seeded_model(K, classes["keras"])
    k_model(x, training=True)
    k_model.save(tmp_path / "keras.keras")
    l_model = _seeded_model(lamina, classes["lamina"])
    l_model(x, training=True)
    l_model.save(tmp_path / "lamina.keras")
    # Keras writes no seed state: the dropout and noise layers own empty groups.
    assert _h5_layout(tmp_path / "lamina.keras") == _h5_layout(tmp_path / "keras.keras")

    from_keras = lamina.saving.load_model(tmp_path / "keras.keras")
    from_lamina = K.saving.load_model(tmp_path / "lamina.keras")
    for a, b in zip(k_model.get_weights(), from_keras.get_weights()):
        np.testing.assert_array_equal(_np(b), _np(a))
    for a, b in zip(l_model.get_weights(), from_lamina.get_weights()):
        np.testing.assert_array_equal(_np(b), _np(a))
    # Loading rebuilds fresh generators in both libraries: states restart at draw 0.
    assert _np(from_keras.get_layer("noisy").generator.state).tolist() == [11, 0]
    assert _np(from_lamina.get_layer("noisy").generator.state).tolist() == [11, 0]


# -- saving hooks ----------------------------------------------------------------------------
def _train_custom(ns, classes, x):
    model = classes["Custom"]()
    model.vocab.vocabulary = ["alpha", "beta"]
    model.compile(optimizer="sgd", loss=classes["half_mse"])
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    return model


@pytest.mark.parametrize("writer", ["keras", "lamina"])
def test_files_using_every_saving_hook_move_both_ways(K, classes, tmp_path, writer):
    reader = "lamina" if writer == "keras" else "keras"
    namespaces = {"keras": K, "lamina": lamina}
    x = rng.random((8, 3)).astype("float32")
    model = _train_custom(namespaces[writer], classes[writer], x)
    path = tmp_path / f"{writer}.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("config.json"))
    assert "assets/layers/vocabulary/vocab.txt" in names
    compile_config = config["compile_config"]
    assert compile_config["loss"]["config"] == "LaminaParityBehaviours>half_mse"
    assert compile_config["metrics"][1]["class_name"] == "MeanSquaredError"

    log = classes[reader]["log"]
    log.clear()
    loaded = namespaces[reader].saving.load_model(path)
    assert ("tag", 42.0) in log and ("assets", ("alpha", "beta")) in log
    assert loaded.vocab.vocabulary == ["alpha", "beta"]
    np.testing.assert_allclose(_np(loaded.predict(x, verbose=0)),
                               _np(model.predict(x, verbose=0)), atol=1e-6)
    assert loaded.compiled
    logs = loaded.evaluate(x, x[:, :2], verbose=0, return_dict=True)
    assert {"loss", "mae", "mean_squared_error"} <= set(logs)


def test_archive_layouts_of_the_hooks_match_keras(K, classes, tmp_path):
    x = rng.random((8, 3)).astype("float32")
    k_model = _train_custom(K, classes["keras"], x)
    l_model = _train_custom(lamina, classes["lamina"], x)
    k_model.save(tmp_path / "k.keras")
    l_model.save(tmp_path / "l.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as a, zipfile.ZipFile(tmp_path / "l.keras") as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        k_config = json.loads(a.read("config.json"))["compile_config"]
        l_config = json.loads(b.read("config.json"))["compile_config"]
    assert l_config == k_config
    assert _h5_layout(tmp_path / "l.keras") == _h5_layout(tmp_path / "k.keras")


def test_function_serialization_matches_keras(K, classes):
    for name in ("mean_squared_error", "relu"):
        k_fn = getattr(K.losses, name, None) or getattr(K.activations, name)
        l_fn = getattr(lamina.losses, name, None) or getattr(lamina.activations, name)
        assert lamina.saving.serialize_keras_object(l_fn) == (
            K.saving.serialize_keras_object(k_fn))
    assert lamina.saving.serialize_keras_object(classes["lamina"]["half_mse"]) == (
        K.saving.serialize_keras_object(classes["keras"]["half_mse"]))


# -- names -----------------------------------------------------------------------------------
def test_names_keras_code_imports_exist_in_lamina(K):
    top = ["Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "DTypePolicy",
           "FloatDTypePolicy", "device", "name_scope", "version"]
    utils = ["register_keras_serializable", "serialize_keras_object",
             "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
             "get_custom_objects", "get_registered_name", "get_registered_object"]
    for name in top:
        assert hasattr(K, name) and hasattr(lamina, name), name
    for name in utils:
        assert hasattr(K.utils, name) and hasattr(lamina.utils, name), name
    for name in ("serialize", "deserialize"):
        assert hasattr(K.layers, name) and hasattr(lamina.layers, name), name
    config = lamina.layers.serialize(lamina.layers.Dense(3, name="d"))
    assert K.layers.deserialize(config).get_config()["units"] == 3
    k_config = K.layers.serialize(K.layers.Dense(3, name="k"))
    assert lamina.layers.deserialize(k_config).units == 3


def test_name_scope_paths_match_keras(K):
    with K.name_scope("outer"), K.name_scope("inner"):
        k_path = K.Variable(1.0, name="w").path
    with lamina.name_scope("outer"), lamina.name_scope("inner"):
        l_path = lamina.Variable(1.0, name="w").path
    assert l_path == k_path == "outer/inner/w"


@pytest.mark.parametrize("writer", ["keras", "lamina"])
def test_lora_layer_files_move_both_ways(K, tmp_path, writer):
    def build(ns):
        return ns.Sequential([ns.Input((2,), dtype="int32"),
                              ns.layers.Embedding(6, 4, lora_rank=2),
                              ns.layers.Dense(3, lora_rank=2)])

    namespaces = {"keras": K, "lamina": lamina}
    k_model, l_model = build(K), build(lamina)
    assert [v.name for v in l_model.weights] == [v.name for v in k_model.weights]
    values = [rng.random(tuple(v.shape)).astype("float32") for v in k_model.weights]
    k_model.set_weights(values)
    l_model.set_weights(values)
    x = np.array([[1, 5], [0, 3]], "int32")
    np.testing.assert_allclose(_np(l_model(x)), _np(k_model(x)), atol=1e-5)
    source = k_model if writer == "keras" else l_model
    source.save(tmp_path / "lora.keras")
    reader = namespaces["lamina" if writer == "keras" else "keras"]
    loaded = reader.saving.load_model(tmp_path / "lora.keras")
    np.testing.assert_allclose(_np(loaded(x)), _np(k_model(x)), atol=1e-5)
    assert _h5_layout(tmp_path / "lora.keras") == [
        ("layers", None), ("layers/dense", None), ("layers/dense/vars", None),
        ("layers/dense/vars/0", (4, 3)), ("layers/dense/vars/1", (3,)),
        ("layers/embedding", None), ("layers/embedding/vars", None),
        ("layers/embedding/vars/0", (6, 4)), ("vars", None)]


def test_recurrent_layers_list_seed_states_like_keras(K):
    def paths(ns):
        found = []
        for make in (lambda: ns.layers.LSTM(4), lambda: ns.layers.GRU(4, dropout=0.2),
                     lambda: ns.layers.Bidirectional(ns.layers.SimpleRNN(4)),
                     lambda: ns.layers.ConvLSTM1D(2, 3)):
            layer = make()
            conv = type(layer).__name__.startswith("ConvLSTM")
            layer(np.ones((2, 3, 5, 4) if conv else (2, 3, 5), "float32"))
            found.append([v.path for v in layer.variables])
        return found

    assert paths(lamina) == paths(K)
