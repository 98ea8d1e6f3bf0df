"""`BackupAndRestore` resumes exactly: a training run killed with SIGKILL (once or several
times) and restarted ends with the same weights and `History` values, bit for bit, as
the run never interrupted — with shuffling, dropout and noise layers, several optimizers,
per-epoch and mid-epoch backups, and callbacks that keep state across epochs."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina.callbacks.backup_and_restore import BackupAndRestore

_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import lamina

    backup_dir, out, case, kills = sys.argv[1:5]
    kills = [int(k) for k in kills.split(",") if k]
    lamina.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")  # 5 batches of 16 per epoch
    y = np.tanh(x @ rng.normal(size=(4, 2))).astype("float32")
    model = lamina.Sequential([
        lamina.Input((4,)),
        lamina.layers.Dense(8, activation="relu"),
        lamina.layers.Dropout(0.3),                      # torch's global generator
        lamina.layers.Dense(8, activation="relu"),
        lamina.layers.Dropout(0.2, seed=5),              # a SeedGenerator
        lamina.layers.GaussianNoise(0.1),
        lamina.layers.Dense(2),
    ])
    fit_kwargs = dict(batch_size=16, epochs=4, shuffle=True, verbose=0)
    callbacks = []
    save_freq = "epoch"
    if case == "adam_epoch":
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    elif case == "adam_mid_epoch":
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
        save_freq = 3
    elif case == "sgd_schedule_callbacks":
        schedule = lamina.optimizers.schedules.ExponentialDecay(0.05, 4, 0.7)
        model.compile(optimizer=lamina.optimizers.SGD(schedule, momentum=0.9), loss="mse")
        callbacks.append(lamina.callbacks.EarlyStopping(
            monitor="loss", patience=2, min_delta=1e-3, restore_best_weights=True))
        fit_kwargs.update(epochs=8)
        save_freq = 2
    elif case == "rmsprop_plateau":
        model.compile(optimizer=lamina.optimizers.RMSprop(0.01), loss="mse")
        callbacks.append(lamina.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=1, min_delta=10.0))
        fit_kwargs.update(validation_data=(x[:16], y[:16]), steps_per_epoch=3, epochs=6)
    else:
        raise SystemExit(f"unknown case {case}")

    class KillAt(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            marker = os.path.join(os.path.dirname(out), f"killed_{step}")
            if step in kills and not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)

    if backup_dir != "-":
        callbacks.append(lamina.callbacks.BackupAndRestore(
            backup_dir, save_freq=save_freq, delete_checkpoint=False))
    callbacks.append(KillAt())
    history = model.fit(x, y, callbacks=callbacks, **fit_kwargs)
    np.savez(out, *model.get_weights())
    with open(out + ".json", "w") as f:
        json.dump({"history": history.history, "epochs": history.epoch}, f)
""")


def _run(tmp_path, case, kills=(), backup=True):
    script = tmp_path / "train.py"
    script.write_text(_SCRIPT)
    out = tmp_path / ("resumed.npz" if backup else "reference.npz")
    backup_dir = tmp_path / "backup" if backup else "-"
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    argv = [sys.executable, str(script), str(backup_dir), str(out), case,
            ",".join(map(str, kills))]
    return lambda: subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def _train(tmp_path, case, kills=(), backup=True, before_restart=None):
    """Run the script until it finishes; returns (weights, history, killed runs)."""
    run = _run(tmp_path, case, kills, backup)
    killed = 0
    for _ in range(len(kills) + 1):
        result = run()
        if result.returncode == 0:
            break
        assert result.returncode == -signal.SIGKILL, result.stderr
        killed += 1
        if before_restart is not None:
            before_restart(tmp_path / "backup")
    assert result.returncode == 0, result.stderr
    out = tmp_path / ("resumed.npz" if backup else "reference.npz")
    weights = np.load(out)
    with open(str(out) + ".json") as f:
        logs = json.load(f)
    return [weights[k] for k in weights.files], logs, killed


_REFERENCES = {}  # case -> the uninterrupted run, shared by the tests of that case


def _reference(tmp_path, case):
    if case not in _REFERENCES:
        _REFERENCES[case] = _train(tmp_path, case, backup=False)[:2]
    return _REFERENCES[case]


def _assert_same_run(tmp_path, case, kills, before_restart=None):
    reference, reference_logs = _reference(tmp_path, case)
    resumed, resumed_logs, killed = _train(tmp_path, case, kills,
                                           before_restart=before_restart)
    assert killed == len(kills)
    assert len(resumed) == len(reference)
    for a, b in zip(resumed, reference):
        assert np.array_equal(a, b), np.abs(a - b).max()
    # History: the finishing run records the epochs it ran (from the resumed one on, as in
    # Keras), with exactly the values of the uninterrupted run for those epochs.
    epochs = resumed_logs["epochs"]
    assert epochs == reference_logs["epochs"][len(reference_logs["epochs"]) - len(epochs):]
    assert epochs and resumed_logs["history"].keys() == reference_logs["history"].keys()
    for key, values in resumed_logs["history"].items():
        assert values == reference_logs["history"][key][-len(epochs):], key
    return reference_logs


