import numpy as np
import pytest
import torch
from callback_fakes import FakeMetric, FakeModel

from lamina import callbacks as cbks


def _run(stopper, values, model=None, monitor="val_loss"):
    """Feeds `values` as successive epochs; sets weights to the epoch index. Returns epochs run."""
    model = model or FakeModel()
    stopper.set_model(model)
    stopper.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        model.weights = [np.full(2, epoch, "float32")]
        stopper.on_epoch_end(epoch, {monitor: value})
        ran += 1
        if model.stop_training:
            break
    stopper.on_train_end()
    return ran, model


def test_stops_after_patience_epochs_without_improvement():
    ran, _ = _run(cbks.EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.7, 0.1])
    assert ran == 4


def test_min_delta_requires_a_large_enough_improvement():
    stopper = cbks.EarlyStopping(patience=1, min_delta=-0.1)  # sign is ignored
    assert stopper.min_delta == 0.1
    ran, _ = _run(stopper, [1.0, 0.95, 0.91, 0.5])
    # Keras' convention once the direction is known: `value - min_delta` must beat `best`.
    assert (ran, stopper.best, stopper.min_delta) == (2, 1.0, -0.1)
    stopper = cbks.EarlyStopping(monitor="acc", mode="max", patience=1, min_delta=-0.1)
    ran, _ = _run(stopper, [0.5, 0.65, 0.8, 0.85], monitor="acc")
    assert (ran, stopper.best, stopper.min_delta) == (4, 0.8, 0.1)


def test_nan_values_never_improve_but_a_first_nan_becomes_best():
    stopper = cbks.EarlyStopping(patience=2, restore_best_weights=True)
    ran, model = _run(stopper, [1.0, float("nan"), 0.5, float("nan"), float("nan"), 0.1])
    assert (ran, stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (5, 0.5, 2, 4)
    np.testing.assert_array_equal(model.weights[0], [2, 2])
    stopper = cbks.EarlyStopping(patience=2)
    ran, _ = _run(stopper, [float("nan"), 1.0, 0.5, 0.1])
    assert ran == 3 and np.isnan(stopper.best)


def test_mode_max_and_auto_direction_from_model_metrics():
    values = [0.5, 0.6, 0.55, 0.54]
    assert (
        _run(cbks.EarlyStopping(monitor="acc", mode="max", patience=1), values, monitor="acc")[0]
        == 3
    )
    model = FakeModel(metrics=[FakeMetric("accuracy", "up")])
    stopper = cbks.EarlyStopping(monitor="val_accuracy", patience=1)
    assert _run(stopper, values, model=model, monitor="val_accuracy")[0] == 3
    assert stopper.best == 0.6
    # With mode="auto" a loss is minimized: rising values stop it.
    assert _run(cbks.EarlyStopping(monitor="loss", patience=1), values, monitor="loss")[0] == 2


def test_auto_mode_nested_metric_container_and_unknown_metric():
    class Container:
        metrics = [FakeMetric("mae", "down")]

    model = FakeModel(metrics=[Container()])
    stopper = cbks.EarlyStopping(monitor="val_mae", patience=0)
    assert _run(stopper, [1.0, 2.0], model=model, monitor="val_mae")[0] == 2
    with pytest.raises(ValueError, match="monitor=val_f1.*mode='max'.*mode='min'"):
        _run(cbks.EarlyStopping(monitor="val_f1"), [1.0], monitor="val_f1")


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown"):
        stopper = cbks.EarlyStopping(mode="sideways")
    assert stopper.mode == "auto"


def test_missing_monitor_warns_with_available_names():
    stopper = cbks.EarlyStopping(monitor="val_loss")
    stopper.set_model(FakeModel())
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss,acc"):
        stopper.on_epoch_end(0, {"loss": 1.0, "acc": 0.5})


def test_restore_best_weights_when_baseline_is_never_beaten():
    # Keras: the best epoch of those run is restored although it missed the baseline.
    stopper = cbks.EarlyStopping(patience=2, baseline=0.1, restore_best_weights=True)
    ran, model = _run(stopper, [1.0, 0.9, 0.95, 0.97, 0.8])
    assert (ran, stopper.best, stopper.best_epoch, stopper.wait) == (3, 0.9, 1, 3)
    np.testing.assert_array_equal(model.weights[0], [1, 1])


def test_snapshot_is_a_copy_even_if_get_weights_shares_memory():
    class AliasingModel(FakeModel):
        def get_weights(self):
            return self.weights  # the live arrays, updated in place below

    model = AliasingModel()
    stopper = cbks.EarlyStopping(patience=1, restore_best_weights=True)
    stopper.set_model(model)
    stopper.on_train_begin()
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.8]):
        model.weights[0][...] = epoch
        stopper.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    stopper.on_train_end()
    assert (epoch, stopper.best_epoch) == (2, 1)
    np.testing.assert_array_equal(model.weights[0], [1, 1])


