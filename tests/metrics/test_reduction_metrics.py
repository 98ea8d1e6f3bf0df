import numpy as np
import pytest
import torch

from lamina import losses, metrics
from lamina.serialization import registry

VALUES = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")


def test_mean_without_weights_averages_per_sample_means():
    m = metrics.Mean()
    m.update_state(VALUES)
    m.update_state([10.0])
    np.testing.assert_allclose(m.result().numpy(), (1.5 + 3.5 + 10.0) / 3)
    assert m.count.item() == 3.0


def test_mean_with_per_sample_weights_is_weighted_average():
    m = metrics.Mean()
    m.update_state([1.0, 3.0, 5.0], sample_weight=[1.0, 2.0, 1.0])
    np.testing.assert_allclose(m.result().numpy(), (1 + 6 + 5) / 4)


def test_mean_with_elementwise_weights_reduces_weights_per_sample():
    m = metrics.Mean()
    m.update_state(VALUES, sample_weight=[[1.0, 0.0], [1.0, 1.0]])
    # per-sample: mean(v * w) = [0.5, 3.5]; weights: mean(w) = [0.5, 1.0]
    np.testing.assert_allclose(m.result().numpy(), 4.0 / 1.5, rtol=1e-6)


def test_mean_with_scalar_weight_counts_the_weight_once():
    m = metrics.Mean()
    m.update_state(VALUES, sample_weight=2.0)
    np.testing.assert_allclose(m.result().numpy(), 2.5)
    assert m.count.item() == 2.0


def test_mean_of_nothing_or_zero_weight_is_zero():
    m = metrics.Mean()
    assert m.result().item() == 0.0
    m.update_state([1.0, 2.0], sample_weight=[0.0, 0.0])
    assert m.result().item() == 0.0


def test_mean_ignores_a_mask_without_sample_weight():
    values = torch.tensor(VALUES)
    values._keras_mask = torch.tensor([[True, False], [True, True]])
    m = metrics.Mean()
    m.update_state(values)
    np.testing.assert_allclose(m.result().numpy(), 2.5)


def test_sum_adds_weighted_values():
    m = metrics.Sum()
    m.update_state(VALUES, sample_weight=[1.0, 0.0])
    m.update_state(5.0)
    np.testing.assert_allclose(m.result().numpy(), 3.0 + 5.0)
    assert [v.path for v in m.variables] == ["sum/total"]


def test_mean_rejects_weights_that_cannot_broadcast():
    with pytest.raises(ValueError, match=r"sample_weight.*values.shape=\(2,\).*\(3,\)"):
        metrics.Mean().update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])


def test_mean_metric_wrapper_averages_function_values():
    m = metrics.MeanMetricWrapper(losses.mean_absolute_error, name="l1")
    m.update_state([[0.0, 0.0], [1.0, 1.0]], [[1.0, 3.0], [1.0, 1.0]], sample_weight=[1.0, 3.0])
    np.testing.assert_allclose(m.result().numpy(), (2.0 * 1 + 0.0 * 3) / 4)
    assert m._direction == "down"


def test_mean_metric_wrapper_applies_a_mask_on_y_pred():
    y_pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    y_pred._keras_mask = torch.tensor([True, False])
    m = metrics.MeanMetricWrapper(losses.mean_squared_error)
    m.update_state(torch.zeros(2, 2), y_pred)
    np.testing.assert_allclose(m.result().numpy(), 2.5)
    m.reset_state()
    m.update_state(torch.zeros(2, 2), y_pred, sample_weight=torch.tensor([2.0, 3.0]))
    np.testing.assert_allclose(m.result().numpy(), 2.5)


def test_mean_metric_wrapper_rejects_non_callable():
    with pytest.raises(TypeError, match="MeanMetricWrapper: `fn` must be callable.*fn=5"):
        metrics.MeanMetricWrapper(5)


def test_mean_metric_wrapper_config_round_trip():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="acc07", threshold=0.7)
    config = m.get_config()
    assert config["threshold"] == 0.7 and config["fn"]["config"] == "binary_accuracy"
    clone = metrics.deserialize(metrics.serialize(m))
    assert clone._fn is metrics.binary_accuracy and clone._fn_kwargs == {"threshold": 0.7}
    assert clone.name == "acc07"


def test_mean_metric_wrapper_reads_keras_function_config():
    config = {"name": "w", "dtype": "float32",
              "fn": {"module": "builtins", "class_name": "function",
                     "config": "mean_squared_error", "registered_name": "function"}}
    assert metrics.MeanMetricWrapper.from_config(config)._fn is losses.mean_squared_error


def test_mean_metric_wrapper_with_custom_function_round_trips_in_scope():
    def halves(y_true, y_pred):
        return (y_pred - y_true) / 2

    m = metrics.MeanMetricWrapper(halves)
    with registry.custom_object_scope({"halves": halves}):
        clone = metrics.deserialize(metrics.serialize(m))
    assert clone._fn is halves
