import numpy as np
import pytest
import torch

import lamina
from lamina.layers.activations import Activation
from lamina.testing import run_layer_test


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "gelu", None])
def test_activation_passes_layer_test(name):
    run_layer_test(Activation, {"activation": name}, input_shape=(2, 5),
                   expected_output_shape=(2, 5), expected_num_trainable_weights=0,
                   supports_masking=True)


def test_activation_matches_numpy():
    x = np.random.randn(3, 4).astype("float32")
    np.testing.assert_allclose(Activation("relu")(x).numpy(), np.maximum(x, 0))
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(Activation("softmax")(x).numpy(), e / e.sum(-1, keepdims=True),
                               rtol=1e-6)


def test_activation_config_uses_names():
    assert Activation(None).get_config()["activation"] == "linear"
    assert Activation(lamina.activations.gelu).get_config()["activation"] == "gelu"


def test_activation_accepts_callable():
    layer = Activation(lambda x: x * 3)
    assert layer(torch.ones(1)).tolist() == [3.0]


def test_activation_rejects_unknown_name():
    with pytest.raises(ValueError, match="nope"):
        Activation("nope")
