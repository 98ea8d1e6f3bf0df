import contextlib

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.trainers import step as step_functions


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    w = np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")
    return x, x @ w + 0.1


def dense_model(units=1, inputs=4, activation=None):
    return lamina.Sequential([lamina.Input((inputs,)), layers.Dense(units, activation=activation)])


def test_fit_reduces_loss_and_returns_history():
    x, y = regression_data()
    model = dense_model()
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert model.history is history
    assert all(isinstance(v, float) for v in history.history["loss"])


def test_evaluate_returns_scalar_list_or_dict():
    x, y = regression_data()
    model = dense_model()
    model.compile("sgd", "mse")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile("sgd", "mse", metrics=["mae"])
    loss, mae = model.evaluate(x, y, verbose=0)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - y)), rtol=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": loss, "mae": mae})


def test_predict_returns_numpy_and_preserves_structure():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, {"a": layers.Dense(1)(inputs), "b": layers.Dense(2)(inputs)})
    out = model.predict(np.ones((70, 4), "float32"), batch_size=32, verbose=0)
    assert set(out) == {"a", "b"} and out["a"].shape == (70, 1) and out["b"].shape == (70, 2)
    assert isinstance(out["a"], np.ndarray)
    single = dense_model()
    assert isinstance(single.predict_on_batch(np.ones((3, 4), "float32")), np.ndarray)


def test_train_and_test_on_batch():
    x, y = regression_data(64)
    model = dense_model()
    model.compile(lamina.optimizers.SGD(0.1), "mse", metrics=["mae"])
    before = model.test_on_batch(x, y)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "mae"}
    assert model.test_on_batch(x, y)[0] < before[0]


def test_validation_split_and_validation_data():
    x, y = regression_data()
    model = dense_model()
    model.compile("adam", "mse")
    history = model.fit(x, y, validation_split=0.25, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "val_loss"}
    history = model.fit(x, y, validation_data=(x[:10], y[:10]), epochs=4, validation_freq=2,
                        verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_validation_split_takes_the_last_fraction():
    x = np.arange(10, dtype="float32").reshape(10, 1)
    y = np.zeros((10, 1), "float32")
    seen = []

    class Spy(lamina.layers.Layer):
        def call(self, inputs):
            seen.append(inputs.detach().clone())
            return inputs

    model = lamina.Sequential([lamina.Input((1,)), Spy()])
    model.compile("sgd", "mse")
    model.fit(x, y, validation_split=0.2, shuffle=False, epochs=1, verbose=0,
              batch_size=10)
    assert seen[-1].flatten().tolist() == [8.0, 9.0]


def test_sample_weight_and_class_weight_change_the_loss():
    x = np.ones((4, 1), "float32")
    y = np.array([[0.0], [1.0], [1.0], [1.0]], "float32")
    model = lamina.Sequential([lamina.Input((1,)), layers.Dense(
        1, kernel_initializer="zeros", bias_initializer="zeros")])
    model.compile("sgd", "mse")
    weighted = model.evaluate(x, y, sample_weight=np.array([1.0, 0.0, 0.0, 0.0]), verbose=0)
    assert weighted == pytest.approx(0.0)
    plain = model.evaluate(x, y, verbose=0)
    assert plain == pytest.approx(0.75)
    model.compile(lamina.optimizers.SGD(0.0), "binary_crossentropy")
    logs = model.fit(x, y, class_weight={0: 0.0, 1: 1.0}, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])


def test_accuracy_resolves_to_the_right_variant():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    cases = [
        (1, "sigmoid", np.random.default_rng(1).integers(0, 2, (32, 1)), "binary_crossentropy",
         "BinaryAccuracy"),
        (3, "softmax", np.random.default_rng(1).integers(0, 3, (32,)),
         "sparse_categorical_crossentropy", "SparseCategoricalAccuracy"),
        (3, "softmax", np.eye(3)[np.random.default_rng(1).integers(0, 3, 32)],
         "categorical_crossentropy", "CategoricalAccuracy"),
    ]
    for units, activation, y, loss, expected in cases:
        model = dense_model(units, activation=activation)
        model.compile("adam", loss, metrics=["accuracy"])
        history = model.fit(x, y, epochs=1, verbose=0)
        assert "accuracy" in history.history
        assert type(model._compile_metrics.metrics[0]).__name__ == expected


