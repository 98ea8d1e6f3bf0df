"""The colour and intensity layers against Keras 3 (torch backend): configs and shapes, the
deterministic layers' outputs, one transformation fed to both libraries'
`transform_images`, seeded draws, output dtypes, `.keras` files both ways."""

import json

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")

CONFIGS = [
    ("RandomContrast", {"factor": 0.4}),
    ("RandomContrast", {"factor": (0.2, 0.7), "value_range": (0, 1),
                        "data_format": "channels_first"}),
    ("RandomBrightness", {"factor": 0.3}),
    ("RandomBrightness", {"factor": (-0.6, 0.2), "value_range": (1, 0)}),
    ("RandomGrayscale", {}),
    ("RandomGrayscale", {"factor": 0.8, "data_format": "channels_first"}),
    ("RandomHue", {"factor": 0.5}),
    ("RandomHue", {"factor": (0.1, 0.9), "value_range": (0, 1),
                   "data_format": "channels_first"}),
    ("RandomSaturation", {"factor": 0.5}),
    ("RandomSaturation", {"factor": (0.2, 0.9), "value_range": (0, 1),
                          "data_format": "channels_first"}),
    ("RandomColorDegeneration", {"factor": 0.5}),
    ("RandomColorDegeneration", {"factor": (0.2, 1.0), "value_range": (0, 1)}),
    ("RandomSharpness", {"factor": 0.5}),
    ("RandomSharpness", {"factor": (0.0, 1.0), "value_range": (0, 1),
                         "data_format": "channels_first"}),
    ("RandomPosterization", {"factor": 5}),
    ("RandomPosterization", {"factor": (2, 6), "value_range": (0, 1)}),
    ("RandomInvert", {}),
    ("RandomInvert", {"factor": (0.3, 0.6), "value_range": (0, 1)}),
    ("Solarization", {}),
    ("Solarization", {"addition_factor": 0.3, "threshold_factor": (0.2, 0.8),
                      "value_range": (0, 1)}),
    ("AutoContrast", {}),
    ("AutoContrast", {"value_range": (1, 0)}),
    ("Equalization", {}),
    ("Equalization", {"value_range": (0, 1), "bins": 64, "data_format": "channels_first"}),
    ("RandomColorJitter", {"brightness_factor": 0.2}),
    ("RandomColorJitter", {"brightness_factor": 0.2, "contrast_factor": (0.1, 0.4),
                           "saturation_factor": (0.3, 0.7), "hue_factor": 0.3,
                           "value_range": (0, 1)}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]
RANDOM = [c for c in CONFIGS if c[0] not in ("AutoContrast", "Equalization",
                                             "RandomColorJitter")]
RANDOM_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(RANDOM)]


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def images(shape, kwargs=None, seed=0, dtype="float32"):
    """Random images in the layer's value range (a few exact ends included)."""
    kwargs = kwargs or {}
    low, high = sorted(kwargs.get("value_range", (0, 255)))
    x = np.random.default_rng(seed).uniform(low, high, shape)
    x.flat[:5] = [low, high, low, high, (low + high) / 2]
    if np.dtype(dtype).kind in "iu":
        x = np.round(x)
    x = x.astype(dtype)
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, -3))
    return x


def pair(K, name, kwargs):
    return getattr(lamina.layers, name)(**kwargs), getattr(K.layers, name)(**kwargs)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_config_and_output_shape_equal_keras(K, name, kwargs):
    ours, theirs = pair(K, name, {"name": "layer", **kwargs})
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    shapes = [(None, 9, 11, 3), (9, 11, 3)]
    for shape in shapes:
        assert tuple(ours.compute_output_shape(shape)) == tuple(
            theirs.compute_output_shape(shape))
    assert ours.supports_masking == theirs.supports_masking
    # A Keras config builds the same lamina layer, and the other way round.
    assert normalize(type(ours).from_config(theirs.get_config()).get_config()) == normalize(
        theirs.get_config())
    back = type(theirs).from_config(normalize(ours.get_config()))
    assert normalize(back.get_config()) == normalize(theirs.get_config())


DETERMINISTIC = [
    ("AutoContrast", {}),
    ("AutoContrast", {"value_range": (0, 1)}),
    ("AutoContrast", {"value_range": (-1, 1)}),
    ("Equalization", {}),
    ("Equalization", {"value_range": (0, 1)}),
    ("Equalization", {"bins": 32, "data_format": "channels_first"}),
    ("Solarization", {}),
    ("Solarization", {"value_range": (0, 1), "data_format": "channels_first"}),
]


