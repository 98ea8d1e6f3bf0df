"""Whole-model legacy `.h5` files written by Keras 3 (`model.save("m.h5")`, its legacy
HDF5 format) load in lamina and predict as the Keras model that wrote them; compiled
files come back compiled, with the optimizer's state."""

import h5py
import numpy as np
import pytest

import lamina

rng = np.random.default_rng(3)


def save_h5(model, path):
    model.save(path)
    with h5py.File(path, "r") as f:  # the legacy format, not a renamed archive
        assert "model_config" in f.attrs and "model_weights" in f
    return str(path)


def assert_same_predictions(keras_model, model, x, atol=1e-5):
    theirs = keras_model.predict(x, verbose=0)
    ours = model.predict(x, verbose=0)
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=atol)


def test_sequential_embedding_lstm_conv_bn(K, tmp_path):
    keras_model = K.Sequential([
        K.Input((6,), dtype="int32"), K.layers.Embedding(10, 4),
        K.layers.LSTM(3, return_sequences=True), K.layers.Conv1D(2, 3, padding="same"),
        K.layers.BatchNormalization(), K.layers.Flatten(), K.layers.Dropout(0.3),
        K.layers.Dense(2, activation="softmax")])
    x = rng.integers(0, 10, (4, 6)).astype("int32")
    keras_model.layers[3].moving_mean.assign(rng.normal(size=2))
    model = lamina.models.load_model(save_h5(keras_model, tmp_path / "s.h5"))
    assert isinstance(model, lamina.Sequential) and model.optimizer is None
    assert [layer.name for layer in model.layers] == [layer.name for layer in keras_model.layers]
    assert_same_predictions(keras_model, model, x)


def test_functional_multi_input_multi_output(K, tmp_path):
    a, b = K.Input((4,), name="a"), K.Input((3,), name="b")
    h = K.layers.Dense(5, activation="relu")(a)
    c = K.layers.Concatenate()([h, b])
    keras_model = K.Model([a, b], [K.layers.Dense(2, name="o1")(c),
                                   K.layers.BatchNormalization(name="o2")(c)])
    model = lamina.models.load_model(save_h5(keras_model, tmp_path / "f.h5"))
    assert_same_predictions(keras_model, model,
                            [rng.normal(size=(5, 4)), rng.normal(size=(5, 3))])


def test_nested_models_and_wrappers(K, tmp_path):
    inner = K.Sequential([K.Input((4,)), K.layers.Dense(3, activation="tanh")], name="inner")
    u = K.Input((5, 5, 2))
    v = K.layers.GlobalAveragePooling2D()(K.layers.Conv2D(4, 3)(u))
    middle = K.Model(u, inner(v), name="middle")
    x = K.Input((5, 5, 2))
    s = K.Input((7, 3))
    seq = K.layers.Bidirectional(K.layers.GRU(2, return_sequences=True))(s)
    seq = K.layers.TimeDistributed(K.layers.Dense(2))(seq)
    out = K.layers.Concatenate()([middle(x), K.layers.Flatten()(seq)])
    keras_model = K.Model([x, s], K.layers.Dense(1)(out))
    model = lamina.models.load_model(save_h5(keras_model, tmp_path / "n.h5"))
    assert_same_predictions(keras_model, model,
                            [rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(2, 7, 3))])


def test_compiled_and_trained_model_restores_compile_and_optimizer_state(K, tmp_path):
    a, b = K.Input((4,), name="a"), K.Input((3,), name="b")
    c = K.layers.Concatenate()([K.layers.Dense(5, activation="relu")(a), b])
    keras_model = K.Model([a, b], [K.layers.Dense(2, name="o1")(c),
                                   K.layers.Dense(1, activation="sigmoid", name="o2")(c)])
    keras_model.compile(K.optimizers.Adam(0.01), loss=["mse", "binary_crossentropy"],
                        metrics=[["mae"], ["accuracy"]], loss_weights=[1.0, 0.5])
    x = [rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")]
    y = [rng.normal(size=(16, 2)).astype("float32"),
         rng.integers(0, 2, (16, 1)).astype("float32")]
    keras_model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model = lamina.models.load_model(save_h5(keras_model, tmp_path / "c.h5"))
    assert_same_predictions(keras_model, model, x)
    assert type(model.optimizer).__name__ == "Adam"
    assert int(model.optimizer.iterations) == 4
    for ours, theirs in zip(model.optimizer.variables, keras_model.optimizer.variables,
                            strict=True):
        np.testing.assert_array_equal(np.asarray(ours), K.ops.convert_to_numpy(theirs))
    # One more step from the restored state lands on Keras' weights.
    keras_model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert lamina.models.load_model(tmp_path / "c.h5", compile=False).optimizer is None


def test_compiled_untrained_model_loads_without_warning(K, tmp_path):
    keras_model = K.Sequential([K.Input((3,)), K.layers.Dense(2)])
    keras_model.compile("sgd", "mse", metrics=["mae"])
    model = lamina.models.load_model(save_h5(keras_model, tmp_path / "u.h5"))
    assert type(model.optimizer).__name__ == "SGD"
    history = model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    assert set(history.history) == {"loss", "mae"}


def test_lambda_file_is_refused_in_safe_mode(K, tmp_path):
    keras_model = K.Sequential([K.Input((3,)), K.layers.Lambda(lambda t: t * 3.0)])
    path = save_h5(keras_model, tmp_path / "l.h5")
    with pytest.raises(ValueError, match="safe_mode"):
        lamina.models.load_model(path)
    with pytest.raises(ValueError, match="safe_mode"):
        K.models.load_model(path)  # Keras refuses it as well
    model = lamina.models.load_model(path, safe_mode=False)
    assert_same_predictions(keras_model, model, np.ones((2, 3), "float32"))