def test_baseline_must_be_beaten_to_reset_patience():
    # Never under the baseline: the counter is not reset by improvements, so the
    # first epoch without improvement stops (as in Keras, checks happen on those only).
    values = [1.0, 0.9, 0.95, 0.85]
    assert _run(cbks.EarlyStopping(patience=2, baseline=0.1), values)[0] == 3
    assert _run(cbks.EarlyStopping(patience=2, baseline=0.95), values)[0] == 4
    assert _run(cbks.EarlyStopping(patience=2), values)[0] == 4


def test_restore_best_weights_when_stopping_and_when_running_to_the_end(capsys):
    stopper = cbks.EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    ran, model = _run(stopper, [1.0, 0.2, 0.5, 0.6])
    assert ran == 3 and stopper.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0], [1, 1])
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )
    stopper = cbks.EarlyStopping(patience=10, restore_best_weights=True)
    ran, model = _run(stopper, [1.0, 0.2, 0.5, 0.6])
    assert ran == 4 and not model.stop_training
    np.testing.assert_array_equal(model.weights[0], [1, 1])


def test_start_from_epoch_skips_warmup_epochs():
    stopper = cbks.EarlyStopping(patience=0, start_from_epoch=2)
    ran, _ = _run(stopper, [1.0, 2.0, 3.0, 4.0])
    assert ran == 4 and stopper.best == 3.0
    assert _run(cbks.EarlyStopping(patience=0), [1.0, 2.0, 3.0])[0] == 2


def test_reads_tensor_values():
    stopper = cbks.EarlyStopping(patience=0)
    ran, _ = _run(stopper, [torch.tensor(1.0), torch.tensor(2.0)])
    assert ran == 2 and stopper.best == 1.0 and type(stopper.best) is float


def _fit_with_snapshots(values, epochs=None, **config):
    """A real `fit` where `val_score` follows `values`; returns (model, stopper, snapshots)."""
    import lamina

    snapshots = {}

    class Scripted(cbks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_score"] = values[epoch]
            snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    stopper = cbks.EarlyStopping(monitor="val_score", mode="min", restore_best_weights=True,
                                 **config)
    history = model.fit(x, x[:, :2] * 2.0, epochs=epochs or len(values), batch_size=4,
                        verbose=0, callbacks=[Scripted(), stopper])
    return model, stopper, snapshots, len(history.history["loss"])


def _assert_weights_are(model, snapshot):
    weights = model.get_weights()
    assert len(weights) == len(snapshot)
    for actual, expected in zip(weights, snapshot):
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize(
    "values, config, ran, best_epoch",
    [
        ([1.0, 0.5, 0.6, 0.7, 0.8], dict(patience=2), 4, 1),  # stops early
        ([1.0, 0.9, 0.8, 0.7], dict(patience=1), 4, 3),  # best is the last epoch
        ([1.0, 0.9, 0.95, 0.97, 0.8], dict(patience=2, baseline=0.1), 3, 1),  # never beaten
        ([0.1, 0.2, 0.5, 0.4, 0.45, 0.6], dict(patience=1, start_from_epoch=2), 5, 3),
    ],
)
def test_fit_restores_exactly_the_weights_of_the_best_epoch(values, config, ran, best_epoch):
    model, stopper, snapshots, epochs_run = _fit_with_snapshots(values, **config)
    assert (epochs_run, stopper.best_epoch) == (ran, best_epoch)
    _assert_weights_are(model, snapshots[best_epoch])
    if best_epoch != ran - 1:
        assert not np.array_equal(snapshots[best_epoch][0], snapshots[ran - 1][0])
