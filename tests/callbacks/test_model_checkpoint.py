"""`ModelCheckpoint`: filepath templates, best-only logic, batch-level saving, errors."""

from collections.abc import Mapping

import numpy as np
import pytest

import lamina
from lamina.callbacks.model_checkpoint import ModelCheckpoint


class RecordingModel:
    """Records `save`/`save_weights` calls instead of writing files."""

    def __init__(self):
        self.saved = []
        self.metrics = []

    def save(self, filepath, overwrite=True):
        self.saved.append(("save", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("save_weights", filepath))


class ExplodingLogs(Mapping):
    """Batch logs that fail if anything reads them (a read would sync the device)."""

    def __getitem__(self, key):
        raise AssertionError("logs were read on a batch that does not save")

    def __iter__(self):
        raise AssertionError("logs were read on a batch that does not save")

    def __len__(self):
        raise AssertionError("logs were read on a batch that does not save")


def _checkpoint(filepath="m-{epoch}.keras", **kwargs):
    checkpoint = ModelCheckpoint(filepath, **kwargs)
    model = RecordingModel()
    checkpoint.set_model(model)
    return checkpoint, model


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_template_uses_one_based_epoch_and_formatted_logs(tmp_path):
    x, y = _data()
    model = _model()
    checkpoint = ModelCheckpoint(tmp_path / "w-{epoch:02d}-{val_loss:.2f}.weights.h5",
                                 save_weights_only=True)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_data=(x[:16], y[:16]),
                        verbose=0, callbacks=[checkpoint], shuffle=False)
    expected = {f"w-{e + 1:02d}-{v:.2f}.weights.h5"
                for e, v in enumerate(history.history["val_loss"])}
    assert {p.name for p in tmp_path.iterdir()} == expected
    # The last file holds the final weights.
    last = tmp_path / f"w-03-{history.history['val_loss'][-1]:.2f}.weights.h5"
    fresh = _model()
    fresh.load_weights(last)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_full_model_checkpoint_loads_back(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
              callbacks=[ModelCheckpoint(tmp_path / "sub" / "model.keras", monitor="loss")])
    loaded = lamina.models.load_model(tmp_path / "sub" / "model.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


@pytest.mark.parametrize(
    "mode, monitor, values, saved_epochs",
    [("auto", "val_loss", [0.5, 0.7, 0.4, 0.4], [1, 3]),
     ("min", "val_acc", [0.5, 0.7, 0.4, 0.4], [1, 3]),
     ("max", "val_acc", [0.5, 0.7, 0.4, 0.8], [1, 2, 4])],
)
def test_save_best_only_keeps_strict_improvements(mode, monitor, values, saved_epochs):
    checkpoint, model = _checkpoint(monitor=monitor, mode=mode, save_best_only=True)
    for epoch, value in enumerate(values):
        checkpoint.on_epoch_begin(epoch)
        checkpoint.on_epoch_end(epoch, {monitor: value})
    assert model.saved == [("save", f"m-{e}.keras") for e in saved_epochs]
    assert checkpoint.best == (max if mode == "max" else min)(values)


def test_auto_mode_follows_metric_direction():
    checkpoint, model = _checkpoint(monitor="val_accuracy", save_best_only=True)
    model.metrics = [lamina.metrics.BinaryAccuracy(name="accuracy")]
    for epoch, value in enumerate([0.5, 0.4, 0.9]):
        checkpoint.on_epoch_end(epoch, {"val_accuracy": value})
    assert [p for _, p in model.saved] == ["m-1.keras", "m-3.keras"]


def test_nan_never_improves_on_the_best_value():
    checkpoint, model = _checkpoint(monitor="val_loss", save_best_only=True)
    for epoch, value in enumerate([0.5, float("nan"), 0.4, float("nan")]):
        checkpoint.on_epoch_end(epoch, {"val_loss": value})
    assert [p for _, p in model.saved] == ["m-1.keras", "m-3.keras"]
    assert checkpoint.best == 0.4


def test_fit_keeps_the_weights_of_the_best_epoch_in_one_file(tmp_path):
    values = [0.5, 0.3, 0.4, 0.35, 0.6]
    snapshots = {}

    class Scripted(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_score"] = values[epoch]
            snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    path = tmp_path / "best.weights.h5"
    checkpoint = ModelCheckpoint(path, monitor="val_score", mode="min", save_best_only=True,
                                 save_weights_only=True)
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=len(values), batch_size=16, verbose=0,
              callbacks=[Scripted(), checkpoint])
    assert checkpoint.best == 0.3
    model.load_weights(path)
    for actual, expected in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(actual, expected)
    assert not np.array_equal(snapshots[1][0], snapshots[4][0])


def test_auto_mode_refuses_unknown_metric():
    checkpoint, _ = _checkpoint(monitor="val_thing", save_best_only=True)
    with pytest.raises(ValueError, match="monitor=val_thing.*mode='max'"):
        checkpoint.on_epoch_end(0, {"val_thing": 1.0})


def test_initial_value_threshold_must_be_beaten():
    checkpoint, model = _checkpoint(save_best_only=True, initial_value_threshold=0.3)
    for epoch, value in enumerate([0.5, 0.3, 0.2]):
        checkpoint.on_epoch_end(epoch, {"val_loss": value})
    assert [p for _, p in model.saved] == ["m-3.keras"]


def test_missing_monitor_warns_and_saves():
    checkpoint, model = _checkpoint(save_best_only=True)
    with pytest.warns(UserWarning, match="only with val_loss available"):
        checkpoint.on_epoch_end(0, {"loss": 1.0})
    assert len(model.saved) == 1


def test_integer_save_freq_counts_batches_across_epochs_and_reads_logs_only_to_save():
    checkpoint, model = _checkpoint("w-{epoch}-{batch}-{loss:.1f}.weights.h5",
                                    save_weights_only=True, save_freq=3)
    for epoch in range(2):
        checkpoint.on_epoch_begin(epoch)
        for batch in range(4):
            saving = (epoch, batch) in ((0, 2), (1, 1))
            logs = {"loss": np.float32(batch / 10)} if saving else ExplodingLogs()
            checkpoint.on_train_batch_end(batch, logs)
        checkpoint.on_epoch_end(epoch, {"loss": 1.0})
    assert model.saved == [("save_weights", "w-1-3-0.2.weights.h5"),
                           ("save_weights", "w-2-2-0.1.weights.h5")]


def test_integer_save_freq_in_fit_writes_expected_files(tmp_path):
    x, y = _data()
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}-{batch}.keras", monitor="loss",
                                 save_freq=3)
    _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1-3.keras", "2-2.keras"]


