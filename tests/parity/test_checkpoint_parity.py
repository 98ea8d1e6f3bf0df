"""`ModelCheckpoint`/`BackupAndRestore` against Keras 3: the same scripted logs give the
same saves (paths, order), the same messages and the same backup metadata."""

import json
import warnings

import numpy as np
import pytest

from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.callbacks.model_checkpoint import ModelCheckpoint


class RecordingModel:
    def __init__(self):
        self.saved = []
        self.metrics = []

    def save(self, filepath, overwrite=True):
        self.saved.append(("save", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("save_weights", filepath))


def _drive(callback, epochs=3, steps=4):
    """A fit-like sequence of hooks with deterministic logs; returns the saves."""
    model = RecordingModel()
    callback.set_model(model)
    callback.on_train_begin()
    values = [0.5, 0.7, 0.3, 0.3, 0.9]
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            callback.on_train_batch_begin(batch)
            callback.on_train_batch_end(batch, {"loss": np.float32(0.1 * (batch + 1))})
        callback.on_epoch_end(epoch, {"loss": values[epoch], "val_loss": values[epoch + 1]})
    return model.saved


@pytest.mark.parametrize(
    "kwargs",
    [dict(filepath="m-{epoch:02d}-{val_loss:.2f}.keras", verbose=1),
     dict(filepath="w-{epoch}.weights.h5", save_weights_only=True, save_best_only=True,
          verbose=1),
     dict(filepath="m.keras", monitor="loss", mode="max", save_best_only=True, verbose=1),
     dict(filepath="m-{epoch}.keras", save_best_only=True, initial_value_threshold=0.65),
     dict(filepath="b-{epoch}-{batch}-{loss:.1f}.keras", save_freq=3, verbose=1)],
)
def test_model_checkpoint_saves_like_keras(K, kwargs, capsys):
    capsys.readouterr()
    expected = _drive(K.callbacks.ModelCheckpoint(**kwargs))
    expected_out = capsys.readouterr().out
    assert _drive(ModelCheckpoint(**kwargs)) == expected
    assert capsys.readouterr().out == expected_out


# NOTE: Keras also accepts legacy `.h5` model paths, which lamina cannot write; it
# refuses them up front (tests/callbacks/test_model_checkpoint.py).
@pytest.mark.parametrize("filepath, kwargs", [("m.json", {}), ("m.keras",
                                              {"save_weights_only": True})])
def test_model_checkpoint_refuses_the_suffixes_keras_refuses(K, filepath, kwargs):
    with pytest.raises(ValueError):
        K.callbacks.ModelCheckpoint(filepath, **kwargs)
    with pytest.raises(ValueError):
        ModelCheckpoint(filepath, **kwargs)


def _backup_metadata(callback_class, backup_dir, save_freq):
    import keras

    seen = []
    callback = callback_class(str(backup_dir), save_freq=save_freq, delete_checkpoint=False)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]) if (
        callback_class.__module__.startswith("keras")) else None
    if model is None:
        import lamina

        model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for batch in range(4):
            callback.on_train_batch_end(batch, {})
            path = backup_dir / "training_metadata.json"
            seen.append(json.loads(path.read_text()) if path.exists() else None)
        callback.on_epoch_end(epoch, {})
        seen.append(json.loads((backup_dir / "training_metadata.json").read_text()))
    return [None if s is None else (s["epoch"], s["batch"]) for s in seen]


@pytest.mark.parametrize("save_freq", ["epoch", 3])
def test_backup_metadata_matches_keras(K, tmp_path, save_freq):
    expected = _backup_metadata(K.callbacks.BackupAndRestore, tmp_path / "k", save_freq)
    assert _backup_metadata(BackupAndRestore, tmp_path / "l", save_freq) == expected
    # Keras' files, plus lamina's state file for exact resumes (Keras never reads it).
    assert sorted(p.name for p in (tmp_path / "l").iterdir()) == sorted(
        [p.name for p in (tmp_path / "k").iterdir()] + ["training_state.lamina.pt"])


# -- real `fit` runs: which epochs are saved, and where an interrupted run resumes ---------

_X = np.random.default_rng(2).normal(size=(16, 3)).astype("float32")
_Y = (_X[:, :1] > 0).astype("float32")