def test_epoch_backups_resume_shuffle_dropout_adam_exactly(tmp_path):
    _assert_same_run(tmp_path, "adam_epoch", kills=[7, 13])  # mid-epoch 2 and 3


def test_mid_epoch_backups_continue_at_the_saved_step_and_clean_stale_files(tmp_path):
    # Backups every 3 batches (5 per epoch): kills right after a backup, between two and
    # right before the last batch of an epoch. Before each restart, plant what a save
    # killed half-way leaves: temporaries and unfinished pending weights.
    planted = []

    def plant(backup_dir):
        for name in (".latest.weights.h5.k1ll3d.tmp", ".training_state.lamina.pt.x9.tmp",
                     "pending.weights.h5"):
            (backup_dir / name).write_bytes(b"half-written")
            planted.append(name)

    _assert_same_run(tmp_path, "adam_mid_epoch", kills=[6, 10, 14], before_restart=plant)
    assert len(planted) == 9
    left = os.listdir(tmp_path / "backup")
    assert not [name for name in left if name.endswith(".tmp") or name.startswith("pending")]


def test_schedule_momentum_and_early_stopping_state_survive(tmp_path):
    logs = _assert_same_run(tmp_path, "sgd_schedule_callbacks", kills=[9, 22])
    assert len(logs["epochs"]) < 8  # EarlyStopping did stop the run


def test_plateau_state_validation_and_steps_per_epoch_survive(tmp_path):
    logs = _assert_same_run(tmp_path, "rmsprop_plateau", kills=[4, 11])
    assert len(set(logs["history"]["learning_rate"])) > 1  # ReduceLROnPlateau did act


def test_random_kill_steps_resume_exactly(tmp_path):
    rng = np.random.default_rng(20261207)
    kills = sorted(rng.choice(np.arange(1, 20), size=2, replace=False).tolist())
    _assert_same_run(tmp_path, "adam_mid_epoch", kills=kills)


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_save_killed_between_state_and_weights_is_completed_on_restart(tmp_path):
    x = np.ones((8, 3), "float32")
    y = np.ones((8, 1), "float32")
    backup = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    model = _model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[backup])
    # Emulate a kill right after the state file of epoch 2's backup was committed.
    real_replace = os.replace

    def die(source, target):
        if source.endswith("pending.weights.h5"):
            raise KeyboardInterrupt
        real_replace(source, target)

    backup2 = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    with pytest.raises(KeyboardInterrupt):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "replace", die)
            model.fit(x, y, epochs=2, verbose=0, callbacks=[backup2])
    assert (tmp_path / "b" / "pending.weights.h5").exists()
    fresh = _model()
    restore = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert not (tmp_path / "b" / "pending.weights.h5").exists()
    assert fresh._initial_epoch == 2 and restore.read_metadata()["epoch"] == 2
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        assert np.array_equal(a, b)


class _Batches(lamina.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return self.x[i * 8:(i + 1) * 8], self.y[i * 8:(i + 1) * 8]


def test_pydataset_mid_epoch_resume_is_exact_in_process(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = x[:, :1] * 2.0

    def train(callbacks, seed=1):
        lamina.utils.set_random_seed(seed)
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4),
                                   lamina.layers.Dropout(0.5), lamina.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        history = model.fit(_Batches(x, y), epochs=3, shuffle=True, verbose=0,
                            callbacks=callbacks)
        return model, history

    class Interrupt(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 8:
                raise KeyboardInterrupt

    reference, reference_history = train([])
    backup = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        train([BackupAndRestore(backup, save_freq=2), Interrupt()])
    # Another seed: the backup, not the seed, must decide the weights and what follows.
    resumed, history = train([BackupAndRestore(backup, save_freq=2)], seed=99)
    assert history.epoch == [1, 2]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        assert np.array_equal(a, b)
    assert {k: v[1:] for k, v in reference_history.history.items()} == history.history


def test_callback_progress_is_matched_by_class_when_the_list_changes(tmp_path):
    x = np.ones((8, 3), "float32")
    y = np.ones((8, 1), "float32")

    class Interrupt(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    # min_delta so large that nothing improves after the first epoch: `wait` climbs.
    stopper = lamina.callbacks.EarlyStopping(monitor="loss", patience=10, min_delta=1e9)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, epochs=6, verbose=0, callbacks=[
            stopper, BackupAndRestore(tmp_path / "b"), Interrupt()])
    assert stopper.wait == 2
    seen = []
    stopper = lamina.callbacks.EarlyStopping(monitor="loss", patience=10, min_delta=1e9)
    probe = lamina.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append((epoch, stopper.wait, stopper.best)))
    _model().fit(x, y, epochs=6, verbose=0, callbacks=[
        probe, BackupAndRestore(tmp_path / "b"), lamina.callbacks.TerminateOnNaN(), stopper])
    assert seen[0][:2] == (3, 2) and seen[0][2] is not None
