"""`jit_compile="auto"` (trainers/auto_jit.py): eager unless the first epoch shows a
compiled step pays off; then compiled, and back to eager if it measured slower."""

import numpy as np
import pytest
import torch
from dynamo_support import compiling_with, failing_backend

import lamina
from lamina.trainers import auto_jit, compiled_step
from lamina.trainers import step as step_functions


def passthrough_backend(graph_module, example_inputs):
    return graph_module.forward


@pytest.fixture(autouse=True)
def no_compiler(monkeypatch):
    with compiling_with(monkeypatch, passthrough_backend):
        yield


@pytest.fixture
def compiled_calls(monkeypatch):
    calls = []
    original = compiled_step._CompiledTrainFunction.__call__

    def spy(self, batches):
        calls.append(len(batches))
        return original(self, batches)

    monkeypatch.setattr(compiled_step._CompiledTrainFunction, "__call__", spy)
    return calls


def mlp():
    return lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(8, activation="relu"),
                              lamina.layers.Dropout(0.0), lamina.layers.LayerNormalization(),
                              lamina.layers.Dense(2)])


def fit(jit_compile, epochs=4):
    lamina.utils.set_random_seed(3)
    model = mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = rng.normal(size=(48, 2)).astype("float32")
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    return model, history.history


def test_rule_needs_ten_minutes_of_eager_work_left():
    assert not auto_jit.pays_off(eager_step_seconds=0.001, remaining_steps=10_000)  # 10 s
    assert auto_jit.pays_off(eager_step_seconds=0.001, remaining_steps=600_000)
    assert not auto_jit.pays_off(eager_step_seconds=0.5, remaining_steps=1_199)
    assert auto_jit.pays_off(eager_step_seconds=0.5, remaining_steps=1_200)


class Custom(lamina.layers.Layer):
    def call(self, x):
        return x * 2


class MyDense(lamina.layers.Dense):
    pass


class Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.dense = lamina.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_layers_that_compile_well():
    assert auto_jit.layers_compile_well(mlp())
    inputs = lamina.Input((4, 8))
    attended = lamina.layers.MultiHeadAttention(2, 4)(inputs, inputs)
    outputs = lamina.layers.Flatten()(lamina.layers.Add()([inputs, attended]))
    assert auto_jit.layers_compile_well(lamina.Model(inputs, outputs))
    for layer in (lamina.layers.Conv1D(2, 3), lamina.layers.LSTM(2), Custom(), MyDense(2)):
        model = lamina.Sequential([lamina.Input((5, 4)), layer])
        assert not auto_jit.layers_compile_well(model), type(layer).__name__
    assert not auto_jit.layers_compile_well(Subclassed())


def test_auto_stays_eager_when_the_rule_says_no(compiled_calls, monkeypatch):
    monkeypatch.setattr(torch, "compile", None)  # any compile attempt would fail loudly
    eager_model, eager_history = fit(jit_compile=False)
    model, history = fit(jit_compile="auto")
    assert compiled_calls == []
    assert "_auto_train_function" not in model.__dict__
    assert history == eager_history


def test_auto_compiles_after_the_first_epoch_and_matches_eager(compiled_calls, monkeypatch):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)
    monkeypatch.setattr(auto_jit, "MIN_SPEEDUP", 0.0)  # keep it whatever it measures
    eager_model, eager_history = fit(jit_compile=False)
    model, history = fit(jit_compile="auto")
    assert compiled_calls == [1] * 9  # epochs 2-4, 3 batches each
    for key in eager_history:
        np.testing.assert_allclose(history[key], eager_history[key], rtol=1e-5)
    for got, expected in zip(model.get_weights(), eager_model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_auto_goes_back_to_eager_when_the_compiled_step_is_slower(compiled_calls,
                                                                   monkeypatch):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)
    monkeypatch.setattr(auto_jit, "MIN_SPEEDUP", 1e9)  # nothing is that much faster
    model, history = fit(jit_compile="auto", epochs=5)
    assert compiled_calls == [1] * 6  # epochs 2 (compile) and 3 (timed); 4-5 eager
    assert len(history["loss"]) == 5 and np.all(np.isfinite(history["loss"]))


@pytest.mark.parametrize("compile_kwargs", [{"jit_compile": False},
                                            {"jit_compile": "auto", "run_eagerly": True}])
def test_auto_is_off_when_eager_is_asked_for(compiled_calls, monkeypatch, compile_kwargs):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)
    model = mlp()
    model.compile(optimizer="sgd", loss="mse", **compile_kwargs)
    x = np.zeros((8, 6), "float32")
    model.fit(x, np.zeros((8, 2), "float32"), batch_size=4, epochs=3, verbose=0)
    assert compiled_calls == []


def test_auto_leaves_convolutions_eager(compiled_calls, monkeypatch):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)

    model = lamina.Sequential([lamina.Input((8, 3)), lamina.layers.Conv1D(4, 3),
                               lamina.layers.Flatten(), lamina.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 8, 3), "float32"), np.zeros((8, 2), "float32"), batch_size=4,
              epochs=3, verbose=0)
    assert compiled_calls == []


def test_auto_with_steps_per_execution_runs_groups_compiled(compiled_calls, monkeypatch):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)
    monkeypatch.setattr(auto_jit, "MIN_SPEEDUP", 0.0)
    histories, weights = [], []
    for jit_compile, steps in ((False, 1), ("auto", 3)):
        lamina.utils.set_random_seed(3)
        model = mlp()
        model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile,
                      steps_per_execution=steps)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(96, 6)).astype("float32")
        y = rng.normal(size=(96, 2)).astype("float32")
        histories.append(model.fit(x, y, batch_size=16, epochs=3, verbose=0).history)
        weights.append(model.get_weights())
    assert compiled_calls == [3, 3] * 2  # epochs 2-3: 6 batches in 2 groups of 3
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-5)
    for got, expected in zip(*weights[::-1]):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_auto_falls_back_to_eager_when_compiling_fails(monkeypatch):
    monkeypatch.setattr(auto_jit, "MIN_REMAINING_SECONDS", 0.0)
    monkeypatch.setattr(step_functions, "JIT_BACKEND", failing_backend)
    eager_model, eager_history = fit(jit_compile=False)
    with pytest.warns(UserWarning, match='`jit_compile="auto"`: compiling the train step'):
        model, history = fit(jit_compile="auto")
    assert model.__dict__["_auto_train_function"].failed
    for key in eager_history:
        np.testing.assert_allclose(history[key], eager_history[key], rtol=1e-5)
    for got, expected in zip(model.get_weights(), eager_model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
