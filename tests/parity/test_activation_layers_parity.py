"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax) and noise/regularization
layers against keras.layers: configs, weights, values (seeded noise draws included)."""

import json

import numpy as np
import pytest
import torch

from lamina.layers.activations import activation_layers
from lamina.layers.regularization import noise


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


X = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32") * 3


@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {}),
    ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {"alpha": 0.7}),
    ("Softmax", {}),
    ("Softmax", {"axis": (1, 2)}),
    ("PReLU", {"alpha_initializer": "random_normal", "shared_axes": [1]}),
    ("PReLU", {"alpha_regularizer": "l2", "alpha_constraint": "non_neg"}),
])
def test_activation_layer_matches_keras(K, name, kwargs):
    theirs = getattr(K.layers, name)(name="act", **kwargs)
    ours = getattr(activation_layers, name)(name="act", **kwargs)
    want = theirs(X)
    ours(X)
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [
        (w.path, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(X).detach().numpy(), K.ops.convert_to_numpy(want),
                               atol=1e-5)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    assert ours.supports_masking == theirs.supports_masking
    assert len(ours.losses) == len(theirs.losses)


@pytest.mark.parametrize("mask_shape", [(2, 3, 4), (1, 4), (4,), (2, 1, 4)])
def test_softmax_with_mask_matches_keras(K, mask_shape):
    mask = torch.as_tensor(np.random.default_rng(1).random(mask_shape) > 0.4)
    want = K.layers.Softmax()(torch.as_tensor(X), mask=mask)
    got = activation_layers.Softmax()(X, mask=mask)
    np.testing.assert_allclose(got.numpy(), K.ops.convert_to_numpy(want), atol=1e-6)


@pytest.mark.parametrize("name,kwargs,shape", [
    ("SpatialDropout1D", {"rate": 0.4}, (4, 3, 5)),
    ("SpatialDropout2D", {"rate": 0.4}, (2, 3, 3, 4)),
    ("SpatialDropout2D", {"rate": 0.4, "data_format": "channels_first"}, (2, 4, 3, 3)),
    ("SpatialDropout3D", {"rate": 0.3}, (2, 2, 2, 2, 3)),
    ("GaussianDropout", {"rate": 0.3}, (4, 6)),
    ("GaussianNoise", {"stddev": 0.3}, (4, 6)),
    ("AlphaDropout", {"rate": 0.3}, (4, 6)),
    ("AlphaDropout", {"rate": 0.3, "noise_shape": (None, 1)}, (4, 6)),
])
def test_seeded_noise_layer_matches_keras(K, name, kwargs, shape):
    x = np.random.default_rng(2).standard_normal(shape).astype("float32")
    theirs = getattr(K.layers, name)(seed=7, name="noise", **kwargs)
    ours = getattr(noise, name)(seed=7, name="noise", **kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    for _ in range(2):  # the second draw checks that seeds advance alike
        want = K.ops.convert_to_numpy(theirs(x, training=True))
        got = ours(x, training=True).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(ours(x).numpy(), K.ops.convert_to_numpy(theirs(x)))
    assert ours.supports_masking == theirs.supports_masking


def test_activity_regularization_matches_keras(K):
    theirs = K.layers.ActivityRegularization(l1=0.1, l2=0.02)
    ours = noise.ActivityRegularization(l1=0.1, l2=0.02)
    np.testing.assert_array_equal(ours(X).numpy(), K.ops.convert_to_numpy(theirs(X)))
    np.testing.assert_allclose(float(ours.losses[0]), float(theirs.losses[0]), rtol=1e-6)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
