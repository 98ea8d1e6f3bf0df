"""Rescaling, Resizing, RandomFlip and RandomRotation against Keras 3 (torch backend)."""

import json
import os

import numpy as np
import pytest

import lamina

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


@pytest.fixture
def K():
    keras.backend.clear_session(free_memory=False)
    return keras


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def keras_numpy(x):
    return keras.ops.convert_to_numpy(x)


CONFIGS = [
    ("Rescaling", {"scale": 1 / 127.5, "offset": -1}),
    ("Rescaling", {"scale": np.array([0.5, 2.0, 4.0]), "offset": [1.0, 0.0, -1.0]}),
    ("Resizing", {"height": 5, "width": 4}),
    ("Resizing", {"height": 6, "width": 3, "interpolation": "bicubic", "antialias": True,
                  "crop_to_aspect_ratio": True, "data_format": "channels_first"}),
    ("Resizing", {"height": 6, "width": 6, "interpolation": "nearest",
                  "pad_to_aspect_ratio": True, "fill_value": 2.0}),
    ("RandomFlip", {}),
    ("RandomFlip", {"mode": "vertical", "seed": 3, "data_format": "channels_first"}),
    ("RandomRotation", {"factor": 0.1}),
    ("RandomRotation", {"factor": [0.3, -0.2], "fill_mode": "constant", "fill_value": 1.5,
                        "interpolation": "nearest", "seed": 4}),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_config_and_output_shape_equal_keras(K, name, kwargs):
    ours = getattr(lamina.layers, name)(name="layer", **kwargs)
    theirs = getattr(K.layers, name)(name="layer", **kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    for shape in ((None, 9, 7, 3), (9, 7, 3)):
        assert tuple(ours.compute_output_shape(shape)) == tuple(
            theirs.compute_output_shape(shape))
    assert ours.supports_masking == theirs.supports_masking
    # A Keras config builds the same lamina layer, and the other way round.
    assert normalize(type(ours).from_config(theirs.get_config()).get_config()) == normalize(
        theirs.get_config())
    back = type(theirs).from_config(json.loads(json.dumps(normalize(ours.get_config()))))
    assert normalize(back.get_config()) == normalize(theirs.get_config())


@pytest.mark.parametrize("kwargs,dtype,shape", [
    ({"scale": 1 / 255}, "uint8", (2, 5, 4, 3)),
    ({"scale": 1 / 127.5, "offset": -1}, "float32", (5, 4, 3)),
    ({"scale": [0.5, 2.0, 4.0], "offset": 0.25}, "int32", (2, 3, 3, 3)),
    ({"scale": 3.0, "dtype": "float64"}, "float32", (2, 4)),
])
def test_rescaling_equals_keras(K, kwargs, dtype, shape):
    x = (np.random.default_rng(0).uniform(0, 255, shape)).astype(dtype)
    ours, theirs = lamina.layers.Rescaling(**kwargs)(x), K.layers.Rescaling(**kwargs)(x)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.numpy(), keras_numpy(theirs))


@pytest.mark.parametrize("kwargs,shape", [
    ({"interpolation": "bilinear"}, (2, 12, 9, 3)),
    ({"interpolation": "nearest"}, (12, 9, 3)),
    ({"interpolation": "bicubic"}, (2, 12, 9, 3)),
    ({"interpolation": "bilinear", "antialias": True}, (2, 12, 9, 3)),
    ({"interpolation": "bilinear", "crop_to_aspect_ratio": True}, (2, 12, 9, 3)),
    ({"interpolation": "bicubic", "pad_to_aspect_ratio": True, "fill_value": 7.0},
     (2, 12, 9, 3)),
    ({"interpolation": "bilinear", "data_format": "channels_first"}, (2, 3, 12, 9)),
    ({"interpolation": "nearest", "data_format": "channels_first", "crop_to_aspect_ratio": True},
     (3, 12, 9)),
])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_resizing_equals_keras(K, kwargs, shape, dtype):
    x = np.random.default_rng(1).uniform(0, 255, shape).astype(dtype)
    ours = lamina.layers.Resizing(5, 7, **kwargs)(x)
    theirs = K.layers.Resizing(5, 7, **kwargs)(x)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy().astype("float32"),
                               keras_numpy(theirs).astype("float32"), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("kwargs", [{"mode": "horizontal"}, {"mode": "vertical"}, {},
                                    {"data_format": "channels_first"}])
def test_seeded_random_flip_draws_the_same_flips_as_keras(K, kwargs):
    # NOTE: lamina's SeedGenerator follows Keras' draw scheme, so on the same device a
    # seeded layer reproduces Keras' flips exactly.
    x = np.random.default_rng(2).uniform(0, 255, (8, 5, 6, 3)).astype("float32")
    ours = lamina.layers.RandomFlip(seed=11, **kwargs)
    theirs = K.layers.RandomFlip(seed=11, **kwargs)
    for images in (x, x, x[0]):
        np.testing.assert_array_equal(ours(images).numpy(), keras_numpy(theirs(images)))


@pytest.mark.parametrize("kwargs", [
    {"factor": 0.2},
    {"factor": (-0.5, 0.3), "interpolation": "nearest", "fill_mode": "constant",
     "fill_value": 3.0},
    {"factor": 0.4, "fill_mode": "wrap"},
    {"factor": 0.4, "fill_mode": "nearest", "data_format": "channels_first"},
])
def test_seeded_random_rotation_draws_the_same_rotations_as_keras(K, kwargs):
    x = np.random.default_rng(3).uniform(0, 1, (6, 9, 11, 3)).astype("float32")
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    ours = lamina.layers.RandomRotation(seed=12, **kwargs)
    theirs = K.layers.RandomRotation(seed=12, **kwargs)
    for images in (x, x, x[0]):
        np.testing.assert_allclose(ours(images).numpy(), keras_numpy(theirs(images)),
                                   atol=2e-6)
    np.testing.assert_array_equal(ours(x, training=False).numpy(),
                                  keras_numpy(theirs(x, training=False)))


def build(K):
    inputs = K.Input((12, 10, 3))
    x = K.layers.Resizing(8, 8, interpolation="bicubic", crop_to_aspect_ratio=True)(inputs)
    x = K.layers.RandomFlip("horizontal", seed=3)(x)
    x = K.layers.RandomRotation((-0.2, 0.3), fill_mode="constant", seed=4)(x)
    x = K.layers.Rescaling(np.array([1 / 255, 2 / 255, 3 / 255]), offset=-1.0)(x)
    x = K.layers.Dropout(0.5)(K.layers.Flatten()(x))
    return K.Model(inputs, K.layers.Dense(2)(x))


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_a_model_with_preprocessing_layers_moves_between_lamina_and_keras(K, tmp_path,
                                                                         writer):
    x = np.random.default_rng(4).uniform(0, 255, (4, 12, 10, 3)).astype("float32")
    path = str(tmp_path / "model.keras")
    if writer == "lamina":
        original = build(lamina)
        original.save(path)
        loaded = K.saving.load_model(path)
    else:
        original = build(K)
        original.save(path)
        loaded = lamina.saving.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in original.layers]
    for ours, theirs in zip(loaded.layers, original.layers):
        assert normalize(ours.get_config()) == normalize(theirs.get_config())
    # Inference: the augmentations and the dropout are off in both libraries.
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(original.predict(x, verbose=0)), atol=1e-5)


def test_keras_written_training_flags_follow_the_model_in_lamina(K, tmp_path):
    # Keras records each layer's default `training` in its nodes (False for Dropout, True
    # for RandomFlip); lamina must still switch them with fit/predict.
    inputs = K.Input((4, 4, 1))
    x = K.layers.RandomFlip("horizontal", seed=1)(inputs)
    outputs = K.layers.Dropout(0.5, seed=1)(x)
    path = str(tmp_path / "flags.keras")
    K.Model(inputs, outputs).save(path)
    model = lamina.saving.load_model(path)
    flip = model.get_layer("random_flip")
    data = np.random.default_rng(5).uniform(1, 2, (16, 4, 4, 1)).astype("float32")
    np.testing.assert_array_equal(model.predict(data, verbose=0), data)
    assert flip.generator.counter == 0  # no flip drawn in inference
    trained = model(data, training=True).numpy()
    assert flip.generator.counter == 1
    assert (trained == 0).any() and (trained != 0).any()  # dropout on