@pytest.mark.parametrize("name,kwargs", DETERMINISTIC)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_deterministic_layers_equal_keras(K, name, kwargs, batched, dtype):
    if dtype == "uint8" and kwargs.get("value_range", (0, 255)) != (0, 255):
        return
    x = images((4, 9, 11, 3), kwargs, dtype=dtype)
    x = x if batched else x[0]
    ours, theirs = pair(K, name, kwargs)
    for training in (True, False):
        want = theirs(x, training=training)
        got = ours(x, training=training)
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.numpy(), numpy(want), atol=1e-5)


def test_equalization_of_a_constant_channel_and_of_few_levels_equals_keras(K):
    x = np.zeros((2, 5, 6, 3), "float32")
    x[..., 1] = 7.0
    x[0, :2, :, 2] = 200.0
    ours, theirs = pair(K, "Equalization", {})
    np.testing.assert_allclose(ours(x).numpy(), numpy(theirs(x)), atol=1e-5)


def test_auto_contrast_keeps_a_constant_image_like_keras(K):
    x = np.full((2, 4, 4, 3), 9.0, "float32")
    ours, theirs = pair(K, "AutoContrast", {})
    np.testing.assert_allclose(ours(x).numpy(), numpy(theirs(x)), atol=1e-5)
    np.testing.assert_array_equal(ours(x).numpy(), x)


def _as_torch(transformation):
    if isinstance(transformation, dict):
        return {k: torch.as_tensor(numpy(v)) for k, v in transformation.items()}
    return torch.as_tensor(numpy(transformation))


def tolerance(kwargs):
    """float32 rounding, scaled to the value range: the HSV layers map values to [0, 1]
    and back, which scales an ulp of difference by the width of the range."""
    low, high = kwargs.get("value_range", (0, 255))
    return 4e-6 * abs(high - low)


