import callback_fakes
import numpy as np
import pytest
import torch
from callback_fakes import FakeModel, run_fit

from lamina import callbacks as cbks

# Shared fixtures (no conftest: its module name would clash across test folders).
clock = callback_fakes.clock
tty = callback_fakes.tty


class Recorder(cbks.Callback):
    """Records every hook call with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(name):  # noqa: N805 - builds methods
        def hook(self, *args, **kwargs):
            args = (*args, *kwargs.values())  # batch hooks get `logs=` by keyword (Keras)
            self.calls.append((name, *args[:-1], dict(args[-1]) if args[-1] else args[-1]))

        return hook

    for _name in (
        "on_train_begin on_train_end on_epoch_begin on_epoch_end on_train_batch_begin "
        "on_train_batch_end on_test_begin on_test_end on_test_batch_begin on_test_batch_end "
        "on_predict_begin on_predict_end on_predict_batch_begin on_predict_batch_end"
    ).split():
        locals()[_name] = _record(_name)
    del _name


def _float_logs(epoch, step=None):
    return {"loss": 1.0 / (epoch + 1), "accuracy": 0.5}


def test_hooks_are_called_in_keras_order_with_logs():
    recorder = Recorder()
    model = FakeModel()
    callbacks = cbks.CallbackList([recorder], model=model, epochs=2, steps=2, verbose=0)
    run_fit(callbacks, 2, 2, lambda e, s: {"loss": float(s)}, _float_logs, val_steps=1)
    names = [c[0] for c in recorder.calls]
    epoch_block = [
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
    ]
    assert names == ["on_train_begin", *epoch_block, *epoch_block, "on_train_end"]
    assert recorder.calls[5] == ("on_train_batch_end", 1, {"loss": 1.0})
    assert recorder.calls[10] == ("on_epoch_end", 0, {"accuracy": 0.5, "loss": 1.0})
    assert recorder.calls[9] == ("on_test_end", {"loss": 9.0})


def test_set_model_and_params_reach_every_callback():
    first, second = cbks.Callback(), cbks.Callback()
    model = FakeModel()
    callbacks = cbks.CallbackList([[first], second], model=model, verbose=1, epochs=3, steps=4)
    assert callbacks.callbacks == [first, second]
    for callback in (first, second):
        assert callback.model is model
        assert callback.params == {"verbose": 1, "epochs": 3, "steps": 4}
    assert callbacks.params == {"verbose": 1, "epochs": 3, "steps": 4}
    assert cbks.CallbackList().params == {}
    assert cbks.Callback().params is None and cbks.Callback().model is None


def test_model_property_has_no_setter():
    with pytest.raises(AttributeError):
        cbks.Callback().model = FakeModel()


def test_default_history_and_progbar_are_appended_once():
    callbacks = cbks.CallbackList(add_history=True, add_progbar=True)
    assert [type(c) for c in callbacks.callbacks] == [cbks.History, cbks.ProgbarLogger]
    history = cbks.History()
    logger = cbks.ProgbarLogger()
    callbacks = cbks.CallbackList([logger, history], add_history=True, add_progbar=True)
    assert callbacks.callbacks == [logger, history]


def test_model_history_is_the_history_callback():
    model = FakeModel()
    callbacks = cbks.CallbackList(add_history=True, model=model, verbose=0, epochs=2, steps=1)
    assert model.history is callbacks.callbacks[0]
    run_fit(callbacks, 2, 1, lambda e, s: {}, _float_logs)
    assert model.history.history == {"accuracy": [0.5, 0.5], "loss": [1.0, 0.5]}
    assert model.history.epoch == [0, 1]


def test_rejects_objects_that_are_not_callbacks():
    with pytest.raises(TypeError, match="expects `Callback` instances.*index 1.*int"):
        cbks.CallbackList([cbks.Callback(), 3])


def test_epoch_logs_become_sorted_python_floats():
    seen = {}
    callback = cbks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.update(logs=logs))
    callbacks = cbks.CallbackList([callback])
    callbacks.on_epoch_end(
        0,
        {
            "loss": torch.tensor(1.5),
            "acc": np.float32(0.5),
            "n": torch.tensor(3),
            "v": torch.tensor([1.0, 2.0]),
        },
    )
    logs = seen["logs"]
    assert list(logs) == ["acc", "loss", "n", "v"]
    assert logs["loss"] == 1.5 and type(logs["loss"]) is float
    assert type(logs["acc"]) is float and logs["n"] == 3.0 and type(logs["n"]) is float
    np.testing.assert_array_equal(logs["v"], [1.0, 2.0])


class CountingTensor(torch.Tensor):
    """A tensor that counts how often its value is read on the host."""

    reads = 0

    def item(self):
        CountingTensor.reads += 1
        return super().item()

    def __float__(self):
        CountingTensor.reads += 1
        return super().__float__()

    def __bool__(self):
        CountingTensor.reads += 1
        return super().__bool__()

    def tolist(self):
        CountingTensor.reads += 1
        return super().tolist()


def _counting(value):
    return torch.tensor(value).as_subclass(CountingTensor)


def _reads_over(num_batches, verbose, extra=(), tty_stream=None):
    CountingTensor.reads = 0
    model = FakeModel()
    callbacks = cbks.CallbackList(
        list(extra),
        add_history=True,
        add_progbar=True,
        model=model,
        verbose=verbose,
        epochs=2,
        steps=num_batches,
    )
    run_fit(
        callbacks,
        2,
        num_batches,
        lambda e, s: {"loss": _counting(1.0), "accuracy": _counting(0.5)},
        lambda e: {"loss": _counting(1.0), "accuracy": _counting(0.5)},
    )
    return CountingTensor.reads


@pytest.mark.parametrize("verbose", [0, 2])
def test_progbar_and_history_read_values_a_bounded_number_of_times(verbose, capsys):
    few, many = _reads_over(3, verbose), _reads_over(200, verbose)
    assert few == many
    assert many <= 2 * 3  # two values, read at each epoch end and at train end
    capsys.readouterr()


def test_piped_verbose_1_reads_values_only_at_epoch_end(capsys):
    assert _reads_over(3, 1) == _reads_over(200, 1) <= 6


def test_tty_verbose_1_reads_are_throttled_by_time(tty, clock):
    # No time passes between batches: only the first draw and the final line read.
    with tty:
        assert _reads_over(3, 1) == _reads_over(300, 1) <= 2 * 5  # + one draw per epoch
    assert "\r" in tty.getvalue()


def test_batch_hooks_nobody_overrides_are_skipped():
    callbacks = cbks.CallbackList([cbks.History(), cbks.EarlyStopping()], add_history=True)
    assert callbacks._active_batch_hooks == frozenset()
    callbacks.on_train_batch_end(0, {"loss": _counting(1.0)})  # no reads, no work
    with_logger = cbks.CallbackList(add_progbar=True)
    assert with_logger._active_batch_hooks == {
        "on_train_batch_end",
        "on_test_batch_end",
        "on_predict_batch_end",
    }


def test_user_batch_hook_gets_python_floats_materialized_once_per_batch():
    received = []

    class Reader(cbks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            received.append(logs)

    class OldStyle(cbks.Callback):
        def on_batch_end(self, batch, logs=None):
            received.append(logs)

    callbacks = cbks.CallbackList([Reader(), OldStyle()], add_progbar=True, verbose=2, steps=5)
    assert "on_train_batch_end" in callbacks._active_batch_hooks
    assert "on_test_batch_begin" not in callbacks._active_batch_hooks
    CountingTensor.reads = 0
    callbacks.on_train_batch_end(0, {"loss": _counting(2.0), "acc": _counting(1.0)})
    assert CountingTensor.reads == 1  # both values in one device-to-host copy
    assert received[0] is received[1] == {"acc": 1.0, "loss": 2.0}
    assert type(received[0]["loss"]) is float


def test_lambda_callback_batch_hooks_are_detected():
    seen = []
    callbacks = cbks.CallbackList(
        [
            cbks.LambdaCallback(
                on_train_batch_begin=lambda b, logs: seen.append(b),
                on_test_batch_end=lambda b, logs: seen.append(-b),
            )
        ]
    )
    assert callbacks._active_batch_hooks == {"on_train_batch_begin", "on_test_batch_end"}
    callbacks.on_train_batch_begin(4)
    callbacks.on_test_batch_end(2, {})
    callbacks.on_batch_begin(5)
    assert seen == [4, -2, 5]
