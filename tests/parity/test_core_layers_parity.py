"""Core, activation, dropout and reshaping layers against keras.layers: config, weights,
outputs, parameter counts."""

import json

import numpy as np
import pytest
import torch

from lamina import layers as _layers  # noqa: F401  (lamina.layers must import)
from lamina.layers.activations import Activation
from lamina.layers.core import Dense, EinsumDense, Identity, Lambda
from lamina.layers.regularization import Dropout
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

OURS = {cls.__name__: cls for cls in (Activation, Dense, EinsumDense, Identity, Lambda, Dropout,
                                      Flatten, Permute, RepeatVector, Reshape)}


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def check_parity(K, class_name, kwargs, input_shape, atol=1e-5):
    """Same config, same weights (copied from Keras), same output, same count_params."""
    theirs = getattr(K.layers, class_name)(**kwargs)
    ours = OURS[class_name](**kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    x = np.random.default_rng(0).standard_normal(input_shape).astype("float32")
    want = theirs(x)
    ours(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    np.testing.assert_allclose(got.detach().numpy(), K.ops.convert_to_numpy(want), atol=atol)
    assert ours.count_params() == theirs.count_params()
    # Where Keras leaves a size unknown (EinsumDense's None output axes) lamina may know it.
    mine = tuple(ours.compute_output_shape((None, *input_shape[1:])))
    keras_shape = tuple(theirs.compute_output_shape((None, *input_shape[1:])))
    assert len(mine) == len(keras_shape)
    assert all(k is None or m == k for m, k in zip(mine, keras_shape)), (mine, keras_shape)
    assert mine[1:] == tuple(got.shape)[1:]
    np.testing.assert_allclose(
        [w for w in ours.get_weights()] and np.concatenate(
            [w.ravel() for w in ours.get_weights()]) if ours.weights else [],
        np.concatenate([K.ops.convert_to_numpy(w).ravel() for w in theirs.get_weights()])
        if theirs.weights else [])
    return ours, theirs


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax", "gelu",
                                        "elu", "selu", "swish", "leaky_relu"])
def test_dense_parity_per_activation(K, activation):
    check_parity(K, "Dense", {"units": 5, "activation": activation}, (4, 3))


@pytest.mark.parametrize("kwargs", [
    {"units": 2, "use_bias": False},
    {"units": 3, "kernel_regularizer": "l2", "activity_regularizer": "l1",
     "kernel_constraint": "non_neg", "bias_initializer": "ones"},
    {"units": 3, "kernel_initializer": "he_normal", "name": "head"},
])
def test_dense_parity_configs(K, kwargs):
    check_parity(K, "Dense", kwargs, (2, 6, 4))


def test_dense_parity_lora(K):
    ours, theirs = check_parity(K, "Dense", {"units": 3, "lora_rank": 2}, (4, 5))
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]


def test_dense_regularization_losses_match_keras(K):
    kwargs = {"units": 3, "kernel_regularizer": "l2", "activity_regularizer": "l1"}
    theirs, ours = K.layers.Dense(**kwargs), Dense(**kwargs)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype("float32")
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    theirs(x)
    ours(x)
    np.testing.assert_allclose(sorted(float(l.detach()) for l in ours.losses),
                               sorted(float(K.ops.convert_to_numpy(l)) for l in theirs.losses),
                               rtol=1e-5)


