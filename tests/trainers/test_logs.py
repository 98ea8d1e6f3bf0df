"""trainers/logs: lazy per-batch logs and their host forms, read in one copy."""

import numpy as np
import pytest
import torch

from lamina.trainers.logs import MetricLogs, materialize_logs, python_logs


class _CountingModel:
    def __init__(self, results):
        self.results = results
        self.calls = 0

    def get_metrics_result(self):
        self.calls += 1
        return self.results


def test_metric_logs_compute_the_results_once_and_only_when_read():
    model = _CountingModel({"loss": torch.tensor(1.5), "mae": torch.tensor(0.5)})
    logs = MetricLogs(model)
    assert model.calls == 0
    assert logs["loss"] is model.results["loss"] and len(logs) == 2 and list(logs) == [
        "loss", "mae"]
    assert model.calls == 1


@pytest.mark.parametrize("convert", [materialize_logs, python_logs])
def test_scalars_are_read_in_one_device_to_host_copy(convert, monkeypatch):
    copies = []
    original = torch.Tensor.cpu

    def counting_cpu(self, *args, **kwargs):
        copies.append(self.shape)
        return original(self, *args, **kwargs)

    def refuse(self, *args, **kwargs):
        raise AssertionError("one read per value")

    monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
    monkeypatch.setattr(torch.Tensor, "item", refuse)
    logs = {"loss": torch.tensor(0.5), "mae": torch.tensor([0.25]), "n": torch.tensor(3)}
    assert convert(logs) == {"loss": 0.5, "mae": 0.25, "n": 3.0}
    assert copies == [(3,)]


def test_wide_scalars_keep_their_exact_value():
    logs = {"f64": torch.tensor(0.1, dtype=torch.float64),
            "count": torch.tensor(2**40 + 1, dtype=torch.int64),
            "f32": torch.tensor(0.1)}
    assert python_logs(logs) == {"count": float(2**40 + 1), "f32": float(np.float32(0.1)),
                                 "f64": 0.1}


def test_materialize_logs_keeps_order_arrays_and_numpy_scalar_types():
    logs = materialize_logs({"z": torch.tensor(2.0), "a": torch.ones(2), "i": np.int64(4)})
    assert list(logs) == ["z", "a", "i"]
    np.testing.assert_array_equal(logs["a"], np.ones(2, "float32"))
    assert logs["i"] == 4 and type(logs["i"]) is int and type(logs["z"]) is float
    assert materialize_logs(None) == {}


def test_python_logs_sort_keys_and_give_floats_arrays_and_nested_dicts():
    logs = python_logs({"b": np.float32(1.5), "a": torch.arange(3.0), "c": np.array([2.0]),
                        "d": {"y": torch.tensor(1.0), "x": "text"}})
    assert list(logs) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(logs["a"], [0.0, 1.0, 2.0])
    assert logs["b"] == 1.5 and logs["c"] == 2.0 and type(logs["c"]) is float
    assert logs["d"] == {"x": "text", "y": 1.0}
    assert python_logs(None) == {} and python_logs({}) == {}
