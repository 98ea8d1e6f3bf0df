import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core import Lambda
from lamina.serialization import serialization
from lamina.testing import run_layer_test


@pytest.fixture
def unsafe():
    with serialization.SafeModeScope(False):
        yield


def test_lambda_passes_layer_test(unsafe):
    run_layer_test(Lambda, {"function": lambda x: x * 2 + 1}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                   supports_masking=False)


def test_lambda_with_arguments_closure_and_defaults_round_trips(unsafe):
    scale = 3.0

    def make():
        return lambda x, k=2.0: x * k * scale

    layer = Lambda(make(), arguments={"k": 5.0})
    x = torch.arange(4.0).reshape(2, 2)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() * 15.0)
    config = layer.get_config()
    assert config["function"]["class_name"] == "__lambda__"
    assert config["function"]["config"]["defaults"] == (2.0,)
    assert config["function"]["config"]["closure"] == (3.0,)
    clone = Lambda.from_config(config)
    np.testing.assert_allclose(clone(x).numpy(), x.numpy() * 15.0)


def test_lambda_from_config_refuses_bytecode_in_safe_mode():
    config = Lambda(lambda x: x).get_config()
    with pytest.raises(ValueError, match="`function` is a Python lambda.*safe_mode=False.*"
                                         r"enable_unsafe_deserialization\(\)"):
        Lambda.from_config(config)
    with pytest.raises(ValueError, match="Python lambda"):
        serialization.deserialize_keras_object(serialization.serialize_keras_object(
            Lambda(lambda x: x)))
    assert Lambda.from_config(config, safe_mode=False).function(7) == 7


def test_lambda_named_function_serializes_by_name_and_resolves():
    config = Lambda(lamina.activations.relu).get_config()
    assert config["function"] == {"module": "builtins", "class_name": "function",
                                  "config": "relu", "registered_name": "function"}
    assert Lambda.from_config(config).function is lamina.activations.relu


def test_lambda_unknown_named_function_fails_with_hint():
    def private(x):
        return x

    with pytest.raises(ValueError, match="Could not locate function 'private'"):
        Lambda.from_config(Lambda(private).get_config())
    clone = Lambda.from_config(Lambda(private).get_config(), custom_objects={"private": private})
    assert clone.function is private


def test_lambda_output_shape_and_mask():
    layer = Lambda(lambda x: x[:, :2], output_shape=(2,),
                   mask=lambda inputs, mask: inputs[:, 0] > 0)
    assert layer.supports_masking
    assert layer.compute_output_shape((None, 5)) == (None, 2)
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.0]])
    y = layer(x)
    assert y._keras_mask.tolist() == [True, False]
    fn_shape = Lambda(lambda x: x, output_shape=lambda s: (s[0], 9))
    assert fn_shape.compute_output_shape((None, 3)) == (None, 9)


def test_lambda_passes_training_and_mask_when_named():
    seen = {}

    def fn(x, training=None, mask=None):
        seen.update(training=training, mask=mask)
        return x

    Lambda(fn)(torch.ones(2, 2), training=True)
    assert seen == {"training": True, "mask": None}


def test_lambda_symbolic_output_shape_inferred():
    out = Lambda(lambda x: torch.cat([x, x], dim=-1))(lamina.Input((3,)))
    assert out.shape == (None, 6)


def test_lambda_rejects_non_callable():
    with pytest.raises(TypeError, match="`function` of Lambda must be callable. Received: 3"):
        Lambda(3)
