"""Keras-parity fixes around the image preprocessing layers, with Keras 3 (torch
backend) as the oracle: gaussian_blur's sigma order, elastic_transform's formula,
RandomRotation's matrix layout, RandomCrop in a functional model, Rescaling on dicts."""

import numpy as np
import pytest
import torch

import lamina
from lamina import ops

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(11)
IMG = RNG.uniform(0, 1, (2, 9, 11, 3)).astype("float32")


@pytest.mark.parametrize("sigma", [(0.5, 2.0), (1.7, 0.4), (1.0, 1.0)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_gaussian_blur_applies_sigmas_like_keras(sigma, data_format):
    x = IMG if data_format == "channels_last" else IMG.transpose(0, 3, 1, 2)
    ours = ops.image.gaussian_blur(x, (5, 5), sigma, data_format=data_format)
    theirs = keras.ops.image.gaussian_blur(x, (5, 5), sigma, data_format=data_format)
    np.testing.assert_allclose(ours, np.asarray(theirs.cpu()), rtol=1e-5, atol=1e-6)


def _elastic_both(x, **kwargs):
    torch.manual_seed(123)
    theirs = keras.ops.image.elastic_transform(x, seed=1, **kwargs)
    torch.manual_seed(123)
    ours = ops.image.elastic_transform(x, seed=None, **kwargs)
    return ours, theirs


@pytest.mark.parametrize("kwargs", [
    {},
    {"alpha": 5.0, "sigma": 1.3, "interpolation": "nearest", "fill_mode": "constant",
     "fill_value": 0.5},
    {"alpha": 30.0, "sigma": 2.0, "fill_mode": "wrap", "data_format": "channels_first"},
])
def test_elastic_transform_matches_keras_given_the_same_noise(kwargs):
    x = RNG.uniform(0, 1, (3, 20, 17, 2)).astype("float32")
    if kwargs.get("data_format") == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    ours, theirs = _elastic_both(torch.tensor(x), **kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs.cpu(), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(ours, torch.tensor(x))


def test_elastic_transform_half_images_use_float32_positions():
    x = torch.tensor(RNG.uniform(0, 1, (2, 40, 40, 1)), dtype=torch.float16)
    torch.manual_seed(5)
    half = ops.image.elastic_transform(x, alpha=3.0, sigma=1.0)
    torch.manual_seed(5)
    # The same noise in float32: only the image's rounding separates the two results.
    full = ops.image.elastic_transform(x.float(), alpha=3.0, sigma=1.0)
    assert half.dtype == torch.float16
    np.testing.assert_allclose(half.float(), full, atol=2e-2)


def _fresh(transformation):
    # Keras' torch affine_transform swaps entries of the matrix it is given in place, so
    # each library gets its own copy.
    return {k: v.clone() if torch.is_tensor(v) else v for k, v in transformation.items()}


@pytest.mark.parametrize("shape,data_format", [((2, 13, 9, 3), "channels_last"),
                                               ((2, 3, 8, 14), "channels_first"),
                                               ((12, 7, 2), "channels_last")])
def test_rotation_transformations_cross_between_lamina_and_keras(shape, data_format):
    x = torch.tensor(RNG.uniform(0, 1, shape), dtype=torch.float32)
    kwargs = {"factor": 0.3, "seed": 4, "data_format": data_format}
    ours = lamina.layers.RandomRotation(**kwargs)
    theirs = keras.layers.RandomRotation(**kwargs)
    for transformation in (theirs.get_random_transformation(x),
                           ours.get_random_transformation(x)):
        np.testing.assert_array_equal(
            np.asarray(transformation["rotation_matrix"].shape),
            (8,) if len(shape) == 3 else (shape[0], 8))
        want = theirs.transform_images(x, _fresh(transformation))
        got = ours.transform_images(x, _fresh(transformation))
        np.testing.assert_allclose(got, want.cpu(), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(got, x, atol=1e-3)
    mine, keras_own = ours.get_random_transformation(x), theirs.get_random_transformation(x)
    for key in ("image_height", "image_width", "batch_size"):
        assert mine[key] == keras_own[key]
    np.testing.assert_allclose(mine["rotation_matrix"], keras_own["rotation_matrix"].cpu(),
                               rtol=1e-5, atol=1e-5)


def test_rescaling_takes_dicts_with_keras_symbolic_spec():
    def spec(ns):
        inputs = {"images": ns.Input((4, 5, 3)), "ids": ns.Input((2,), dtype="int32")}
        return ns.layers.Rescaling(0.5, offset=1.0)(inputs)

    ours, theirs = spec(lamina), spec(keras)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert tuple(ours[key].shape) == tuple(theirs[key].shape)
        assert str(ours[key].dtype) == str(theirs[key].dtype)
    # Each entry is rescaled as Keras rescales one tensor.
    data = {"images": RNG.integers(0, 255, (2, 4, 5, 3)).astype("uint8"),
            "ids": np.array([[3, 4], [5, 6]], dtype="int32")}
    layer = lamina.layers.Rescaling(0.5, offset=1.0)
    got = layer(data)
    for key, value in data.items():
        want = keras.layers.Rescaling(0.5, offset=1.0)(value)
        assert got[key].dtype == torch.float32
        np.testing.assert_allclose(got[key], want.cpu(), rtol=1e-6)
    inputs = {"images": lamina.Input((4, 5, 3)), "ids": lamina.Input((2,), dtype="int32")}
    model = lamina.Model(inputs, lamina.layers.Rescaling(2.0)(inputs))
    out = model.predict(data, verbose=0)
    np.testing.assert_allclose(out["ids"], data["ids"] * 2.0)
