import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core import Dense
from lamina.testing import run_layer_test


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "softmax"])
def test_dense_passes_layer_test(activation):
    run_layer_test(Dense, {"units": 5, "activation": activation}, input_shape=(4, 3),
                   expected_output_shape=(4, 5), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_dense_nd_input_and_no_bias():
    run_layer_test(Dense, {"units": 2, "use_bias": False}, input_shape=(2, 7, 3),
                   expected_output_shape=(2, 7, 2), expected_num_trainable_weights=1)


def test_dense_matches_numpy_formula():
    layer = Dense(3, activation="relu")
    x = np.random.randn(5, 4).astype("float32")
    y = layer(x)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(y.detach().numpy(), np.maximum(x @ kernel + bias, 0), atol=1e-6)
    x3 = np.random.randn(2, 5, 4).astype("float32")
    np.testing.assert_allclose(layer(x3).detach().numpy(), np.maximum(x3 @ kernel + bias, 0),
                               atol=1e-6)


def test_dense_weight_names_shapes_order():
    layer = Dense(3)
    layer(torch.ones(1, 4))
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("dense/kernel", (4, 3)), ("dense/bias", (3,))]
    assert list(layer.state_dict()) == ["kernel", "bias"]
    assert layer.count_params() == 15


def test_dense_linear_activation_is_resolved_to_no_call():
    assert Dense(2)._activation_fn is None
    assert Dense(2, activation="relu")._activation_fn is torch.relu


def test_dense_compute_output_shape():
    assert Dense(3).compute_output_shape((None, 7, 4)) == (None, 7, 3)


@pytest.mark.parametrize("units", [0, -1, 2.5, "3", None, True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="expected a positive integer. Received: units="):
        Dense(units)


def test_dense_rejects_rank1_input():
    with pytest.raises(ValueError, match=r"layer 'dense' \(Dense\).*expected min_ndim=2, "
                                         r"found ndim=1"):
        Dense(3)(torch.ones(4))


def test_dense_rejects_wrong_feature_size_naming_layer_and_shapes():
    layer = Dense(3, name="head")
    layer(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"'head' \(Dense\).*axis -1 of input shape to have "
                                         r"value 4, but received input with shape \(2, 5\)"):
        layer(torch.ones(2, 5))


def test_dense_rejects_wrong_feature_size_symbolically():
    layer = Dense(3)
    layer.build((None, 4))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        layer(lamina.Input((6,)))


def test_dense_rejects_unknown_last_axis():
    with pytest.raises(ValueError, match=r"'dense' \(Dense\) needs a known size"):
        Dense(3).build((None, None))


def test_dense_rejects_a_quantization_config_that_is_not_one():
    with pytest.raises(ValueError, match="must be a `QuantizationConfig`"):
        Dense(3, quantization_config={"mode": "int8"})


def test_dense_regularizers_add_losses():
    layer = Dense(2, kernel_regularizer="l2", activity_regularizer="l1")
    y = layer(torch.ones(3, 4))
    kernel = layer.kernel.detach()
    expected = 0.01 * float((kernel ** 2).sum())
    values = sorted(float(l.detach()) for l in layer.losses)
    activity = 0.01 * float(y.detach().abs().sum()) / 3
    np.testing.assert_allclose(values, sorted([expected, activity]), rtol=1e-5)


def test_dense_lora_freezes_kernel_and_starts_as_identity_update():
    layer = Dense(3, lora_rank=2)
    x = torch.randn(4, 5)
    y = layer(x)
    names = [w.name for w in layer.weights]
    assert names == ["kernel", "bias", "lora_kernel_a", "lora_kernel_b"]
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a",
                                                         "lora_kernel_b"]
    np.testing.assert_allclose(y.detach().numpy(),
                               (x @ layer.kernel + layer.bias).detach().numpy(), atol=1e-6)
    layer.lora_kernel_b.assign(torch.ones(2, 3))
    a = layer.lora_kernel_a.detach()
    expected = x @ (layer.kernel.detach() + a @ torch.ones(2, 3)) + layer.bias.detach()
    np.testing.assert_allclose(layer(x).detach().numpy(), expected.numpy(), atol=1e-5)
    assert layer.get_config()["lora_rank"] == 2
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)


def test_dense_mixed_precision_computes_in_bfloat16():
    layer = Dense(3, dtype="mixed_bfloat16")
    y = layer(torch.ones(2, 4))
    assert y.dtype == torch.bfloat16
    assert layer.kernel.dtype == torch.float32


def test_dense_in_sequential_trains_state_dict_keys():
    model = lamina.Sequential([lamina.Input((4,)), Dense(3, activation="relu"), Dense(1)])
    assert model.output_shape == (None, 1)
    assert model.count_params() == 4 * 3 + 3 + 3 + 1


def test_dense_works_with_torch_functional_call():
    layer = Dense(2)
    x = torch.ones(1, 3)
    layer(x)
    params = {"kernel": torch.full((3, 2), 2.0), "bias": torch.ones(2)}
    out = torch.func.functional_call(layer, params, (x,))
    assert out.tolist() == [[7.0, 7.0]]
    assert not torch.equal(layer(x), out)


def test_dense_frozen_layer_still_computes_and_has_no_trainable_weights():
    layer = Dense(2, trainable=False)
    x = torch.randn(4, 3)
    y = layer(x)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    np.testing.assert_allclose(y.detach().numpy(),
                               (x @ layer.kernel + layer.bias).detach().numpy(), atol=1e-6)
