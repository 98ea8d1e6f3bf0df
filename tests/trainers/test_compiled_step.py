"""`jit_compile=True` compiles the whole train step (trainers/compiled_step.py).

The compiler backend is a counting pass-through (Dynamo tracing, no C compiler): the tests
check what is traced, how often, and that training matches the eager step.
"""

import warnings

import numpy as np
import pytest
import torch
from dynamo_support import GraphRecorder, compiling_with, failing_backend

import lamina
from lamina.trainers import compiled_step
from lamina.trainers import step as step_functions

GRAPHS = GraphRecorder()


@pytest.fixture(autouse=True)
def counting(monkeypatch):
    GRAPHS.clear()
    with compiling_with(monkeypatch, GRAPHS):
        yield


def data(n=72):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    return x, y, rng.random(n).astype("float32")


def train(jit_compile, optimizer="adam", epochs=2, steps_per_execution=1, freeze=False,
          sample_weight=False, **fit_kwargs):
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([
        lamina.Input((6,)),
        lamina.layers.Dense(8, activation="relu", kernel_regularizer="l2"),
        lamina.layers.BatchNormalization(),
        lamina.layers.Dense(2),
    ])
    model.compile(optimizer=lamina.optimizers.get(optimizer), loss="mse",
                  metrics=["mae"], jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    x, y, sw = data()
    kwargs = dict(batch_size=16, shuffle=False, verbose=0,
                  sample_weight=sw if sample_weight else None, **fit_kwargs)
    history = model.fit(x, y, epochs=epochs, **kwargs).history
    if freeze:
        model.layers[0].trainable = False
        history = model.fit(x, y, epochs=1, **kwargs).history
    return model, history


def assert_same_training(a, b):
    (model_a, history_a), (model_b, history_b) = a, b
    for wa, wb in zip(model_a.weights, model_b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=wa.path)
    assert history_a.keys() == history_b.keys()
    for key in history_a:
        np.testing.assert_allclose(history_a[key], history_b[key], rtol=1e-5, err_msg=key)
    np.testing.assert_array_equal(model_a.optimizer.iterations.numpy(),
                                  model_b.optimizer.iterations.numpy())


@pytest.fixture(scope="module")
def eager_adam():
    return train(False)


def test_whole_step_is_one_graph_per_batch_shape_and_matches_eager(eager_adam):
    compiled = train(True)
    function = compiled[0].make_train_function()
    assert isinstance(function, compiled_step._CompiledTrainFunction)
    assert not function.failed
    # 72 = 4 x 16 + 8: one graph for batch 16, one (dynamic batch) for the last batch of
    # 8; the second epoch compiles nothing. Each graph holds the backward and the update.
    assert len(GRAPHS) == 2
    ops = {str(node.target) for node in GRAPHS[0].graph.nodes}
    assert any("_foreach" in op for op in ops), "optimizer update not in the graph"
    assert_same_training(eager_adam, compiled)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_compiled_step_follows_each_optimizers_math(optimizer):
    assert_same_training(train(False, optimizer, epochs=1, sample_weight=True),
                         train(True, optimizer, epochs=1, sample_weight=True))


def test_steps_per_execution_and_frozen_weights_under_the_compiled_step():
    eager = train(False, epochs=1, steps_per_execution=2, freeze=True)
    compiled = train(True, epochs=1, steps_per_execution=2, freeze=True)
    assert_same_training(eager, compiled)
    assert not compiled[0].make_train_function().failed


def test_weights_created_elsewhere_do_not_recompile_the_step():
    model, _ = train(True, epochs=1)
    compiled = len(GRAPHS)
    # a weight created anywhere bumps the counter that cached weight lists follow
    lamina.layers.Dense(3).build((None, 2))
    x, y, _ = data()
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert len(GRAPHS) == compiled
    assert not model.make_train_function().failed


def test_a_failing_compiler_falls_back_to_eager_with_a_warning(monkeypatch, eager_adam):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", failing_backend)
    with pytest.warns(UserWarning, match="compiling the train step .* training continues"):
        compiled = train(True)
    assert compiled[0].make_train_function().failed
    assert_same_training(eager_adam, compiled)


def static_only_backend(graph_module, example_inputs):
    sizes = [size for value in example_inputs
             for size in (value.shape if isinstance(value, torch.Tensor) else [value])]
    if any(isinstance(size, torch.SymInt) for size in sizes):
        raise RuntimeError("no dynamic shapes here")
    return GRAPHS(graph_module, example_inputs)


def test_a_batch_shape_that_fails_to_compile_trains_eagerly_and_the_rest_stays_compiled(
        monkeypatch, eager_adam):
    # As Inductor failing to lower a convnet's dynamic-batch graph: the last batch of
    # each epoch (8 of 72 samples) takes the eager step, the full batches the graph.
    monkeypatch.setattr(step_functions, "JIT_BACKEND", static_only_backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = train(True, epochs=3)
    messages = [str(w.message) for w in caught if "jit_compile" in str(w.message)]
    assert len(messages) == 1 and "batches of shape [(8, 6), (8, 2)]" in messages[0]
    function = compiled[0].make_train_function()
    assert not function.failed and len(function.eager_shapes) == 1
    assert len(GRAPHS) == 1  # the full-batch graph, still in use
    assert_same_training(train(False, epochs=3), compiled)


def test_each_model_compiles_static_graphs_of_its_own(monkeypatch):
    # Dynamo remembers which input sizes changed per code location: sharing one, the
    # second model's graphs would come out dynamic in its other feature size
    dynamic = []

    def recording_backend(graph_module, example_inputs):
        dynamic.append(any(
            isinstance(size, torch.SymInt) for value in example_inputs
            for size in (value.shape if isinstance(value, torch.Tensor) else [value])))
        return graph_module.forward

    monkeypatch.setattr(step_functions, "JIT_BACKEND", recording_backend)
    layers = lamina.layers
    for shape, stack in (((6,), [layers.Dense(2)]),
                         ((5, 5, 2), [layers.Conv2D(3, 3), layers.Flatten(), layers.Dense(2)])):
        model = lamina.Sequential([lamina.Input(shape)] + stack)
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
        x, y = np.ones((64,) + shape, "float32"), np.ones((64, 2), "float32")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        model.predict(x, batch_size=16, verbose=0)
    assert dynamic == [False] * 4  # per model: the train step, then the forward


def test_custom_train_step_and_loss_scaling_keep_the_eager_step():
    class Custom(lamina.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    custom = Custom([lamina.Input((3,)), lamina.layers.Dense(1)])
    custom.compile(optimizer="sgd", loss="mse", jit_compile=True)
    scaled = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    scaled.compile(optimizer=lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD()),
                   loss="mse", jit_compile=True)
    plain = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    plain.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert not compiled_step.compiles_whole_step(custom)
    assert not compiled_step.compiles_whole_step(scaled)
    assert compiled_step.compiles_whole_step(plain)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        custom.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)
    assert not isinstance(custom.make_train_function(), compiled_step._CompiledTrainFunction)


def test_jit_compile_auto_and_false_stay_eager():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    for jit_compile in ("auto", False):
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
        assert not compiled_step.compiles_whole_step(model)
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)
    assert GRAPHS == [] and torch.compiler.is_compiling() is False