def _classifier(module):
    model = module.Sequential([module.Input((3,)), module.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=module.optimizers.SGD(0.1), loss="binary_crossentropy",
                  metrics=["acc", module.metrics.AUC()])
    return model


def _scripted(module, values, names):
    """First in the callback list: sets each of `names` to `values[epoch]` in the epoch
    logs (`None` drops them) and keeps a copy of the weights at each epoch end."""

    class Scripted(module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.snapshots = {}

        def on_epoch_end(self, epoch, logs=None):
            for name in names:
                logs.pop(name, None)
                if values[epoch] is not None:
                    logs[name] = values[epoch]
            self.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    return Scripted()


SAVE_BEST_CASES = {
    "val_loss_auto": (dict(monitor="val_loss"), [1.0, 0.8, 0.9, 0.8, 0.5, float("nan"), 0.6]),
    "val_acc_auto": (dict(monitor="val_acc"), [0.5, 0.7, 0.6, 0.7, 0.9, None, 0.95]),
    "auc_auto": (dict(monitor="auc"), [0.5, 0.4, 0.6, 0.6, 0.61, 0.2, 0.7]),
    "max_threshold": (dict(monitor="val_loss", mode="max", initial_value_threshold=0.85),
                      [1.0, 0.8, 0.9, 0.8, 1.5, 0.6, 1.2]),
    "min_threshold": (dict(monitor="val_acc", mode="min", initial_value_threshold=0.65),
                      [0.7, 0.6, 0.66, 0.5, 0.5, 0.4, 0.9]),
}


@pytest.mark.parametrize("case", sorted(SAVE_BEST_CASES))
def test_save_best_only_in_fit_saves_the_epochs_keras_saves(K, tmp_path, case):
    """`ModelCheckpoint(save_best_only=True)` in real `fit` runs writes the same epochs
    as Keras ("auto" included, resolved from the compiled `acc`/`auc` metrics), and each
    file holds the weights of the end of its epoch."""
    kwargs, values = SAVE_BEST_CASES[case]

    def run(module):
        model = _classifier(module)
        directory = tmp_path / module.__name__
        scripted = _scripted(module, values, [kwargs["monitor"]])
        checkpoint = module.callbacks.ModelCheckpoint(
            str(directory / "{epoch:02d}.weights.h5"), save_best_only=True,
            save_weights_only=True, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(_X, _Y, validation_data=(_X, _Y), epochs=len(values), batch_size=8,
                      verbose=0, callbacks=[scripted, checkpoint])
        names = sorted(p.name for p in directory.iterdir())
        for name in names:
            model.load_weights(str(directory / name))
            epoch = int(name[:2]) - 1
            assert all(np.array_equal(a, b)
                       for a, b in zip(model.get_weights(), scripted.snapshots[epoch]))
        best = checkpoint.best
        unavailable = sum("Can save best model only with" in str(w.message) for w in caught)
        return names, None if best is None else round(float(best), 6), unavailable

    assert run(__import__("lamina")) == run(K)


def _interrupted_then_resumed(module, backup_dir, save_freq, interrupt_at, backup_first):
    """Fit 6 epochs of 4 batches with `BackupAndRestore`, raising at `interrupt_at`
    (`(epoch, None)`: at that epoch's end, `(epoch, batch)`: after that batch); then fit
    again with a fresh callback. Returns the epochs each run began and the backup's
    metadata between the two runs."""

    class Interrupt(module.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (self._epoch, batch) == interrupt_at:
                raise RuntimeError("interrupted")

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            if (epoch, None) == interrupt_at:
                raise RuntimeError("interrupted")

    class Epochs(module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    model = _classifier(module)
    runs = []
    for callbacks in (
        [module.callbacks.BackupAndRestore(str(backup_dir), save_freq=save_freq), Interrupt()],
        [module.callbacks.BackupAndRestore(str(backup_dir), save_freq=save_freq)],
    ):
        if not backup_first:
            callbacks.reverse()
        epochs = Epochs()
        try:
            model.fit(_X, _Y, epochs=6, batch_size=4, verbose=0, callbacks=[epochs, *callbacks])
        except RuntimeError:
            metadata = json.loads((backup_dir / "training_metadata.json").read_text())
        runs.append(epochs.seen)
    return runs, (metadata["epoch"], metadata["batch"]), backup_dir.exists()


@pytest.mark.parametrize(
    "save_freq, interrupt_at, backup_first",
    [("epoch", (2, None), True),  # backed up at the end of epoch 2: resumes at 3
     ("epoch", (2, None), False),  # interrupted before that backup: resumes at 2
     ("epoch", (3, 1), True),  # mid-epoch: the epoch is rerun
     (3, (2, 2), True),  # batch-level: reruns the epoch of the last backup
     (3, (3, 0), True)],
)
def test_interrupted_fit_resumes_at_the_epoch_keras_resumes(K, tmp_path, save_freq,
                                                            interrupt_at, backup_first):
    expected = _interrupted_then_resumed(K, tmp_path / "k", save_freq, interrupt_at,
                                         backup_first)
    assert _interrupted_then_resumed(__import__("lamina"), tmp_path / "l", save_freq,
                                     interrupt_at, backup_first) == expected
