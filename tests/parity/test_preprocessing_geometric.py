"""CenterCrop, RandomCrop, RandomZoom, RandomTranslation, RandomShear and RandomPerspective
against Keras 3 (torch backend): configs and shapes, CenterCrop outputs, one transformation
fed to both libraries' `transform_images`, the random draws, `.keras` files both ways."""

import json

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")

CONFIGS = [
    ("CenterCrop", {"height": 5, "width": 6}),
    ("CenterCrop", {"height": 12, "width": 4, "data_format": "channels_first"}),
    ("RandomCrop", {"height": 4, "width": 7, "seed": 3}),
    ("RandomCrop", {"height": 4, "width": 7, "seed": 3, "data_format": "channels_first"}),
    ("RandomZoom", {"height_factor": 0.3}),
    ("RandomZoom", {"height_factor": (-0.5, 0.2), "width_factor": 0.4, "fill_mode": "constant",
                    "fill_value": 2.0, "interpolation": "nearest", "seed": 4}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": (-0.3, 0.1)}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.3, "fill_mode": "wrap",
                           "interpolation": "nearest", "data_format": "channels_first"}),
    ("RandomShear", {"x_factor": (0.1, 0.3), "y_factor": (0.0, 0.4)}),
    ("RandomShear", {"x_factor": 0.5, "fill_mode": "nearest", "seed": 2}),
    ("RandomPerspective", {}),
    ("RandomPerspective", {"factor": 0.8, "scale": 0.5, "interpolation": "nearest",
                           "fill_value": 3.0, "data_format": "channels_first"}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def images(shape, data_format="channels_last", seed=0):
    x = np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if (
        data_format == "channels_first") else x


def pair(K, name, kwargs):
    return getattr(lamina.layers, name)(**kwargs), getattr(K.layers, name)(**kwargs)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_config_and_output_shape_equal_keras(K, name, kwargs):
    ours, theirs = pair(K, name, {"name": "layer", **kwargs})
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    for shape in ((None, 9, 11, 3), (9, 11, 3), (2, 3, 9, 11)):
        assert tuple(ours.compute_output_shape(shape)) == tuple(
            theirs.compute_output_shape(shape))
    assert ours.supports_masking == theirs.supports_masking
    # A Keras config builds the same lamina layer, and the other way round.
    assert normalize(type(ours).from_config(theirs.get_config()).get_config()) == normalize(
        theirs.get_config())
    if name == "RandomShear" and min(theirs.x_factor + theirs.y_factor) < 0:
        # Keras stores a symmetric shear range as (-f, f), which its own check refuses
        # on loading; lamina loads it (see RandomShear).
        with pytest.raises(TypeError, match="RandomShear"):
            type(theirs).from_config(theirs.get_config())
        return
    back = type(theirs).from_config(normalize(ours.get_config()))
    assert normalize(back.get_config()) == normalize(theirs.get_config())


def test_random_crop_stores_a_fresh_seed_like_keras(K):
    ours, theirs = lamina.layers.RandomCrop(3, 3), K.layers.RandomCrop(3, 3)
    assert isinstance(ours.get_config()["seed"], int)
    assert isinstance(theirs.get_config()["seed"], int)


@pytest.mark.parametrize("height,width", [(5, 6), (9, 11), (4, 11), (12, 4), (10, 12),
                                          (3, 3), (8, 10)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_center_crop_equals_keras(K, height, width, data_format, dtype):
    x = (images((2, 9, 11, 3), data_format) * 255).astype(dtype)
    ours, theirs = pair(K, "CenterCrop", {"height": height, "width": width,
                                          "data_format": data_format})
    for data in (x, x[0]):
        for training in (True, False):
            got, want = ours(data, training=training), theirs(data, training=training)
            assert str(got.dtype) == str(want.dtype)
            np.testing.assert_allclose(got.numpy(), numpy(want), atol=1e-4)


def _feed_both(ours, theirs, x, transformation):
    got = ours.transform_images(torch.as_tensor(x), transformation)
    want = theirs.transform_images(keras.ops.convert_to_tensor(x), transformation)
    np.testing.assert_allclose(got.numpy(), numpy(want), atol=1e-5)


@pytest.mark.parametrize("name,kwargs", [c for c in CONFIGS if c[0] != "CenterCrop"],
                         ids=[i for i in IDS if not i.startswith("Center")])
def test_one_transformation_gives_the_same_images_in_both_libraries(K, name, kwargs):
    fmt = kwargs.get("data_format", "channels_last")
    x = images((6, 9, 11, 3), fmt)
    ours, theirs = pair(K, name, kwargs)
    for _ in range(3):
        _feed_both(ours, theirs, x, theirs.get_random_transformation(x, training=True))
        _feed_both(ours, theirs, x,
                   ours.get_random_transformation(torch.as_tensor(x), training=True))


@pytest.mark.parametrize("name,kwargs", [c for c in CONFIGS if c[0] != "CenterCrop"],
                         ids=[i for i in IDS if not i.startswith("Center")])
def test_seeded_layers_draw_what_keras_draws(K, name, kwargs):
    # NOTE: lamina's SeedGenerator follows Keras' draw scheme, so on the same (CPU)
    # device a layer seeded like its Keras twin makes the same draws.
    fmt = kwargs.get("data_format", "channels_last")
    x = images((6, 9, 11, 3), fmt)
    ours, theirs = pair(K, name, {**kwargs, "seed": 21})
    for data in (x, x, x[0]):
        np.testing.assert_allclose(ours(data).numpy(), numpy(theirs(data)), atol=1e-5)


def _draws(layer, key, batch=4000):
    x = torch.zeros(batch, 8, 10, 1)
    return torch.as_tensor(layer.get_random_transformation(x, training=True)[key]).float()


@pytest.mark.parametrize("height_factor,width_factor", [(0.3, None), ((-0.5, 0.2), 0.4),
                                                         ((0.1, 0.6), (-0.9, -0.2))])
def test_zoom_draws_cover_one_plus_the_factor_range(K, height_factor, width_factor):
    ours, theirs = pair(K, "RandomZoom", {"height_factor": height_factor,
                                          "width_factor": width_factor, "seed": 1})
    for key, factor in (("height_zoom", height_factor), ("width_zoom", width_factor)):
        factor = height_factor if factor is None else factor
        low, high = sorted(factor) if isinstance(factor, tuple) else (-factor, factor)
        for layer in (ours, theirs):
            zooms = _draws(layer, key)
            assert zooms.shape == (4000, 1)
            assert 1 + low <= zooms.min() and zooms.max() <= 1 + high
            assert abs(zooms.mean() - (1 + (low + high) / 2)) < 0.02 * (high - low) + 1e-6
            assert zooms.max() - zooms.min() > 0.95 * (high - low)
    if width_factor is None:
        transformation = ours.get_random_transformation(torch.zeros(5, 4, 4, 1))
        assert torch.equal(transformation["height_zoom"], transformation["width_zoom"])


def test_translation_draws_are_fractions_of_the_size_in_pixels(K):
    kwargs = {"height_factor": (-0.2, 0.5), "width_factor": 0.3, "seed": 1}
    for layer in pair(K, "RandomTranslation", kwargs):
        shifts = _draws(layer, "translations")  # (x, y) for 8x10 images
        assert -3 <= shifts[:, 0].min() and shifts[:, 0].max() <= 3
        assert -1.6 <= shifts[:, 1].min() and shifts[:, 1].max() <= 4
        assert abs(shifts[:, 0].mean()) < 0.1 and abs(shifts[:, 1].mean() - 1.2) < 0.1


def test_shear_draws_span_the_factors_with_a_random_common_sign(K):
    for layer in pair(K, "RandomShear", {"x_factor": (0.1, 0.3), "y_factor": 0.2, "seed": 1}):
        shear = _draws(layer, "shear_factor")
        magnitude_x = shear[:, 0].abs()
        assert 0.1 <= magnitude_x.min() and magnitude_x.max() <= 0.3
        assert shear[:, 1].abs().max() <= 0.2
        negative = (shear[:, 0] < 0).float().mean()
        assert 0.45 < negative < 0.55


@pytest.mark.parametrize("factor", [1.0, 0.4, (0.2, 0.6)])
def test_perspective_applies_with_the_mean_probability_of_the_factor(K, factor):
    low, high = factor if isinstance(factor, tuple) else (0.0, factor)
    for layer in pair(K, "RandomPerspective", {"factor": factor, "scale": 0.5, "seed": 1}):
        applied = _draws(layer, "apply_perspective").mean()
        assert abs(applied - (low + high) / 2) < 0.03
        transformation = layer.get_random_transformation(torch.zeros(500, 8, 10, 1))
        start = torch.as_tensor(transformation["start_points"])
        moved = torch.as_tensor(transformation["end_points"]) - start
        assert torch.all(moved.abs() <= 0.25 * start.abs() + 1e-5)
        assert torch.equal(start[0], torch.tensor([[0.0, 0.0], [9, 0], [0, 7], [9, 7]]))


def test_random_crop_offsets_cover_every_position(K):
    for layer in pair(K, "RandomCrop", {"height": 5, "width": 6, "seed": 1}):
        x = np.zeros((1, 8, 10, 1), "float32")
        offsets = {tuple(int(v) for v in layer.get_random_transformation(x, training=True))
                   for _ in range(300)}
        assert offsets == {(top, left) for top in range(4) for left in range(5)}


def test_random_crop_of_a_small_image_in_training_equals_keras(K):
    # Not larger than the target on both sides: Keras crops at the central window's
    # corner and resizes; lamina does the same.
    for shape in ((2, 3, 3, 2), (2, 12, 3, 2), (2, 5, 20, 2)):
        x = images(shape)
        ours, theirs = pair(K, "RandomCrop", {"height": 4, "width": 4, "seed": 1})
        np.testing.assert_allclose(ours(x).numpy(), numpy(theirs(x)), atol=1e-5)


def test_random_crop_in_inference_does_what_keras_documents(K):
    # Keras documents a centre crop to the target aspect ratio, resized, in inference,
    # but returns the images unchanged (keras-team/keras#21868); lamina follows the
    # documentation, whose oracle is Keras' own aspect-ratio-preserving resize.
    x = images((2, 9, 11, 3))
    ours, theirs = pair(K, "RandomCrop", {"height": 4, "width": 7, "seed": 1})
    want = K.ops.image.resize(x, (4, 7), crop_to_aspect_ratio=True)
    np.testing.assert_allclose(ours(x, training=False).numpy(), numpy(want), atol=1e-5)
    assert tuple(theirs(x, training=False).shape) == x.shape  # the Keras bug


def build(ns):
    inputs = ns.Input((12, 14, 3))
    x = ns.layers.CenterCrop(10, 12)(inputs)
    x = ns.layers.RandomZoom((-0.3, 0.2), 0.1, seed=1)(x)
    x = ns.layers.RandomTranslation(0.1, (-0.2, 0.1), fill_mode="constant", seed=2)(x)
    x = ns.layers.RandomShear((0.1, 0.2), (0.0, 0.3), seed=3)(x)
    x = ns.layers.RandomPerspective(0.9, 0.3, seed=4)(x)
    x = ns.layers.RandomCrop(8, 8, seed=5)(x)
    return ns.Model(inputs, ns.layers.Dense(2)(ns.layers.Flatten()(x)))


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_a_model_with_the_geometric_layers_moves_between_lamina_and_keras(K, tmp_path,
                                                                         writer):
    x = images((3, 12, 14, 3), seed=4)
    path = str(tmp_path / "model.keras")
    original = build(lamina if writer == "lamina" else K)
    original.save(path)
    loaded = (K.saving.load_model if writer == "lamina" else lamina.saving.load_model)(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in original.layers]
    for ours, theirs in zip(loaded.layers, original.layers):
        assert normalize(ours.get_config()) == normalize(theirs.get_config())
    # Training mode: the saved seed states make both libraries draw the same warps.
    np.testing.assert_allclose(numpy(loaded(x, training=True)),
                               numpy(original(x, training=True)), atol=1e-4)


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_inference_after_a_move_skips_the_random_layers(K, tmp_path, writer):
    inputs = (lamina if writer == "lamina" else K).Input((9, 11, 3))
    ns = lamina if writer == "lamina" else K
    x = ns.layers.RandomZoom(0.2, seed=1)(inputs)
    x = ns.layers.RandomTranslation(0.2, 0.2, seed=1)(x)
    x = ns.layers.RandomShear(0.2, 0.2, seed=1)(x)
    outputs = ns.layers.RandomPerspective(seed=1)(x)
    path = str(tmp_path / "aug.keras")
    ns.Model(inputs, outputs).save(path)
    model = lamina.saving.load_model(path)
    data = images((4, 9, 11, 3))
    np.testing.assert_array_equal(model.predict(data, verbose=0), data)
    assert not np.allclose(model(data, training=True).numpy(), data)
