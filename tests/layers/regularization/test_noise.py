import math

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.regularization.dropout import Dropout
from lamina.layers.regularization.noise import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lamina.testing import run_layer_test

CLASSES = (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise,
           SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)


@pytest.fixture(autouse=True)
def _exported(monkeypatch):
    # NOTE: deserialization resolves classes through `lamina.layers`; until it re-exports
    # these layers, expose them there for the duration of each test.
    for cls in CLASSES:
        monkeypatch.setattr(lamina.layers, cls.__name__, cls, raising=False)


@pytest.mark.parametrize("cls,kwargs,shape", [
    (SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
    (SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 4)),
    (SpatialDropout3D, {"rate": 0.5}, (1, 2, 2, 2, 3)),
    (GaussianDropout, {"rate": 0.3}, (2, 5)),
    (GaussianNoise, {"stddev": 0.3}, (2, 5)),
    (AlphaDropout, {"rate": 0.3}, (2, 5)),
])
def test_noise_layers_are_identity_in_inference(cls, kwargs, shape):
    x = torch.randn(shape)
    out = run_layer_test(cls, kwargs, input_data=x, expected_output=x.numpy(),
                         expected_num_trainable_weights=0,
                         expected_num_non_trainable_weights=0, supports_masking=True)
    assert torch.equal(out, x)


@pytest.mark.parametrize("cls,shape,kept_axes", [
    (SpatialDropout1D, (64, 5, 8), (0, 2)),
    (SpatialDropout2D, (64, 3, 3, 8), (0, 3)),
    (SpatialDropout3D, (64, 2, 2, 2, 8), (0, 4)),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, kept_axes):
    y = cls(0.4, seed=1)(torch.ones(shape), training=True).numpy()
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    # Constant over the spatial axes: one draw per (sample, channel).
    spatial = tuple(a for a in range(len(shape)) if a not in kept_axes)
    assert np.all(y.min(axis=spatial) == y.max(axis=spatial))
    assert abs((y != 0).mean() - 0.6) < 0.08


def test_spatial_dropout2d_channels_first_drops_axis_1():
    y = SpatialDropout2D(0.5, data_format="channels_first", seed=2)(
        torch.ones(8, 6, 3, 3), training=True).numpy()
    assert np.all(y.min(axis=(2, 3)) == y.max(axis=(2, 3)))
    assert 0 < (y == 0).mean() < 1


def test_spatial_dropout_config_follows_keras_layout():
    layer = SpatialDropout2D(0.5, data_format="channels_first", seed=3, name="sd")
    assert isinstance(layer, Dropout)
    assert layer.get_config() == {"rate": 0.5, "seed": 3, "name": "sd", "dtype": "float32",
                                  "data_format": "channels_first"}
    assert "data_format" not in SpatialDropout1D(0.5).get_config()


def test_spatial_dropout_rejects_bad_input():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        SpatialDropout1D(0.5)(torch.ones(2, 3))
    with pytest.raises(ValueError, match="Expected a float value between 0 and 1"):
        SpatialDropout1D(1.5)
    with pytest.raises(TypeError, match="noise_shape"):
        SpatialDropout1D(0.5, noise_shape=(1, 2, 3))


def test_gaussian_dropout_statistics():
    y = GaussianDropout(0.3, seed=1)(torch.ones(400, 250), training=True)
    assert abs(float(y.mean()) - 1.0) < 0.01
    assert abs(float(y.std()) - math.sqrt(0.3 / 0.7)) < 0.01


def test_gaussian_noise_statistics_and_seed():
    x = torch.full((400, 250), 2.0)
    y = GaussianNoise(0.2, seed=4)(x, training=True)
    assert abs(float(y.mean()) - 2.0) < 0.005
    assert abs(float(y.std()) - 0.2) < 0.005
    assert torch.equal(y, GaussianNoise(0.2, seed=4)(x, training=True))
    layer = GaussianNoise(0.2, seed=4)
    assert not torch.equal(layer(x, training=True), layer(x, training=True))


def test_alpha_dropout_keeps_selu_statistics():
    # Standard normal inputs (the SELU fixed point) keep mean 0 and variance 1.
    x = torch.randn(400, 250, generator=torch.Generator().manual_seed(0))
    y = AlphaDropout(0.2, seed=1)(x, training=True)
    assert abs(float(y.mean())) < 0.01
    assert abs(float(y.std()) - 1.0) < 0.01
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p**2)) ** -0.5
    dropped = a * alpha_p + -a * alpha_p * 0.2
    assert abs(float((y == torch.tensor(dropped)).float().mean()) - 0.2) < 0.01


def test_alpha_dropout_noise_shape_broadcasts():
    y = AlphaDropout(0.5, noise_shape=(None, 1), seed=1)(torch.ones(64, 3), training=True)
    assert torch.all(y.min(dim=1).values == y.max(dim=1).values)
    assert len(torch.unique(y)) == 2


@pytest.mark.parametrize("make,match", [
    (lambda: GaussianDropout(1.5), "rate=1.5"),
    (lambda: GaussianNoise(-1), "stddev=-1"),
    (lambda: AlphaDropout(-0.1), "rate=-0.1"),
])
def test_noise_layers_reject_bad_rates(make, match):
    with pytest.raises(ValueError, match=f"Expected a float value between 0 and 1. Received: "
                                         f"{match}"):
        make()


def test_noise_layers_follow_enclosing_training_flag():
    model = lamina.Sequential([lamina.Input((50,)), GaussianNoise(0.5)])
    x = torch.ones(2, 50)
    assert torch.equal(model(x), x)
    assert not torch.equal(model(x, training=True), x)


def test_activity_regularization_adds_penalty_divided_by_batch():
    x = torch.arange(12, dtype=torch.float32).reshape(4, 3) - 5
    out = run_layer_test(ActivityRegularization, {"l1": 0.1, "l2": 0.01}, input_data=x,
                         expected_output=x.numpy(), expected_num_losses=1,
                         supports_masking=True)
    assert torch.equal(out, x)
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    layer(x)
    want = (0.1 * x.abs().sum() + 0.01 * (x**2).sum()) / 4
    np.testing.assert_allclose(float(layer.losses[0]), float(want), rtol=1e-6)
    assert "activity_regularizer" not in layer.get_config()


def test_activity_regularization_rejects_negative_factor():
    with pytest.raises(ValueError, match="Invalid value for argument l1: expected a "
                                         "non-negative float"):
        ActivityRegularization(l1=-1)
