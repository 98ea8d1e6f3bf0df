"""`ModelCheckpoint`/`BackupAndRestore` against Keras 3: the same scripted logs give the
same saves (paths, order), the same messages and the same backup metadata."""

import json

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
    assert sorted(p.name for p in (tmp_path / "l").iterdir()) == sorted(
        p.name for p in (tmp_path / "k").iterdir())