def test_multi_output_losses_metrics_and_names_follow_keras():
    inputs = lamina.Input((4,))
    a = layers.Dense(1, name="a")(inputs)
    b = layers.Dense(3, name="b")(inputs)
    model = lamina.Model(inputs, [a, b])
    model.compile("sgd", ["mse", "sparse_categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]], loss_weights=[1.0, 0.5])
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    ys = [np.zeros((64, 1), "float32"), np.random.default_rng(0).integers(0, 3, 64)]
    history = model.fit(x, ys, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "a_loss", "b_loss", "a_mae", "b_accuracy"}
    logs = model.evaluate(x, ys, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["a_loss"] + 0.5 * logs["b_loss"], rtol=1e-5)
    assert len(model.evaluate(x, ys, verbose=0)) == 5
    with pytest.raises(ValueError, match="do not correspond to any model output"):
        model.compile("sgd", {"a": "mse", "zzz": "mse"})
        model.fit(x, ys, epochs=1, verbose=0)


def test_dict_outputs_and_targets():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, {"a": layers.Dense(1)(inputs), "b": layers.Dense(1)(inputs)})
    model.compile("sgd", {"a": "mse", "b": "mae"})
    x = np.ones((16, 4), "float32")
    history = model.fit(x, {"a": np.zeros((16, 1)), "b": np.ones((16, 1))}, verbose=0)
    assert set(history.history) == {"loss", "a_loss", "b_loss"}


def test_fit_before_compile_and_bad_data_errors():
    model = dense_model()
    x, y = regression_data(10)
    with pytest.raises(ValueError, match="must call `compile"):
        model.fit(x, y)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="10.*9|9.*10"):
        model.fit(x, y[:9], verbose=0)

    def gen():
        while True:
            yield x, y

    with pytest.raises(ValueError, match="validation_split"):
        model.fit(gen(), validation_split=0.5, steps_per_epoch=2, verbose=0)