def test_verbose_messages(capsys):
    checkpoint, _ = _checkpoint(save_best_only=True, verbose=1)
    checkpoint.on_epoch_end(0, {"val_loss": 0.5})
    checkpoint.on_epoch_end(1, {"val_loss": 0.6})
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 0.50000, saving model to m-1.keras" in out
    assert "Epoch 1: finished saving model to m-1.keras" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


def test_template_with_unknown_key_names_it():
    checkpoint, _ = _checkpoint("m-{epoch}-{val_acc:.2f}.keras")
    with pytest.raises(KeyError, match="val_acc"):
        checkpoint.on_epoch_end(0, {"val_loss": 1.0, "loss": 1.0})


def test_directory_filepath_is_refused(tmp_path):
    (tmp_path / "dir.keras").mkdir()
    checkpoint, _ = _checkpoint(str(tmp_path / "dir.keras"), monitor="loss")
    with pytest.raises(OSError, match="non-directory filepath"):
        checkpoint.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize(
    "filepath, kwargs, match",
    [("m.h5", {"save_weights_only": True}, r"must end in `\.weights\.h5`.*filepath=m\.h5"),
     ("m.weights.h5", {}, r"must end in `\.keras`.*filepath=m\.weights\.h5"),
     ("m.h5", {}, "Legacy `.h5` models are not supported"),
     ("m.keras", {"save_freq": "batch"}, "save_freq='batch'"),
     ("m.keras", {"save_freq": 0}, "positive integer")],
)
def test_bad_arguments_are_refused(filepath, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(filepath, **kwargs)


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'avg' is unknown"):
        checkpoint = ModelCheckpoint("m.keras", mode="avg")
    assert checkpoint.mode == "auto"
