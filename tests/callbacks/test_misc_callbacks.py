import numpy as np
import pytest
import torch
from callback_fakes import FakeModel

from lamina import callbacks as cbks
from lamina.variables import Variable


def _write_csv(path, epochs_logs, **kwargs):
    logger = cbks.CSVLogger(path, **kwargs)
    logger.set_model(FakeModel())
    logger.on_train_begin()
    for epoch, logs in enumerate(epochs_logs):
        logger.on_epoch_end(epoch, dict(logs))
    logger.on_train_end()
    with open(path, newline="") as f:
        return f.read()


def test_csv_logger_writes_sorted_header_and_rows(tmp_path):
    text = _write_csv(tmp_path / "log.csv", [{"loss": 0.5, "acc": 0.25, "val_loss": 0.75}])
    assert text == "epoch,acc,loss,val_loss\r\n0,0.25,0.5,0.75\r\n"


def test_csv_logger_adds_val_columns_and_na_when_missing(tmp_path):
    text = _write_csv(
        tmp_path / "log.csv", [{"loss": 1.0}, {"loss": 0.5, "val_loss": 2.0}], separator=";"
    )
    assert text.splitlines() == ["epoch;loss;val_loss", "0;1.0;NA", "1;0.5;2.0"]


def test_csv_logger_append_keeps_one_header(tmp_path):
    path = tmp_path / "log.csv"
    _write_csv(path, [{"loss": 1.0}])
    text = _write_csv(path, [{"loss": 0.5}], append=True)
    assert text.splitlines() == ["epoch,loss,val_loss", "0,1.0,NA", "0,0.5,NA"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _write_csv(empty, [{"loss": 2.0}], append=True).splitlines()[0] == "epoch,loss,val_loss"
    # Without append an existing file is replaced.
    assert _write_csv(path, [{"loss": 3.0}]).splitlines() == ["epoch,loss,val_loss", "0,3.0,NA"]


def test_csv_logger_formats_arrays_as_quoted_lists(tmp_path):
    text = _write_csv(tmp_path / "log.csv", [{"v": np.array([1.0, 2.0]), "val_v": "txt"}])
    assert text.splitlines()[1] == '0,"""[1.0, 2.0]""",txt'


def test_lambda_callback_binds_named_and_extra_hooks():
    calls = []
    callback = cbks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch, logs["loss"])),
        on_test_end=lambda logs: calls.append("test_end"),
    )
    callbacks = cbks.CallbackList([callback])
    callbacks.on_train_begin()
    callbacks.on_epoch_end(1, {"loss": torch.tensor(0.5)})
    callbacks.on_test_end()
    callbacks.on_epoch_begin(2)  # not given: does nothing
    assert calls == ["begin", ("epoch", 1, 0.5), "test_end"]


@pytest.mark.parametrize("loss", [float("nan"), float("inf"), torch.tensor(float("nan"))])
def test_terminate_on_nan_stops_training(loss, capsys):
    model = FakeModel()
    callbacks = cbks.CallbackList([cbks.TerminateOnNaN()], model=model)
    callbacks.on_train_batch_end(0, {"loss": torch.tensor(1.0)})
    assert not model.stop_training
    callbacks.on_train_batch_end(7, {"loss": loss})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 7: Invalid loss, terminating training\n"


def test_terminate_on_nan_can_raise():
    callback = cbks.TerminateOnNaN(raise_error=True)
    callback.set_model(FakeModel())
    with pytest.raises(
        RuntimeError, match="NaN or Inf loss encountered at batch 2. Loss value: inf"
    ):
        callback.on_batch_end(2, {"loss": torch.tensor(float("inf"))})
    callback.on_batch_end(3, {"accuracy": float("nan")})  # no loss: nothing to check


class _EmaOptimizer:
    use_ema = True

    def __init__(self, averages):
        self._model_variables_moving_average = averages


class _EmaModel(FakeModel):
    def __init__(self):
        super().__init__()
        self.trainable_variables = [Variable([1.0, 1.0]), Variable([3.0])]
        self.optimizer = _EmaOptimizer(
            [Variable([5.0, 5.0], trainable=False), Variable([7.0], trainable=False)]
        )


def _values(variables):
    return [v.detach().tolist() for v in variables]


def test_swap_ema_weights_around_evaluation_and_prediction():
    model = _EmaModel()
    callback = cbks.SwapEMAWeights()
    callback.set_model(model)
    callback.on_test_begin()
    assert _values(model.trainable_variables) == [[5.0, 5.0], [7.0]]
    assert _values(model.optimizer._model_variables_moving_average) == [[1.0, 1.0], [3.0]]
    callback.on_test_end()
    assert _values(model.trainable_variables) == [[1.0, 1.0], [3.0]]
    callback.on_predict_begin()
    assert _values(model.trainable_variables) == [[5.0, 5.0], [7.0]]
    callback.on_predict_end()
    assert _values(model.optimizer._model_variables_moving_average) == [[5.0, 5.0], [7.0]]


def test_swap_ema_weights_on_epoch_keeps_ema_after_last_epoch():
    model = _EmaModel()
    callback = cbks.SwapEMAWeights(swap_on_epoch=True)
    callback.set_model(model)
    callback.set_params({"epochs": 2, "steps": 1, "verbose": 0})
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0)
    assert _values(model.trainable_variables) == [[5.0, 5.0], [7.0]]
    callback.on_test_begin()  # EMA weights already in place: no second swap
    callback.on_test_end()
    assert _values(model.trainable_variables) == [[1.0, 1.0], [3.0]]
    callback.on_epoch_begin(1)
    callback.on_epoch_end(1)
    # Last epoch: the model holds EMA values and the averages match it, so the
    # optimizer's final copy of averages into the model keeps them.
    assert _values(model.trainable_variables) == [[5.0, 5.0], [7.0]]
    assert _values(model.optimizer._model_variables_moving_average) == [[5.0, 5.0], [7.0]]


def test_swap_ema_weights_requires_an_ema_optimizer():
    model = FakeModel()
    model.trainable_variables = []
    model.optimizer.use_ema = False
    callback = cbks.SwapEMAWeights()
    callback.set_model(model)
    with pytest.raises(ValueError, match="use_ema=True.*Received: use_ema=False"):
        callback.on_test_begin()
    model = _EmaModel()
    model.trainable_variables = model.trainable_variables[:1]
    callback.set_model(model)
    with pytest.raises(ValueError, match="2 moving averages but the model has 1"):
        callback.on_test_begin()


def test_history_keeps_values_across_fits_and_resets_epochs():
    model = FakeModel()
    history = cbks.History()
    callbacks = cbks.CallbackList([history], model=model)
    for _ in range(2):
        callbacks.on_train_begin()
        callbacks.on_epoch_end(0, {"loss": torch.tensor(0.5)})
    assert history.history == {"loss": [0.5, 0.5]} and history.epoch == [0]
    assert model.history is history
