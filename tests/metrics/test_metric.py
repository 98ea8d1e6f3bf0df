import numpy as np
import pytest
import torch

import lamina
from lamina import metrics


class Total(metrics.Metric):
    def __init__(self, name="total", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.seen = self.add_variable(shape=(2,), initializer="ones", dtype="int32", name="seen")

    def update_state(self, values):
        self.total.assign_add(torch.as_tensor(values, dtype=self.total.dtype).sum())

    def result(self):
        return self.total.detach().clone()


def test_metric_variables_are_non_trainable_lamina_variables_with_paths():
    m = Total()
    assert [v.path for v in m.variables] == ["total/total", "total/seen"]
    assert all(isinstance(v, lamina.Variable) and not v.trainable for v in m.variables)
    assert m.trainable_variables == [] and m.non_trainable_variables == m.variables
    assert m.seen.dtype == torch.int32 and m.seen.tolist() == [1, 1]
    assert m.total.dtype == torch.float32


def test_metric_call_updates_then_returns_result():
    m = Total()
    assert m([1.0, 2.0]).item() == 3.0
    assert m([4.0]).item() == 7.0


def test_metric_reset_state_zeroes_every_variable():
    m = Total()
    m.update_state([5.0])
    m.reset_state()
    assert m.result().item() == 0.0 and m.seen.tolist() == [0, 0]


def test_metric_tracks_sub_metric_variables():
    class Pair(metrics.Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.inner = metrics.Mean(name="inner")
            self.own = self.add_variable((), "zeros", name="own")

    pair = Pair()
    assert [v.path for v in pair.variables] == ["pair/own", "inner/total", "inner/count"]


def test_metric_default_names_are_unique_snake_case():
    class MyScore(metrics.Metric):
        pass

    assert MyScore().name == "my_score"
    assert MyScore().name == "my_score_1"


def test_metric_is_not_a_layer_or_module():
    assert not isinstance(metrics.Mean(), torch.nn.Module)


def test_metric_config_round_trip_and_dtype():
    m = metrics.Mean(name="avg", dtype="float64")
    assert m.dtype == "float64" and m.total.dtype == torch.float64
    assert m.get_config() == {"name": "avg", "dtype": "float64"}
    clone = metrics.Mean.from_config(m.get_config())
    assert clone.name == "avg" and clone.dtype == "float64"


def test_metric_base_methods_are_abstract():
    m = metrics.Metric(name="base")
    with pytest.raises(NotImplementedError, match="Metric must implement `update_state`"):
        m.update_state(1.0)
    with pytest.raises(NotImplementedError, match="Metric must implement `result`"):
        m.result()


def test_add_variable_before_super_init_explains_the_fix():
    class Broken(metrics.Metric):
        def __init__(self):
            self.add_variable((), "zeros", name="x")

    with pytest.raises(RuntimeError, match=r"Broken: call `super\(\).__init__\(\)`"):
        Broken()


def test_metric_device_guard_records_the_inputs_device():
    m = metrics.Mean()
    m._device = torch.device("meta")  # pretend the state lives elsewhere
    m.update_state(np.array([1.0, 3.0], "float32"))
    assert m._device == torch.device("cpu")
    assert all(v.device.type == "cpu" for v in m.variables)
    assert m.result().item() == 2.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_metric_created_on_cpu_follows_cuda_inputs():
    previous = lamina.backend.get_device()
    lamina.backend.set_device("cpu")
    try:
        m = metrics.SparseCategoricalAccuracy()
        total = m.total
    finally:
        lamina.backend.set_device(previous)
    assert total.device.type == "cpu"
    labels = torch.tensor([0, 1, 1], device="cuda")
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], device="cuda")
    m.update_state(labels, probs)
    assert m.total is total and total.device.type == "cuda"
    assert all(v.device.type == "cuda" for v in m.variables)
    assert abs(m.result().item() - 2 / 3) < 1e-6


def test_metric_repr_names_class_and_name():
    assert repr(metrics.Sum(name="s")) == "<Sum name=s>"


NO_SYNC_METHODS = ("item", "__bool__", "__float__", "__int__", "cpu", "tolist", "numpy")


@pytest.fixture
def forbid_host_sync(monkeypatch):
    def install():
        def refuse(*args, **kwargs):
            raise AssertionError("host-device synchronisation during update_state")

        for name in NO_SYNC_METHODS:
            monkeypatch.setattr(torch.Tensor, name, refuse)

    return install


def _metric_cases():
    rng = np.random.default_rng(0)
    probs = torch.tensor(rng.dirichlet(np.ones(5), size=8), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 5, size=(8,)))
    one_hot = torch.nn.functional.one_hot(labels, 5).float()
    weights = torch.tensor(rng.uniform(size=8), dtype=torch.float32)
    binary = (probs > 0.2).float()
    return [
        (metrics.Mean(), (probs,)),
        (metrics.Sum(), (probs,)),
        (metrics.Accuracy(), (labels, probs.argmax(-1))),
        (metrics.BinaryAccuracy(), (binary, probs)),
        (metrics.CategoricalAccuracy(), (one_hot, probs)),
        (metrics.SparseCategoricalAccuracy(), (labels[:, None], probs)),
        (metrics.TopKCategoricalAccuracy(k=2), (one_hot, probs)),
        (metrics.SparseTopKCategoricalAccuracy(k=2), (labels, probs)),
        (metrics.MeanSquaredError(), (one_hot, probs)),
        (metrics.MeanAbsoluteError(), (one_hot, probs)),
        (metrics.RootMeanSquaredError(), (one_hot, probs)),
        (metrics.BinaryCrossentropy(), (binary, probs)),
        (metrics.CategoricalCrossentropy(from_logits=True), (one_hot, probs)),
        (metrics.SparseCategoricalCrossentropy(ignore_class=0), (labels, probs)),
        (metrics.KLDivergence(), (one_hot, probs)),
    ], weights


def test_update_state_never_synchronises_with_the_host(forbid_host_sync):
    cases, weights = _metric_cases()
    forbid_host_sync()
    for metric, args in cases:
        for step in range(10):
            metric.update_state(*args, sample_weight=weights if step % 2 else None)


def test_update_state_does_not_record_autograd_history():
    logits = torch.randn(4, 3, requires_grad=True)
    m = metrics.CategoricalCrossentropy(from_logits=True)
    m.update_state(torch.eye(3)[[0, 1, 2, 0]], logits)
    assert all(not v.requires_grad and v.grad_fn is None for v in m.variables)