def test_generator_pydataset_and_dataloader_inputs():
    x, y = regression_data(64)
    model = dense_model()
    model.compile("sgd", "mse")

    def gen():
        for i in range(0, 64, 16):
            yield x[i:i + 16], y[i:i + 16]

    assert len(model.fit(gen(), epochs=1, verbose=0).history["loss"]) == 1

    class Data(lamina.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

    model.fit(Data(), epochs=2, verbose=0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16)
    model.fit(loader, epochs=1, verbose=0)
    assert model.predict(loader, verbose=0).shape == (64, 1)
    assert model.evaluate(loader, verbose=0) > 0


def test_torch_style_custom_train_step():
    class Custom(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.steps = 0

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data[0], data[1]
            self.steps += 1
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.zero_grad()
            loss.backward()
            grads = [v.value.grad for v in self.trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(grads, self.trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    x, y = regression_data(64)
    model = Custom()
    model.compile(lamina.optimizers.SGD(0.05), "mse")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert model.steps == 16
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_compute_loss_override_is_used():
    class Penalised(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            return super().compute_loss(x, y, y_pred, sample_weight, training) + 100.0

    x, y = regression_data(32)
    model = Penalised()
    model.compile("sgd", "mse")
    assert model.evaluate(x, y, verbose=0) > 100.0


def test_stop_training_from_a_callback():
    class StopAfterTwo(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = regression_data(32)
    model = dense_model()
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=10, callbacks=[StopAfterTwo()], verbose=0)
    assert len(history.epoch) == 2


def test_callback_hook_order_in_fit():
    calls = []

    class Recorder(lamina.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                def record(*args, **kwargs):
                    calls.append(name)
                return record
            return super().__getattribute__(name)

    x, y = regression_data(32)
    model = dense_model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), callbacks=[Recorder()],
              verbose=0)
    assert calls == [
        "on_train_begin", "on_epoch_begin",
        "on_train_batch_begin", "on_train_batch_end",
        "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
        "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end", "on_train_end",
    ]


def test_metrics_and_metrics_names_like_keras():
    model = dense_model()
    model.compile("sgd", "mse", metrics=["mae"])
    assert model.metrics_names == ["loss", "compile_metrics"]
    x, y = regression_data(32)
    model.fit(x, y, verbose=0)
    model.reset_metrics()
    assert float(model.metrics[0].result()) == 0.0


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_a_fit_epoch_with_metrics_reads_nothing_from_the_device_per_step(
        no_host_reads, steps_per_execution):
    """From the epoch's start to its last batch (data, forward, loss, backward, update,
    metrics) nothing waits for the device; the epoch's logs are read once, after."""
    x, y = regression_data(256)
    model = dense_model(1)
    model.compile("adam", "mse", metrics=["mae", "mse"],
                  steps_per_execution=steps_per_execution)
    model.fit(x[:32], y[:32], verbose=0)  # build, and route the metrics
    last_batch = 256 // 32 - 1
    guarded = []

    with contextlib.ExitStack() as guard:
        class GuardTheSteps(lamina.callbacks.Callback):
            _accepts_tensor_logs = True  # takes the step's logs unread

            def on_epoch_begin(self, epoch, logs=None):
                guard.enter_context(no_host_reads())

            def on_train_batch_end(self, batch, logs=None):
                guarded.append(batch)
                if batch == last_batch:
                    guard.close()

        history = model.fit(x, y, batch_size=32, epochs=2, shuffle=True, verbose=0,
                            callbacks=[GuardTheSteps()])
    assert guarded[-1] == last_batch and len(guarded) == 2 * 8 // steps_per_execution
    assert set(history.history) == {"loss", "mae", "mse"}
    assert np.isfinite(history.history["loss"]).all()


def test_jit_compile_true_compiles_the_model_and_matches_eager(monkeypatch):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", "eager")  # Dynamo tracing, no C compiler
    x, y = regression_data(64)
    results = []
    for jit in (False, True):
        lamina.utils.set_random_seed(0)
        model = dense_model()
        model.compile(lamina.optimizers.SGD(0.05), "mse", jit_compile=jit)
        results.append(model.fit(x, y, epochs=2, batch_size=16, shuffle=False,
                                 verbose=0).history["loss"])
        assert (model._compiled_call_impl is not None) == jit
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_steps_per_execution_groups_batches():
    x, y = regression_data(64)
    seen = []

    class Count(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = dense_model()
    model.compile(lamina.optimizers.SGD(0.05), "mse", steps_per_execution=2)
    history = model.fit(x, y, batch_size=16, epochs=1, callbacks=[Count()], verbose=0)
    assert seen == [1, 3]
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile("sgd", "mse", steps_per_execution=0)


def test_compiling_again_without_loss_or_metrics_keeps_them():
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, lamina.layers.Dense(3)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.compile(optimizer="sgd")  # as in Keras: a new optimizer, the same loss and metrics
    history = model.fit(np.ones((4, 3), "float32"), np.ones((4, 3), "float32"), verbose=0)
    assert model.loss == "mse" and type(model.optimizer).__name__ == "SGD"
    assert list(history.history) == ["loss", "mae"]
    model.compile(optimizer="sgd", loss="mae")
    assert model.loss == "mae"


def test_loss_dict_naming_only_some_outputs_trains_those_outputs():
    # Keras 3 refuses this at fit ("Expected keys ... in loss dict"); lamina trains the
    # named output and leaves the other alone (README: "More accepted input").
    inputs = lamina.Input((3,))
    a = lamina.layers.Dense(1, name="a")(inputs)
    b = lamina.layers.Dense(1, name="b")(inputs)
    model = lamina.Model(inputs, {"a": a, "b": b})
    model.compile(optimizer="sgd", loss={"a": "mse"})
    b_kernel = model.get_layer("b").kernel.detach().clone()
    x = np.ones((8, 3), "float32")
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['b/kernel'"):
        history = model.fit(x, {"a": np.zeros((8, 1)), "b": np.zeros((8, 1))}, verbose=0)
    assert list(history.history) == ["loss"]
    assert torch.equal(model.get_layer("b").kernel, b_kernel)
