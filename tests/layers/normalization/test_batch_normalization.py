import numpy as np
import pytest
import torch

import lamina.layers.normalization as family
from lamina.layers.normalization.batch_normalization import BatchNormalization
from lamina.serialization.registry import custom_object_scope
from lamina.testing import run_layer_test


@pytest.fixture(autouse=True)
def _classes_resolvable_by_name():
    """Config round trips find these classes before `lamina.layers` re-exports them."""
    with custom_object_scope({n: getattr(family, n) for n in dir(family) if n[0].isupper()}):
        yield


def test_batch_normalization_passes_layer_test():
    # The helper's training step moves the statistics, which its later state_dict check
    # cannot allow for; training is tested below.
    run_layer_test(BatchNormalization, {"axis": 1, "momentum": 0.8}, input_shape=(4, 3, 5),
                   expected_output_shape=(4, 3, 5), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2, supports_masking=True,
                   run_training_check=False)


def test_batch_normalization_gradients_reach_input_and_weights():
    layer = BatchNormalization()
    x = torch.randn(6, 3, requires_grad=True)
    (layer(x, training=True) * torch.arange(3.0)).sum().backward()
    assert layer.gamma.grad is not None and layer.beta.grad is not None
    # d/dx of a batch-normalized output summed per channel is ~0 (mean removed)
    assert x.grad is not None and float(x.grad.sum(0).abs().max()) < 1e-4


def test_batch_normalization_training_uses_batch_stats_and_updates_moving_ones():
    x = np.random.randn(8, 5, 3).astype("float32") * 2 + 1
    layer = BatchNormalization(momentum=0.9)
    mean, var = x.mean((0, 1)), x.var((0, 1))  # biased variance, like Keras
    moving_mean, moving_var = np.zeros(3), np.ones(3)
    for _ in range(3):
        y = layer(torch.from_numpy(x), training=True)
        moving_mean = moving_mean * 0.9 + mean * 0.1
        moving_var = moving_var * 0.9 + var * 0.1
    np.testing.assert_allclose(y.detach().numpy(), (x - mean) / np.sqrt(var + 1e-3), atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), moving_var, atol=1e-6)
    inference = layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(inference, (x - moving_mean) / np.sqrt(moving_var + 1e-3),
                               atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, atol=1e-6)


def test_batch_normalization_frozen_layer_runs_in_inference_mode():
    layer = BatchNormalization()
    x = torch.randn(4, 3) * 3 + 2
    layer(x)
    layer.trainable = False
    y = layer(x, training=True)
    torch.testing.assert_close(y, x / (1 + 1e-3) ** 0.5)
    assert layer.moving_mean.tolist() == [0.0, 0.0, 0.0]


def test_batch_normalization_masked_steps_are_left_out_of_the_statistics():
    x = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, False, True, True]])
    layer = BatchNormalization(momentum=0.0)
    y = layer(x, training=True, mask=mask)
    chosen = x[mask]
    mean, var = chosen.mean(0), chosen.var(0, unbiased=False)
    torch.testing.assert_close(layer.moving_mean.data, mean)
    torch.testing.assert_close(layer.moving_variance.data, var)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))


def test_batch_normalization_state_is_torch_state_in_keras_order():
    layer = BatchNormalization(center=False)
    layer(torch.ones(2, 4))
    assert [w.path for w in layer.weights] == [
        "batch_normalization/gamma", "batch_normalization/moving_mean",
        "batch_normalization/moving_variance"]
    assert [n for n, _ in layer.named_parameters()] == ["gamma"]
    assert [n for n, _ in layer.named_buffers()] == ["moving_mean", "moving_variance"]
    assert layer.get_config()["axis"] == -1 and layer.get_config()["renorm"] is False


def test_batch_normalization_channels_first_images():
    x = torch.randn(4, 3, 5, 5)
    y = BatchNormalization(axis=1)(x, training=True)
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3), atol=1e-5, rtol=1e-5)


def test_batch_normalization_rejects_bad_input():
    with pytest.raises(ValueError, match=r"'batch_normalization' \(BatchNormalization\): "
                                         r"`axis=3` is out of range for inputs of rank 2"):
        BatchNormalization(axis=3)(torch.ones(2, 3))
    layer = BatchNormalization()
    layer(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3"):
        layer(torch.ones(2, 4))
    with pytest.raises(NotImplementedError, match="renorm=False"):
        BatchNormalization(renorm=True)
    with pytest.raises(TypeError, match=r"`axis` must be an int. Received: axis=\[1, 2\]"):
        BatchNormalization(axis=[1, 2])
