"""`BackupAndRestore`: backup layout, restore of weights + optimizer state, and resume
after a SIGKILL in the middle of an epoch."""

import inspect
import json
import os
import runpy
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.trainers.trainer import Trainer

TRAINER_RESUMES = "_initial_epoch" in inspect.getsource(Trainer.fit)
needs_trainer_resume = pytest.mark.skipif(
    not TRAINER_RESUMES, reason="Trainer.fit does not read `model._initial_epoch` yet"
)


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def _model(optimizer="adam"):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _fit(model, callbacks, epochs, **kwargs):
    x, y = _data()
    return model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=callbacks, **kwargs)


def test_backup_writes_keras_layout_with_next_epoch(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    model = _model()
    _fit(model, [backup], epochs=3)
    assert sorted(os.listdir(tmp_path / "b")) == [
        "latest.weights.h5", "training_metadata.json", "training_state.lamina.pt"]
    metadata = json.loads((tmp_path / "b" / "training_metadata.json").read_text())
    assert (metadata["epoch"], metadata["batch"]) == (3, 0)
    # The weights file holds model and optimizer state: a fresh model loads both.
    fresh = _model()
    fresh.load_weights(tmp_path / "b" / "latest.weights.h5")
    for a, b in zip(fresh.get_weights() + [v.numpy() for v in fresh.optimizer.variables],
                    model.get_weights() + [v.numpy() for v in model.optimizer.variables]):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == 12


def test_backup_is_deleted_after_successful_fit(tmp_path):
    _fit(_model(), [BackupAndRestore(tmp_path / "b")], epochs=2)
    assert not (tmp_path / "b").exists()


def test_integer_save_freq_records_last_batch(tmp_path):
    seen = []

    class Spy(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(json.loads((tmp_path / "b" / "training_metadata.json").read_text())
                        if (tmp_path / "b").exists() else None)

    backup = BackupAndRestore(tmp_path / "b", save_freq=3, delete_checkpoint=False)
    _fit(_model(), [backup, Spy()], epochs=2)  # 4 batches per epoch: saves after the 3rd and 6th
    batches = [None if s is None else (s["epoch"], s["batch"]) for s in seen]
    assert batches == [None, None, (0, 2), (0, 2), (0, 2), (1, 1), (1, 1), (1, 1)]
    metadata = backup.read_metadata()
    assert (metadata["epoch"], metadata["batch"]) == (1, 1)  # no extra save at epoch ends


def test_double_checkpoint_keeps_previous_and_falls_back_to_it(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", double_checkpoint=True, delete_checkpoint=False)
    model = _model()
    _fit(model, [backup], epochs=2)
    assert backup.read_metadata(previous=True)["epoch"] == 1
    assert backup.read_metadata()["epoch"] == 2
    # A damaged latest file (digest mismatch) makes the restore use the previous backup.
    (tmp_path / "b" / "latest.weights.h5").write_bytes(b"garbage")
    (tmp_path / "prev.weights.h5").write_bytes((tmp_path / "b" / "latest.weights.h5.bkp")
                                               .read_bytes())
    reference = _model()
    reference.load_weights(tmp_path / "prev.weights.h5")
    fresh = _model()
    restore = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 1
    for a, b in zip(fresh.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mismatched_backup_without_previous_warns_and_resumes(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    _fit(_model(), [backup], epochs=1)
    path = tmp_path / "b" / "training_metadata.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), weights_sha256="0" * 64)))
    (tmp_path / "b" / "training_state.lamina.pt").unlink()  # nothing else vouches for them
    fresh = _model()
    backup.set_model(fresh)
    with pytest.warns(UserWarning, match="does not match"):
        backup.on_train_begin()
    assert fresh._initial_epoch == 1


@needs_trainer_resume
def test_resumed_fit_matches_uninterrupted_fit(tmp_path):
    initial = _model_with_seed_weights()
    reference = _model()
    reference.set_weights(initial)
    _fit(reference, [], epochs=4)
    interrupted = _model()
    interrupted.set_weights(initial)

    class StopAfter(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    backup_dir = tmp_path / "b"
    _fit(interrupted, [BackupAndRestore(backup_dir, delete_checkpoint=False), StopAfter()],
         epochs=4)
    resumed = _model()
    resumed.set_weights(initial)  # overwritten by the backup
    epochs_run = []
    counter = lamina.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    _fit(resumed, [BackupAndRestore(backup_dir), counter], epochs=4)
    assert epochs_run == [2, 3]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not backup_dir.exists()


@needs_trainer_resume
def test_batch_backup_after_a_resume_records_the_resumed_epoch(tmp_path):
    # Keras 3.15 records epoch 0 here (its epoch counter starts at 0 in a fresh callback),
    # so a second interruption restarts the whole run; lamina records the resumed epoch
    # and, after a mid-epoch backup, continues after the saved batch.
    class Interrupt(lamina.callbacks.Callback):
        def __init__(self, epoch, batch):
            super().__init__()
            self.at = (epoch, batch)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == self.at:
                raise RuntimeError("interrupted")

    backup_dir = tmp_path / "b"
    model = _model("sgd")
    metadata = []
    for epoch, batch in [(3, 0), (4, 1)]:  # 4 batches per epoch, a backup every 3
        with pytest.raises(RuntimeError, match="interrupted"):
            _fit(model, [BackupAndRestore(backup_dir, save_freq=3), Interrupt(epoch, batch)],
                 epochs=6)
        saved = json.loads((backup_dir / "training_metadata.json").read_text())
        metadata.append((saved["epoch"], saved["batch"]))
    assert metadata == [(2, 3), (4, 1)]
    epochs_run = []
    counter = lamina.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    _fit(model, [counter, BackupAndRestore(backup_dir, save_freq=3)], epochs=6)
    assert epochs_run == [4, 5]


def _model_with_seed_weights():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(3, 1)).astype("float32"), np.zeros(1, "float32")]


def test_unbuilt_model_is_refused(tmp_path):
    model = lamina.Sequential([lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = BackupAndRestore(tmp_path)
    backup.set_model(model)
    with pytest.raises(ValueError, match="BackupAndRestore needs a built model"):
        backup.on_train_begin()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"backup_dir": ""}, "needs a directory path"),
     ({"backup_dir": "x", "save_freq": "batch"}, "save_freq='batch'"),
     ({"backup_dir": "x", "save_freq": 0}, "positive integer")],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BackupAndRestore(**kwargs)


_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import torch
    import lamina
    from lamina.callbacks.backup_and_restore import BackupAndRestore

    backup_dir, out, marker = sys.argv[1:4]
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = np.tanh(x @ rng.normal(size=(4, 2))).astype("float32")
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dense(2)])
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.3
                       for w in model.get_weights()])
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")

    class KillOnce(lamina.callbacks.Callback):
        epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epochs.append(epoch)

        def on_train_batch_end(self, batch, logs=None):
            if marker != "-" and self.epoch == 2 and batch == 3 and not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [KillOnce()] + ([BackupAndRestore(backup_dir)] if backup_dir != "-" else [])
    model.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0, callbacks=callbacks)
    np.savez(out, *model.get_weights(), epochs=np.array(KillOnce.epochs))
