"""`compile(jit_compile=True, steps_per_execution=N)`: a group of N batches is one compiled
call of N unrolled train steps (trainers/compiled_step.py).

The compiler backend is a pass-through that counts each graph's calls and the steps in
it (its `torch.autograd.grad` nodes); training is compared with the eager step run one
batch at a time.
"""

import numpy as np
import pytest
import torch
from dynamo_support import compiling_with, failing_backend

import lamina
from lamina.trainers import compiled_step
from lamina.trainers import step as step_functions

GRAPHS = []


class CountedGraph:
    def __init__(self, graph_module):
        self.graph_module = graph_module
        self.calls = 0
        self.steps = sum(node.target is torch.autograd.grad
                         for node in graph_module.graph.nodes)

    def __call__(self, *args):
        self.calls += 1
        return self.graph_module.forward(*args)


def counting_backend(graph_module, example_inputs):
    GRAPHS.append(CountedGraph(graph_module))
    return GRAPHS[-1]


@pytest.fixture(autouse=True)
def counting(monkeypatch):
    GRAPHS.clear()
    with compiling_with(monkeypatch, counting_backend):
        yield


class BatchEnds(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append((batch, {key: float(value) for key, value in logs.items()}))


def train(jit_compile, steps_per_execution, n=100, batch_size=8, epochs=2):
    """100 rows in batches of 8: 12 full batches and one of 4."""
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([
        lamina.Input((6,)),
        lamina.layers.Dense(8, activation="relu", kernel_regularizer="l2"),
        lamina.layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    batch_ends = BatchEnds()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[batch_ends]).history
    return model, history, batch_ends.ends


@pytest.fixture(scope="module")
def eager():
    return train(False, 1)


def assert_same_training(eager_run, compiled_run, steps=26):
    (model_a, history_a, _), (model_b, history_b, _) = eager_run, compiled_run
    for wa, wb in zip(model_a.weights, model_b.weights):
        np.testing.assert_allclose(wb.numpy(), wa.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=wa.path)
    assert history_a.keys() == history_b.keys() == {"loss", "mae"}
    for key in history_a:
        np.testing.assert_allclose(history_b[key], history_a[key], rtol=1e-5, err_msg=key)
    assert int(model_b.optimizer.iterations) == int(model_a.optimizer.iterations) == steps


def test_a_group_of_batches_is_one_compiled_call_and_trains_as_eagerly(eager):
    compiled = train(True, 4)
    assert_same_training(eager, compiled)
    function = compiled[0].make_train_function()
    assert not function.failed
    # Per epoch, 13 batches: three groups of 4, then the last batch (4 rows) alone. The
    # first epoch's first group builds the model, its second warms the step, eagerly;
    # the last batch of an epoch runs eagerly too (no one-step graph compiled for it).
    assert [(graph.steps, graph.calls) for graph in GRAPHS] == [(4, 1 + 3)]
    # The callbacks see each group once, with the logs eager training has after its last
    # batch (loss tracker and metrics after the same steps).
    eager_ends = dict(eager[2][:13]), dict(eager[2][13:])
    compiled_ends = compiled[2][:4], compiled[2][4:]
    for eager_epoch, compiled_epoch in zip(eager_ends, compiled_ends):
        assert [batch for batch, _ in compiled_epoch] == [3, 7, 11, 12]
        for batch, logs in compiled_epoch:
            assert logs.keys() == eager_epoch[batch].keys() == {"loss", "mae"}
            for key in logs:
                np.testing.assert_allclose(logs[key], eager_epoch[batch][key], rtol=1e-5,
                                           err_msg=f"{key} after batch {batch}")


def test_long_groups_run_in_calls_of_at_most_max_unroll_steps(monkeypatch, eager):
    monkeypatch.setattr(compiled_step, "MAX_UNROLL", 5)
    # Per epoch, one group of 12 batches, then the last batch alone. The first epoch
    # builds and warms eagerly; the second runs its group in calls of 5, 5 and 2 steps,
    # and its last batch eagerly.
    compiled = train(True, 12)
    assert_same_training(eager, compiled)
    assert [(graph.steps, graph.calls) for graph in GRAPHS] == [(5, 2), (2, 1)]


def test_short_groups_use_the_one_step_graph_until_a_full_group_compiled(eager):
    # 13 batches an epoch, groups of 20: every group is short, so nothing is unrolled
    # and the one-step graph runs them (epoch 1 builds the model, epoch 2 warms the
    # step, both eagerly; epoch 3 runs compiled)
    compiled = train(True, 20, epochs=3)
    assert_same_training(train(False, 1, epochs=3), compiled, steps=39)
    assert [graph.steps for graph in GRAPHS] == [1, 1]  # batch 8, then any batch size
    assert sum(graph.calls for graph in GRAPHS) == 13


def test_batches_of_mixed_shapes_run_one_step_per_call():
    # Groups of 13 batches, each one epoch: twelve of 8 rows and one of 4. The first two
    # epochs build and warm eagerly.
    compiled = train(True, 13, epochs=4)
    assert_same_training(train(False, 1, epochs=4), compiled, steps=52)
    assert [graph.steps for graph in GRAPHS] == [1, 1]  # batch 8, then any batch size
    assert sum(graph.calls for graph in GRAPHS) == 2 * 13
    assert not compiled[0].make_train_function().unrolled
    assert [batch for batch, _ in compiled[2]] == [12] * 4


def test_a_failing_compiler_falls_back_to_eager_for_the_rest_of_the_group(monkeypatch,
                                                                          eager):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", failing_backend)
    with pytest.warns(UserWarning, match="compiling the train step .* training continues"):
        compiled = train(True, 4)
    assert compiled[0].make_train_function().failed
    assert_same_training(eager, compiled)