def _feed_both(ours, theirs, x, transformation, atol):
    transformation = _as_torch(transformation)
    want = theirs.transform_images(keras.ops.convert_to_tensor(x.copy()), dict(transformation)
                                   if isinstance(transformation, dict) else transformation)
    got = ours.transform_images(torch.as_tensor(x), transformation)
    np.testing.assert_allclose(got.numpy(), numpy(want), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("name,kwargs", RANDOM, ids=RANDOM_IDS)
def test_one_transformation_gives_the_same_images_in_both_libraries(K, name, kwargs):
    x = images((6, 9, 11, 3), kwargs)
    ours, theirs = pair(K, name, {**kwargs, "seed": 5})
    for _ in range(3):
        _feed_both(ours, theirs, x, theirs.get_random_transformation(x, training=True),
                   tolerance(kwargs))
        _feed_both(ours, theirs, x,
                   ours.get_random_transformation(torch.as_tensor(x), training=True),
                   tolerance(kwargs))


@pytest.mark.parametrize("name,kwargs", RANDOM + [c for c in CONFIGS
                                                  if c[0] == "RandomColorJitter"])
def test_seeded_layers_draw_what_keras_draws(K, name, kwargs):
    # NOTE: lamina's SeedGenerator follows Keras' draw scheme, so on the same (CPU)
    # device a layer seeded like its Keras twin makes the same draws.
    x = images((6, 9, 11, 3), kwargs)
    ours, theirs = pair(K, name, {**kwargs, "seed": 21})
    for data in (x, x, x[0]):
        np.testing.assert_allclose(ours(data).numpy(), numpy(theirs(data)),
                                   atol=tolerance(kwargs), rtol=1e-5)


@pytest.mark.parametrize("name,kwargs", [c for c in CONFIGS if c[0] != "RandomSaturation"],
                         ids=[i for i in IDS if not i.startswith("RandomSaturation")])
@pytest.mark.parametrize("dtype", ["uint8", "float64"])
def test_output_dtypes_equal_keras(K, name, kwargs, dtype):
    # (Keras' RandomSaturation refuses integer images in training; lamina takes them.)
    x = images((2, 5, 6, 3), {**kwargs, "value_range": (0, 255)}, dtype=dtype)
    ours, theirs = pair(K, name, {**kwargs, "value_range": (0, 255)}
                        if name != "RandomGrayscale" else kwargs)
    for training in (True, False):
        assert str(ours(x, training=training).dtype) == str(
            theirs(x, training=training).dtype), training


def test_random_saturation_takes_integer_images_that_keras_refuses(K):
    x = images((2, 5, 6, 3), dtype="uint8")
    with pytest.raises(ValueError):
        K.layers.RandomSaturation(0.5)(x, training=True)
    ours = lamina.layers.RandomSaturation(0.5, seed=1)(x, training=True)
    theirs = K.layers.RandomSaturation(0.5, seed=1)(x.astype("float32"), training=True)
    np.testing.assert_allclose(ours.numpy(), numpy(theirs), atol=1e-4)


def build(ns):
    # (Not Equalization: in Keras its symbolic output is its input, so a functional model
    # holding it is a cycle; lamina saves and loads it, see test_color_layers.)
    inputs = ns.Input((10, 12, 3))
    x = ns.layers.AutoContrast()(inputs)
    x = ns.layers.RandomContrast(0.3, seed=1)(x)
    x = ns.layers.RandomBrightness(0.2, seed=2)(x)
    x = ns.layers.RandomGrayscale(0.3, seed=3)(x)
    x = ns.layers.RandomHue(0.2, seed=4)(x)
    x = ns.layers.RandomSaturation((0.3, 0.7), seed=5)(x)
    x = ns.layers.RandomColorDegeneration(0.4, seed=6)(x)
    x = ns.layers.RandomSharpness(0.5, seed=7)(x)
    x = ns.layers.RandomPosterization(6, seed=8)(x)
    x = ns.layers.RandomInvert(0.5, seed=9)(x)
    x = ns.layers.Solarization(0.2, 0.9, seed=10)(x)
    x = ns.layers.RandomColorJitter(brightness_factor=0.1, contrast_factor=0.2,
                                    saturation_factor=0.4, hue_factor=0.1, seed=11)(x)
    return ns.Model(inputs, ns.layers.Dense(2)(ns.layers.Flatten()(x)))


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_a_model_with_the_colour_layers_moves_between_lamina_and_keras(K, tmp_path, writer):
    x = images((3, 10, 12, 3), seed=4)
    path = str(tmp_path / "model.keras")
    original = build(lamina if writer == "lamina" else K)
    original.save(path)
    loaded = (K.saving.load_model if writer == "lamina" else lamina.saving.load_model)(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in original.layers]
    for ours, theirs in zip(loaded.layers, original.layers):
        assert normalize(ours.get_config()) == normalize(theirs.get_config())
    np.testing.assert_allclose(numpy(loaded.predict(x, verbose=0)),
                               numpy(original.predict(x, verbose=0)), atol=1e-4)


# (Not RandomGrayscale: Keras' reads the shape of the dict itself and fails.)
@pytest.mark.parametrize("name,kwargs", [("RandomContrast", {"factor": 0.3, "seed": 2}),
                                         ("AutoContrast", {}), ("Solarization", {})])
@pytest.mark.parametrize("batched", [True, False])
def test_bounding_boxes_pass_through_as_in_keras(K, name, kwargs, batched):
    x = images((2, 5, 6, 3))
    boxes = {"boxes": np.array([[[0, 0, 2, 2]], [[1, 1, 3, 3]]], "float32"),
             "labels": np.array([[1], [2]], "int32")}
    if not batched:
        x, boxes = x[0], {key: value[0] for key, value in boxes.items()}
    ours, theirs = pair(K, name, {**kwargs, "bounding_box_format": "xyxy"})
    got = ours({"images": x, "bounding_boxes": dict(boxes)})
    want = theirs({"images": x, "bounding_boxes": dict(boxes)})
    np.testing.assert_allclose(got["images"].numpy(), numpy(want["images"]), atol=1e-4)
    for key in boxes:
        assert str(got["bounding_boxes"][key].dtype) == str(want["bounding_boxes"][key].dtype)
        np.testing.assert_array_equal(got["bounding_boxes"][key].numpy(),
                                      numpy(want["bounding_boxes"][key]))
    with pytest.raises(ValueError, match=rf"{name} layer .*`bounding_box_format`"):
        getattr(lamina.layers, name)(**kwargs)({"images": x, "bounding_boxes": boxes})