""")


def _run(script, *args):
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


@needs_trainer_resume
def test_sigkill_mid_epoch_then_rerun_matches_uninterrupted_run(tmp_path, monkeypatch):
    script = tmp_path / "train.py"
    script.write_text(_SCRIPT)
    backup_dir, marker = tmp_path / "backup", tmp_path / "killed"

    first = _run(script, backup_dir, tmp_path / "crashed.npz", marker)
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert marker.exists() and not (tmp_path / "crashed.npz").exists()
    # Killed during epoch 3 (index 2): the last backup is the end of epoch 2.
    assert json.loads((backup_dir / "training_metadata.json").read_text())["epoch"] == 2

    second = _run(script, backup_dir, tmp_path / "resumed.npz", marker)
    assert second.returncode == 0, second.stderr
    assert not backup_dir.exists()  # deleted after the successful end
    # The uninterrupted reference runs the same script in this process (saves a start-up).
    monkeypatch.setattr(sys, "argv", [str(script), "-", str(tmp_path / "plain.npz"), "-"])
    runpy.run_path(str(script), run_name="__main__")

    resumed, reference = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "plain.npz")
    np.testing.assert_array_equal(resumed["epochs"], [2, 3, 4])  # resumed, not restarted
    np.testing.assert_array_equal(reference["epochs"], [0, 1, 2, 3, 4])
    assert len(resumed.files) == 5
    for key in (k for k in reference.files if k != "epochs"):
        np.testing.assert_allclose(resumed[key], reference[key], rtol=1e-6)
