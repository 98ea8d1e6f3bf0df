"""`compile(jit_compile=True)` compiles inference too, as Keras compiles its test and predict
functions: `evaluate`, `predict` and `predict_on_batch` on a model that never trained run
the compiled forward, with the results of the eager model."""

import numpy as np
import pytest
import torch
from dynamo_support import GraphRecorder, compiling_with

import lamina

GRAPHS = GraphRecorder()


@pytest.fixture(autouse=True)
def recording(monkeypatch):
    GRAPHS.clear()
    with compiling_with(monkeypatch, GRAPHS):
        yield


def _sequential(jit_compile):
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dropout(0.5), lamina.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 5)).astype("float32"), rng.normal(size=(32, 3)).astype("float32")


def test_inference_of_an_untrained_jit_model_runs_compiled_and_matches_eager():
    x, y = _data()
    model, eager = _sequential(True), _sequential(False)
    eager.set_weights(model.get_weights())
    got = [model.predict_on_batch(x[:4]), model.predict(x, batch_size=8, verbose=0),
           model.evaluate(x, y, batch_size=8, verbose=0)]
    assert GRAPHS, "inference did not go through the compiled forward"
    want = [eager.predict_on_batch(x[:4]), eager.predict(x, batch_size=8, verbose=0),
            eager.evaluate(x, y, batch_size=8, verbose=0)]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)  # Dropout off in both


@pytest.mark.parametrize("jit_compile", [False, "auto"])
def test_inference_stays_eager_without_jit_compile_true(jit_compile):
    x, y = _data()
    model = _sequential(jit_compile)
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict_on_batch(x)
    assert GRAPHS == []


class _Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.hidden = lamina.layers.Dense(8, activation="relu")
        self.drop = lamina.layers.Dropout(0.9)
        self.out = lamina.layers.Dense(3)

    def call(self, inputs, training=None):
        return self.out(self.drop(self.hidden(inputs), training=training))


def test_a_model_built_by_its_first_predict_compiles_at_the_next_in_inference_mode():
    # the first predict builds the model eagerly (a subclassed model builds on its first
    # batch, outside the compiler); the next one compiles, and predicts in inference mode
    # even with the module left in training mode: Dropout(0.9) stays off
    x, _ = _data()
    model = _Subclassed()
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    first = model.predict(x, batch_size=8, verbose=0)
    assert GRAPHS == []
    model.train()  # a module left in training mode by user code
    second = model.predict(x, batch_size=8, verbose=0)
    assert GRAPHS
    np.testing.assert_allclose(second, first, rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        expected = model.out(model.hidden(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(second, expected, rtol=1e-6, atol=1e-6)
