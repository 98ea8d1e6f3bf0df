"""Mixed precision against Keras 3 (torch backend) as the oracle: policies given every way
Keras accepts, layer output and variable dtypes, the automatic loss scaling of float16, and
`.keras` files that record policies as Keras writes them and load both ways."""

import json
import os
import warnings

import numpy as np
import pytest

import lamina
from lamina import dtype_policies, mixed_precision

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

RNG = np.random.RandomState(0)
SEQUENCE = RNG.randn(2, 5, 4).astype("float32")
IMAGES = RNG.randn(2, 6, 6, 3).astype("float32")
LAYERS = [
    (lambda L: L.Dense(3, activation="softmax"), SEQUENCE),
    (lambda L: L.Conv2D(2, 3), IMAGES),
    (lambda L: L.BatchNormalization(), IMAGES),
    (lambda L: L.LayerNormalization(), SEQUENCE),
    (lambda L: L.LSTM(3), SEQUENCE),
    (lambda L: L.PReLU(), SEQUENCE),
    (lambda L: L.Softmax(), SEQUENCE),
    (lambda L: L.Embedding(10, 3), np.array([[1, 2]])),
]


@pytest.fixture
def global_policy(request):
    """Set `request.param` as the global policy in both libraries, and reset it after."""
    keras.config.set_dtype_policy(request.param)
    lamina.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy("float32")
    lamina.config.set_dtype_policy(None)


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


@pytest.mark.parametrize("global_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("make,inputs", LAYERS)
def test_layers_compute_low_and_keep_float32_variables_as_keras(global_policy, make, inputs):
    theirs, ours = make(keras.layers), make(lamina.layers)
    expected = theirs(inputs)
    ours(inputs)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    got = ours(inputs)
    assert _dtype(got) == _dtype(expected) == global_policy.split("_")[1]
    assert [_dtype(w) for w in ours.weights] == [_dtype(w) for w in theirs.weights]
    np.testing.assert_allclose(got.float().detach().numpy(),
                               keras.ops.convert_to_numpy(keras.ops.cast(expected, "float32")),
                               atol=2e-2)


def test_policy_arguments_in_every_form_keras_takes():
    config = keras.dtype_policies.serialize(keras.dtype_policies.DTypePolicy("mixed_bfloat16"))
    for dtype in ("mixed_bfloat16", dtype_policies.DTypePolicy("mixed_bfloat16"), config,
                  mixed_precision.Policy("mixed_bfloat16")):
        layer = lamina.layers.Dense(2, dtype=dtype)
        assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
        assert json.dumps(layer.get_config()["dtype"]) == json.dumps(
            keras.layers.Dense(2, dtype="mixed_bfloat16").get_config()["dtype"])
    assert lamina.config.dtype_policy().name == keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize("global_policy", ["mixed_float16"], indirect=True)
def test_float16_compile_scales_the_loss_as_keras(global_policy, tmp_path):
    models = []
    for lib in (keras, lamina):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3),
                                lib.layers.Activation("softmax", dtype="float32")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        models.append(model)
    theirs, ours = models
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__ == (
        "LossScaleOptimizer")
    x = RNG.randn(8, 4).astype("float32")
    y = np.eye(3, dtype="float32")[RNG.randint(0, 3, 8)]
    ours.set_weights(theirs.get_weights())
    history = ours.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = str(tmp_path / "ours.keras")
    ours.save(path)
    again = keras.saving.load_model(path)
    assert again.layers[0].dtype_policy.name == "mixed_float16"
    assert again.layers[1].dtype_policy.name == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), ours.predict(x, verbose=0),
                               atol=1e-3)


def test_keras_mixed_precision_files_load_with_their_policies(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        theirs = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(2, 3),
                                   keras.layers.BatchNormalization(), keras.layers.Flatten(),
                                   keras.layers.Dense(3, dtype="float32")])
    finally:
        keras.config.set_dtype_policy("float32")
    theirs.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "theirs.keras")
    theirs.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the optimizer's unbuilt state
        ours = lamina.saving.load_model(path)
    assert [layer.dtype_policy.name for layer in ours.layers] == [
        layer.dtype_policy.name for layer in theirs.layers]
    assert ours.layers[0].compute_dtype == "bfloat16"
    assert all(str(w.dtype) == "torch.float32" for w in ours.weights)
    np.testing.assert_allclose(ours.predict(IMAGES, verbose=0),
                               keras.ops.convert_to_numpy(theirs(IMAGES)), atol=2e-2)
