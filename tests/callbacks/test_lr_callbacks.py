import pytest
import torch
from callback_fakes import FakeMetric, FakeModel

from lamina import callbacks as cbks
from lamina.variables import Variable


def _plateau(reducer, values, monitor="val_loss", learning_rate=1.0, metrics=()):
    model = FakeModel(learning_rate=learning_rate, metrics=metrics)
    reducer.set_model(model)
    reducer.on_train_begin()
    rates, logs_seen = [], []
    for epoch, value in enumerate(values):
        logs = {monitor: value}
        reducer.on_epoch_end(epoch, logs)
        logs_seen.append(logs)
        rates.append(float(model.optimizer.learning_rate))
    return rates, logs_seen


def test_reduces_after_patience_and_logs_learning_rate():
    rates, logs = _plateau(
        cbks.ReduceLROnPlateau(factor=0.5, patience=2), [1.0, 1.0, 1.0, 1.0, 1.0]
    )
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert [entry["learning_rate"] for entry in logs] == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_cooldown_delays_counting_again():
    reducer = cbks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    rates, _ = _plateau(reducer, [1.0] * 6)
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]  # the cooldown epoch itself counts


def test_min_lr_is_a_floor():
    reducer = cbks.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)
    rates, _ = _plateau(reducer, [1.0] * 5)
    assert rates == [1.0, 0.1, 0.05, 0.05, 0.05]


def test_auto_mode_follows_metric_direction_and_min_delta_counts():
    rates, _ = _plateau(
        cbks.ReduceLROnPlateau(monitor="val_acc", factor=0.5, patience=1),
        [0.5, 0.6, 0.7, 0.65],
        monitor="val_acc",
        metrics=[FakeMetric("acc", "up")],
    )
    assert rates == [1.0, 1.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="ReduceLROnPlateau callback received monitor=val_acc"):
        _plateau(cbks.ReduceLROnPlateau(monitor="val_acc"), [0.5], monitor="val_acc")
    rates, _ = _plateau(
        cbks.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1), [1.0, 0.95, 0.8]
    )
    assert rates == [1.0, 0.5, 0.5]


def test_each_fit_starts_from_no_best_value():
    # Keras resets `best`, `wait` and the cooldown in `on_train_begin`: a reused
    # callback must not compare a new run's values with the previous run's best.
    reducer = cbks.ReduceLROnPlateau(factor=0.5, patience=1)
    first, _ = _plateau(reducer, [0.1, 0.2])
    assert (first, reducer.best) == ([1.0, 0.5], 0.1)
    second, _ = _plateau(reducer, [1.0, 0.9, 0.8])
    assert (second, reducer.best, reducer.wait) == ([1.0, 1.0, 1.0], 0.8, 0)


def test_min_delta_sign_follows_the_mode():
    for mode, monitor, values, stored in [("min", "val_loss", [1.0, 0.95, 0.8], -0.1),
                                          ("max", "val_acc", [0.5, 0.55, 0.7], 0.1)]:
        reducer = cbks.ReduceLROnPlateau(monitor=monitor, mode=mode, min_delta=-0.1,
                                         factor=0.5, patience=1)
        assert reducer.min_delta == 0.1  # the sign given is ignored
        rates, _ = _plateau(reducer, values, monitor=monitor)
        assert (rates, reducer.min_delta) == ([1.0, 0.5, 0.5], stored)


def test_sets_a_variable_learning_rate_in_place():
    reducer = cbks.ReduceLROnPlateau(factor=0.5, patience=1)
    model = FakeModel(learning_rate=Variable(1.0, name="learning_rate", trainable=False))
    variable = model.optimizer.learning_rate
    reducer.set_model(model)
    reducer.on_train_begin()
    for epoch in range(2):
        reducer.on_epoch_end(epoch, {"val_loss": torch.tensor(1.0)})
    assert model.optimizer.learning_rate is variable and float(variable) == 0.5


def test_bad_factor_and_missing_monitor():
    with pytest.raises(ValueError, match="factor >= 1.0. Received factor=1.5"):
        cbks.ReduceLROnPlateau(factor=1.5)
    reducer = cbks.ReduceLROnPlateau()
    reducer.set_model(FakeModel())
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss,learning_rate"):
        reducer.on_epoch_end(0, {"loss": 1.0})
    with pytest.warns(UserWarning, match="mode 'up' is unknown"):
        assert cbks.ReduceLROnPlateau(mode="up").mode == "auto"
    assert reducer.best is None


def test_scheduler_sets_rate_each_epoch_and_logs_it(capsys):
    scheduler = cbks.LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch else 0.8, verbose=1)
    model = FakeModel(learning_rate=0.1)
    callbacks = cbks.CallbackList([scheduler, cbks.History()], model=model)
    for epoch in range(3):
        callbacks.on_epoch_begin(epoch)
        callbacks.on_epoch_end(epoch, {"loss": 1.0})
    assert model.history.history["learning_rate"] == [0.8, 0.4, 0.2]
    assert capsys.readouterr().out.splitlines()[1] == (
        "Epoch 1: LearningRateScheduler setting learning rate to 0.8."
    )


def test_scheduler_accepts_one_argument_schedules_and_tensor_rates():
    model = FakeModel(learning_rate=torch.tensor(0.1))
    scheduler = cbks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    scheduler.set_model(model)
    scheduler.on_epoch_begin(2)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.03)


@pytest.mark.parametrize("schedule", [0.1, None, "cosine"])
def test_scheduler_refuses_a_schedule_that_is_not_callable(schedule):
    with pytest.raises(TypeError, match=r"expects a function `schedule\(epoch, lr\)`.*"
                                        f"Received: schedule={schedule!r} of type"):
        cbks.LearningRateScheduler(schedule)


def test_scheduler_rejects_non_float_output_and_missing_attribute():
    scheduler = cbks.LearningRateScheduler(lambda epoch, lr: 1)
    scheduler.set_model(FakeModel())
    with pytest.raises(ValueError, match="should be a float. Got: 1 of type int"):
        scheduler.on_epoch_begin(0)
    model = FakeModel()
    del model.optimizer.learning_rate
    scheduler.set_model(model)
    with pytest.raises(ValueError, match="`learning_rate` attribute"):
        scheduler.on_epoch_begin(0)
