"""Normalization layers against keras.layers: config, weights (copied from Keras), outputs
in training and inference, and BatchNormalization's moving statistics over several steps."""

import json

import numpy as np
import pytest
import torch

import lamina.layers.normalization as ours_module
from lamina.layers.core import Dense


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def to_np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def build_pair(K, name, kwargs, x):
    theirs = getattr(K.layers, name)(**kwargs)
    ours = getattr(ours_module, name)(**kwargs)
    theirs(x)
    ours(x)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [
        (w.path, tuple(w.shape)) for w in theirs.weights]
    rng = np.random.default_rng(1)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype("float32")
               for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("kwargs,shape", [
    ({"momentum": 0.9}, (8, 3)),
    ({"axis": 1, "momentum": 0.8, "epsilon": 0.01}, (4, 3, 5, 5)),
    ({"center": False}, (4, 5, 5, 3)),
    ({"scale": False, "axis": 2}, (4, 5, 3)),
])
def test_batch_normalization_training_steps_parity(K, kwargs, shape):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(shape).astype("float32")
    ours, theirs = build_pair(K, "BatchNormalization", kwargs, x0)
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype("float32")
        want = to_np(theirs(x, training=True))
        got = to_np(ours(x, training=True))
        np.testing.assert_allclose(got, want, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, to_np(b), atol=1e-5)
    np.testing.assert_allclose(to_np(ours(x0)), to_np(theirs(x0)), atol=1e-5)
    np.testing.assert_allclose(to_np(ours(x0, training=False)),
                               to_np(theirs(x0, training=False)), atol=1e-5)


def test_batch_normalization_mask_and_frozen_parity(K):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1]], bool)
    ours, theirs = build_pair(K, "BatchNormalization", {"momentum": 0.5}, x)
    np.testing.assert_allclose(to_np(ours(x, training=True, mask=torch.from_numpy(mask))),
                               to_np(theirs(x, training=True, mask=mask)), atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, to_np(b), atol=1e-5)
    ours.trainable = theirs.trainable = False
    np.testing.assert_allclose(to_np(ours(x, training=True)), to_np(theirs(x, training=True)),
                               atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, to_np(b), atol=1e-6)


@pytest.mark.parametrize("name,kwargs,shape", [
    ("LayerNormalization", {}, (2, 3, 4)),
    ("LayerNormalization", {"axis": [1, 2], "epsilon": 0.01}, (2, 3, 4)),
    ("LayerNormalization", {"rms_scaling": True}, (2, 3, 4)),
    ("LayerNormalization", {"center": False, "scale": False}, (2, 5)),
    ("GroupNormalization", {"groups": 2}, (2, 5, 4)),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (2, 4, 3, 3)),
    ("GroupNormalization", {"groups": 3, "center": False}, (2, 3, 3, 6)),
    ("UnitNormalization", {}, (2, 5)),
    ("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4)),
    ("RMSNormalization", {}, (2, 3, 4)),
    ("RMSNormalization", {"axis": [1, 2], "epsilon": 0.1}, (2, 3, 4)),
])
def test_normalization_parity(K, name, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ours, theirs = build_pair(K, name, kwargs, x)
    np.testing.assert_allclose(to_np(ours(x)), to_np(theirs(x)), atol=1e-5)
    assert ours.supports_masking == theirs.supports_masking


def test_spectral_normalization_parity(K):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    theirs = K.layers.SpectralNormalization(K.layers.Dense(5), power_iterations=2)
    ours = ours_module.SpectralNormalization(Dense(5), power_iterations=2)
    theirs(x)
    ours(x)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    for _ in range(2):
        np.testing.assert_allclose(to_np(ours(x, training=True)),
                                   to_np(theirs(x, training=True)), atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, to_np(b), atol=1e-5)
    np.testing.assert_allclose(to_np(ours(x)), to_np(theirs(x)), atol=1e-5)
