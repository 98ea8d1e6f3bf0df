"""The one training-flag rule (backend/context.py), end to end through the public API.

fit/train_on_batch run every layer in training mode, evaluate/predict/*_on_batch/model(x)
in inference mode, whatever a layer's own `training` default, in every model style; an
explicit `training=` wins for its call and its children; the flag is per thread.
"""

import threading

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.trainers import step as step_functions


class Spy(layers.Layer):
    """Records the `training` value it receives; its default is False, like Dropout's."""

    def __init__(self, log, **kwargs):
        super().__init__(**kwargs)
        self.__dict__["log"] = log  # the test's own list, not tracked layer state

    def call(self, x, training=False):
        self.log.append(training)
        return x


class Holder(layers.Layer):
    """A layer that calls its sublayer without forwarding `training`."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x)


def sequential(log):
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3), Spy(log)])


def functional(log):
    inputs = lamina.Input((4,))
    return lamina.Model(inputs, Spy(log)(layers.Dense(3)(inputs)))


def subclassed(log):
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)
            self.spy = Spy(log)

        def call(self, x):
            return self.spy(self.dense(x))

    return Net()


def nested(log):
    inner = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), Spy(log)])
    inputs = lamina.Input((4,))
    return lamina.Model(inputs, layers.Dense(2)(inner(inputs)))


def unforwarded(log):
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3), Holder(Spy(log))])


def time_distributed(log):
    return lamina.Sequential([lamina.Input((2, 4)), layers.TimeDistributed(Spy(log)),
                              layers.Flatten(), layers.Dense(3)])


STYLES = [sequential, functional, subclassed, nested, unforwarded, time_distributed]


def data(style, n=8):
    rng = np.random.default_rng(0)
    shape = (n, 2, 4) if style is time_distributed else (n, 4)
    x = rng.random(shape, dtype=np.float32)
    y = rng.random((n, 2 if style is nested else 3), dtype=np.float32)
    return x, y


@pytest.mark.parametrize("style", STYLES, ids=lambda f: f.__name__)
def test_spy_sees_training_in_fit_and_inference_elsewhere(style):
    log = []
    model = style(log)
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(style)
    log.clear()  # symbolic calls while the model was built
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert log and all(flag is True for flag in log)
    for run in (lambda: model.predict(x, batch_size=4, verbose=0),
                lambda: model.evaluate(x, y, batch_size=4, verbose=0),
                lambda: model(x),
                lambda: model.test_on_batch(x, y),
                lambda: model.predict_on_batch(x)):
        log.clear()
        run()
        assert log and all(flag is False for flag in log)
    log.clear()
    model.train_on_batch(x, y)
    assert log and all(flag is True for flag in log)


@pytest.mark.parametrize("style", [sequential, subclassed], ids=lambda f: f.__name__)
def test_spy_sees_training_in_fit_with_jit_compile(style, monkeypatch):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", "eager")
    log = []
    model = style(log)
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    x, y = data(style)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert log[-1] is True
    log.clear()
    model.predict(x, verbose=0)
    assert log[-1] is False


def test_explicit_argument_wins_for_its_call_and_children():
    log = []
    model = unforwarded(log)
    x, _ = data(unforwarded)
    log.clear()
    model(x, training=True)
    assert log == [True]
    log.clear()
    with lamina.backend.context.training_scope(True):  # e.g. inside a train step
        model(x, training=False)
    assert log == [False]


def test_custom_train_step_calling_self_with_training_true():
    log = []

    class Custom(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.spy = Spy(log)

        def call(self, x, training=None):
            return self.dense(self.spy(x))

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.zero_grad()
            loss.backward()
            self.optimizer.apply([v.value.grad for v in self.trainable_weights],
                                 self.trainable_weights)
            return {"loss": loss.detach()}

    model = Custom()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert log and all(flag is True for flag in log)


def test_custom_train_step_calling_self_without_training_still_trains():
    log = []

    class Plain(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.spy = Spy(log)

        def call(self, x):
            return self.dense(self.spy(x))

        def train_step(self, data):
            x, y = data
            loss = self.compute_loss(y=y, y_pred=self(x))  # no `training`: the fit scope
            self._loss_tracker.update_state(loss)
            return {"loss": self._loss_tracker.result()}

    model = Plain()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert log and all(flag is True for flag in log)
    log.clear()
    model(np.ones((2, 3), "float32"))  # outside a step: inference
    assert log == [False]


def test_heavy_dropout_makes_training_loss_differ_from_evaluate():
    torch.manual_seed(1)
    model = lamina.Sequential([lamina.Input((8,)), layers.Dense(16), layers.Dropout(0.9),
                               layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    y = np.zeros((64, 1), "float32")
    fit_loss = model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    eval_loss = model.evaluate(x, y, batch_size=64, verbose=0)
    # learning rate 0: the weights are the same, only Dropout differs
    assert abs(fit_loss.history["loss"][0] - eval_loss) > 0.1 * eval_loss
    assert model.evaluate(x, y, batch_size=64, verbose=0) == eval_loss  # inference is exact


@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_dropout_is_active_in_fit_only(rnn):
    model = lamina.Sequential([
        lamina.Input((5, 3)),
        getattr(layers, rnn)(4, dropout=0.8, recurrent_dropout=0.8),
        layers.Dense(1),
    ])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.random.default_rng(0).random((32, 5, 3), dtype=np.float32)
    y = np.ones((32, 1), "float32")
    fit_loss = model.fit(x, y, batch_size=32, verbose=0).history["loss"][0]
    eval_loss = model.evaluate(x, y, batch_size=32, verbose=0)
    assert fit_loss != pytest.approx(eval_loss, rel=1e-3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bidirectional_and_attention_dropout_follow_fit():
    inputs = lamina.Input((5, 4))
    seq = layers.Bidirectional(layers.LSTM(3, return_sequences=True, dropout=0.9))(inputs)
    att = layers.Attention(dropout=0.9)([seq, seq])
    outputs = layers.Dense(1)(layers.GlobalAveragePooling1D()(att))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.random.default_rng(0).random((16, 5, 4), dtype=np.float32)
    y = np.ones((16, 1), "float32")
    fit_loss = model.fit(x, y, batch_size=16, verbose=0).history["loss"][0]
    assert fit_loss != pytest.approx(model.evaluate(x, y, batch_size=16, verbose=0), rel=1e-4)


def test_model_train_and_eval_switch_every_layer_in_a_plain_torch_loop():
    model = lamina.Sequential([lamina.Input((6,)), layers.Dropout(0.5), layers.GaussianNoise(1.0)])
    x = torch.ones(4, 6)
    model.train()
    assert not torch.equal(model(x), x)
    model.eval()
    assert torch.equal(model(x), x)


def test_fit_leaves_the_model_in_the_mode_it_found():
    log = []
    model = sequential(log)
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(sequential)
    for mode in (False, True):
        model.train(mode)
        model.fit(x, y, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x, verbose=0)
        assert model.training is mode
        assert all(layer.training is mode for layer in model.layers)


def test_wrapped_torch_modules_follow_the_flag():
    model = lamina.Sequential([lamina.Input((6,)),
                               layers.TorchModuleWrapper(torch.nn.Dropout(0.5)),
                               layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.ones((64, 6), "float32")
    y = np.zeros((64, 1), "float32")
    fit_loss = model.fit(x, y, batch_size=64, verbose=0).history["loss"][0]
    eval_loss = model.evaluate(x, y, batch_size=64, verbose=0)
    assert fit_loss != pytest.approx(eval_loss, rel=1e-4)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_fit_in_one_thread_and_predict_in_another_see_their_own_mode():
    fit_log, other_log = [], []
    trainer_thread = None

    class ThreadSpy(layers.Layer):
        def call(self, x, training=False):
            log = fit_log if threading.current_thread() is trainer_thread else other_log
            log.append(training)
            return x

    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), ThreadSpy()])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((256, 4), "float32")
    y = np.ones((256, 3), "float32")
    trainer_thread = threading.Thread(
        target=lambda: model.fit(x, y, batch_size=2, epochs=2, verbose=0))
    trainer_thread.start()
    while trainer_thread.is_alive():
        model.predict(x[:8], batch_size=4, verbose=0)
        model(x[:2])
    trainer_thread.join()
    assert fit_log and all(flag is True for flag in fit_log)
    assert other_log and all(flag is False for flag in other_log)
    assert model.training is False


def test_history_under_autocast_carries_each_epochs_values():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse",
                  metrics=["mae"])
    x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False)
        final = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    losses = history.history["loss"]
    assert len(set(losses)) == 4 and losses[-1] < losses[0]
    assert len(set(history.history["mae"])) == 4
    # the logged loss is the loss of the weights as they train, not of the first step's
    assert final["loss"] < losses[0]


def test_unset_flag_leaves_each_sublayer_its_own_default():
    # Keras: a model called without `training` passes nothing down, so RandomFlip (default
    # training=True) augments and Dropout (default False) does not.
    model = lamina.Sequential([lamina.Input((4, 4, 1)), layers.RandomFlip(seed=1),
                               layers.Dropout(0.9)])
    x = np.repeat(np.arange(16.0, dtype="float32").reshape(1, 4, 4, 1), 16, axis=0)
    out = model(x).numpy()
    mirrored = (out == x[:, :, ::-1]) | (out == x[:, ::-1]) | (out == x[:, ::-1, ::-1])
    assert not np.array_equal(out, x) and mirrored.reshape(16, -1).all(axis=1).any()
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)