def test_dropout_and_activity_losses_train_as_eagerly():
    def run(jit_compile):
        lamina.utils.set_random_seed(3)
        model = lamina.Sequential([
            lamina.Input((6,)),
            lamina.layers.Dense(8, activation="relu", activity_regularizer="l2"),
            lamina.layers.Dropout(0.5),
            lamina.layers.Dense(2),
        ])
        model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
        x, y, _ = data(64)
        return model, model.fit(x, y, epochs=2, batch_size=16, shuffle=False,
                                verbose=0).history

    assert_same_training(run(False), run(True))
    assert len(GRAPHS) == 1  # every batch has 16 rows


def test_host_side_optimizer_schedules_keep_the_eager_step():
    for optimizer in (lamina.optimizers.SGD(gradient_accumulation_steps=2),
                      lamina.optimizers.Adam(use_ema=True)):
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
        assert not compiled_step.compiles_whole_step(model)


@pytest.mark.parametrize("direct", [True, False])
def test_autograd_ops_are_traced_only_inside_the_step(monkeypatch, direct):
    if not direct:  # a torch without the per-option ContextVar: config.patch instead
        monkeypatch.setattr(compiled_step, "_OVERRIDE", [None])
    with compiled_step._TracingAutogradOps():
        assert torch._dynamo.config.trace_autograd_ops is True
    assert torch._dynamo.config.trace_autograd_ops is False