@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape", [
    ("ab,bc->ac", 4, None, (2, 3)),
    ("ab,bc->ac", 4, "c", (2, 3)),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 3)),
    ("abc,cd->abd", (5, 4), "bd", (2, 5, 3)),
    ("abc,cde->abde", (None, 4, 6), "de", (2, 5, 3)),
    ("abc,cde->abde", (None, 4, 6), "d", (2, 5, 3)),
    ("abc,cde->abde", (None, 4, 6), "e", (2, 5, 3)),
    ("abcd,cde->abe", (None, 6), None, (2, 5, 3, 4)),
    ("...b,bc->...c", 4, "c", (2, 7, 3)),
])
def test_einsum_dense_parity(K, equation, output_shape, bias_axes, input_shape):
    kwargs = {"equation": equation, "output_shape": output_shape, "bias_axes": bias_axes,
              "activation": "relu"}
    _, theirs = check_parity(K, "EinsumDense", kwargs, input_shape)
    # Non-zero biases, so a misplaced bias axis would show.
    ours = EinsumDense(**kwargs)
    x = np.random.default_rng(2).standard_normal(input_shape).astype("float32")
    ours(x)
    weights = [w + 0.5 for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    np.testing.assert_allclose(ours(x).detach().numpy(), K.ops.convert_to_numpy(theirs(x)),
                               atol=1e-5)


def test_einsum_dense_parity_lora(K):
    ours, theirs = check_parity(K, "EinsumDense", {"equation": "abc,cde->abde",
                                                   "output_shape": (None, 4, 6),
                                                   "lora_rank": 2}, (2, 5, 3))
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]


@pytest.mark.parametrize("class_name,kwargs,input_shape", [
    ("Activation", {"activation": "relu"}, (2, 5)),
    ("Activation", {"activation": "softmax"}, (2, 3, 5)),
    ("Activation", {"activation": None}, (2, 5)),
    ("Dropout", {"rate": 0.3}, (2, 5)),
    ("Dropout", {"rate": 0.3, "noise_shape": (None, 1), "seed": 4}, (2, 5)),
    ("Flatten", {}, (2, 3, 4)),
    ("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 5)),
    ("Flatten", {"data_format": "channels_first"}, (2, 3, 4)),
    ("Reshape", {"target_shape": (4, 3)}, (2, 3, 4)),
    ("Reshape", {"target_shape": (-1, 2)}, (2, 3, 4)),
    ("Permute", {"dims": (2, 1)}, (2, 3, 4)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
    ("RepeatVector", {"n": 3}, (2, 4)),
    ("Identity", {}, (2, 4)),
])
def test_shape_and_simple_layers_parity(K, class_name, kwargs, input_shape):
    check_parity(K, class_name, kwargs, input_shape)


def test_dropout_seeded_training_masks_match_keras(K):
    x = np.ones((4, 16), "float32")
    theirs = K.layers.Dropout(0.5, seed=3, noise_shape=(None, 16))
    ours = Dropout(0.5, seed=3, noise_shape=(None, 16))
    want = K.ops.convert_to_numpy(theirs(x, training=True))
    got = ours(x, training=True).numpy()
    assert set(np.unique(got).tolist()) == set(np.unique(want).tolist()) == {0.0, 2.0}
    np.testing.assert_array_equal(got, want)


def test_lambda_config_matches_keras_for_lambda_and_named_function(K):
    fn = lambda x: x * 2.0  # noqa: E731
    theirs, ours = K.layers.Lambda(fn, output_shape=(3,)), Lambda(fn, output_shape=(3,))
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(ours(x).numpy(), K.ops.convert_to_numpy(theirs(x)))
    scale = 4.0

    def make():
        return lambda x, k=1.0: x * k * scale

    closure_fn = make()
    assert normalize(Lambda(closure_fn, arguments={"k": 2}).get_config()) == normalize(
        K.layers.Lambda(closure_fn, arguments={"k": 2}).get_config())
    assert normalize(Lambda(K.activations.relu).get_config()["function"]) == normalize(
        K.layers.Lambda(K.activations.relu).get_config()["function"])


def test_lambda_keras_written_config_loads_in_unsafe_mode(K):
    from lamina.serialization import serialization

    config = json.loads(json.dumps(K.layers.Lambda(lambda x: x + 1.0).get_config(),
                                   default=list))
    with pytest.raises(ValueError, match="safe_mode=False"):
        Lambda.from_config(config)
    with serialization.SafeModeScope(False):
        layer = Lambda.from_config(config)
    assert layer(torch.zeros(2)).tolist() == [1.0, 1.0]
    assert normalize(layer.get_config()) == normalize(config)