def test_a_convnet_with_bound_ops_compiles_without_falling_back():
    """relu and softmax go through ops dispatchers generated at import (ops/operation.py);
    Dynamo must find their globals, or the step falls back to eager (as it once did)."""
    def run(jit_compile):
        lamina.utils.set_random_seed(5)
        model = lamina.Sequential([
            lamina.Input((8, 8, 1)),
            lamina.layers.Conv2D(4, 3, activation="relu"),
            lamina.layers.MaxPooling2D(),
            lamina.layers.Flatten(),
            lamina.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=jit_compile)
        rng = np.random.default_rng(1)
        x = rng.normal(size=(32, 8, 8, 1)).astype("float32")
        y = rng.integers(0, 3, 32)
        return model, model.fit(x, y, epochs=2, batch_size=16, shuffle=False,
                                verbose=0).history

    eager = run(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns
        compiled = run(True)
    assert not compiled[0].make_train_function().failed
    assert_same_training(eager, compiled)


def forward_fallback_warnings(caught):
    return [w for w in caught if "compiling the forward pass" in str(w.message)]


def test_a_failing_compiler_leaves_evaluate_and_predict_eager_with_one_warning(
        monkeypatch, eager_adam):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", failing_backend)
    with pytest.warns(UserWarning, match="compiling the train step"):
        model, _ = train(True)
    x, y, sw = data()
    eager_model = eager_adam[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0),
                   model.predict(x, batch_size=16, verbose=0),
                   model.evaluate(x, y, batch_size=32, verbose=0),
                   model.test_on_batch(x[:8], y[:8]),
                   model.predict_on_batch(x[:5])]
    (warning,) = forward_fallback_warnings(caught)
    assert len(caught) == 1
    message = str(warning.message)
    assert "model 'sequential" in message and "no compiler here" in message
    assert "evaluation and prediction continue eagerly" in message
    assert "`jit_compile=False`" in message
    assert warning.filename == __file__  # points at the caller of evaluate
    assert model.__dict__["_compiled_call_impl"] is None
    expected = [eager_model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0),
                eager_model.predict(x, batch_size=16, verbose=0),
                eager_model.evaluate(x, y, batch_size=32, verbose=0),
                eager_model.test_on_batch(x[:8], y[:8]),
                eager_model.predict_on_batch(x[:5])]
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_failing_forward_compile_runs_the_rest_of_a_group_of_batches_eagerly(monkeypatch):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", failing_backend)
    lamina.utils.set_random_seed(2)
    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert step_functions.compile_forward(model)
    x, _, _ = data(12)
    kernel, bias = (w.numpy() for w in model.layers[0].weights)
    batches = [(torch.from_numpy(x[i:i + 4]),) for i in range(0, 12, 4)]
    with pytest.warns(UserWarning, match="forward pass .* continue eagerly"):
        outputs = model.make_predict_function()(batches)
    assert len(outputs) == 3
    np.testing.assert_allclose(torch.cat(outputs).numpy(), x @ kernel + bias, rtol=1e-5,
                               atol=1e-6)


def test_an_error_of_the_step_itself_is_raised_as_eagerly_without_a_fallback():
    def model(jit_compile):
        built = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(3, name="d")])
        built.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
        assert step_functions.compile_forward(built)
        return built

    compiled = model(True)
    compiled_forward = compiled.__dict__["_compiled_call_impl"]
    assert compiled_forward is not None
    bad = np.ones((4, 5), "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns
        with pytest.raises(ValueError) as raised:
            compiled.predict(bad, verbose=0)
    with pytest.raises(ValueError) as raised_eagerly:
        model(False).predict(bad, verbose=0)
    assert str(raised.value) == str(raised_eagerly.value)
    assert "expected axis -1 of input shape to have value 6" in str(raised.value)
    assert raised.value.__suppress_context__  # the compiled attempt is not shown
    assert compiled.__dict__["_compiled_call_impl"] is compiled_forward
    torch._dynamo.utils.counters.clear()  # the traced bad call may break its graph
