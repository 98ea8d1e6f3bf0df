"""`BackupAndRestore`: backs up the training state so an interrupted `fit` can resume."""

import contextlib
import hashlib
import json
import os
import shutil
import warnings

import torch

from lamina.callbacks.callback import Callback
from lamina.callbacks.model_checkpoint import _BatchCounter, _check_save_freq
from lamina.distribution.distribution_lib import is_chief
from lamina.utils.file_utils import atomic_path

STATE_FILE = "training_state.lamina.pt"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_copy(source, target):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted `fit` resumes exactly.

    Keras' layout: `backup_dir/latest.weights.h5` (model and optimizer variables, as
    `model.save_weights` writes them) and `backup_dir/training_metadata.json`
    (`{"epoch", "batch"}`), which Keras can read. Beside them lamina writes
    `training_state.lamina.pt` with the rest of what the run's future depends on: the
    position inside the epoch and the data order (the shuffle permutation), the metric
    accumulators, every random generator (Python's, numpy's, torch's CPU and CUDA ones,
    and the model's seed generators) and the progress of callbacks such as
    `EarlyStopping` and `ReduceLROnPlateau`. With it, a run killed at any moment and
    restarted ends with the same weights and the same `History` values, bit for bit, as
    one never interrupted, also for mid-epoch backups (integer `save_freq`), which
    continue after the saved batch instead of rerunning the epoch. Without it (a backup
    from Keras) training resumes at the recorded epoch, as in Keras; the same for data
    that cannot be repositioned (generators, `DataLoader`s, endless `PyDataset`s), where
    the epoch of a mid-epoch backup is rerun. (A `PyDataset`'s own attributes are its
    own: one that changes them as it goes is resumed at the right batch, not with them.)

    Each file is replaced atomically, and the state file names the digest of the weights
    file it belongs to: it is written after the new weights (kept aside until then) and
    before they replace the old ones, so a save killed half-way leaves either the old
    backup or the new one, never a mix. Temporary files a killed save left behind are
    removed by the next save.

    Args:
        backup_dir: directory holding the backup (created when needed). Use one per
            training job.
        save_freq: `"epoch"` to back up at each epoch end, or an integer N to back up
            after every N batches.
        delete_checkpoint: remove `backup_dir` when `fit` finishes without interruption.
        double_checkpoint: keep the previous backup (`*.bkp`) as well, and fall back to
            it when the latest one cannot be loaded.

    >>> import tempfile, numpy as np, lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> backup = BackupAndRestore(tempfile.mkdtemp(), delete_checkpoint=False)
    >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0,
    ...               callbacks=[backup])
    >>> backup.read_metadata()["epoch"]
    2
    """

    _accepts_tensor_logs = True  # never reads batch logs

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(
                f"BackupAndRestore needs a directory path. Received: backup_dir={backup_dir!r}"
            )
        _check_save_freq(save_freq, "BackupAndRestore")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._state_path = os.path.join(self.backup_dir, STATE_FILE)
        self._pending_weights_path = os.path.join(self.backup_dir, "pending.weights.h5")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_training_metadata_path = self._training_metadata_path + ".bkp"
        self._prev_state_path = self._state_path + ".bkp"
        self._batches = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        self._last_batch_seen = 0

    # -- restore ---------------------------------------------------------------------------
    def read_metadata(self, previous=False):
        """The saved `{"epoch", "batch", ...}` dict, or `None` when there is no backup."""
        path = self._prev_training_metadata_path if previous else self._training_metadata_path
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def _read_state(self, previous=False):
        """The lamina state file's content, or `None` when absent or unreadable."""
        path = self._prev_state_path if previous else self._state_path
        if not os.path.exists(path):
            return None
        try:
            # NOTE: `weights_only` reads tensors and plain values only: no code runs.
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any damage means "no usable state"
            warnings.warn(f"BackupAndRestore: cannot read {path} ({error}); resuming "
                          "from the recorded epoch instead.", stacklevel=3)
            return None

    def _belongs(self, weights_path, metadata, state):
        """Whether the metadata or the state file vouches for the weights file."""
        digest = _sha256(weights_path)
        if state is not None and state.get("weights_sha256") == digest:
            return True
        return state is None and (metadata or {}).get("weights_sha256") in (None, digest)

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", False):
            raise ValueError(
                "BackupAndRestore needs a built model before `fit()` so that it can load a "
                f"backup into it. Model {getattr(self.model, 'name', self.model)!r} is not "
                "built: pass an `Input` to it or call it on a batch of data first."
            )
        self._current_epoch = 0
        self._last_batch_seen = 0
        if self._batches is not None:
            self._batches = _BatchCounter(self.save_freq)
        self._finish_interrupted_save()
        if not os.path.exists(self._weights_path):
            return
        if not self._belongs(self._weights_path, self.read_metadata(), self._read_state()):
            if os.path.exists(self._prev_weights_path) and self._belongs(
                    self._prev_weights_path, self.read_metadata(previous=True),
                    self._read_state(previous=True)):
                self._restore_previous()
            else:
                warnings.warn(
                    f"BackupAndRestore: {self._weights_path} does not match "
                    f"{self._training_metadata_path} (interrupted while saving?). Resuming "
                    "with these weights from the recorded epoch.",
                    stacklevel=2,
                )
        try:
            self.model.load_weights(self._weights_path)
        except OSError:
            # A damaged latest backup: fall back to the previous one when there is one.
            if not os.path.exists(self._prev_weights_path):
                raise
            self._restore_previous()
            self.model.load_weights(self._weights_path)
        self._resume()

    def _resume(self):
        state = self._read_state()
        if state is not None and state.get("weights_sha256") == _sha256(self._weights_path):
            epoch, step = int(state["epoch"]), state["step"]
            self._current_epoch = epoch
            if step is not None:
                self._last_batch_seen = step
                if self._batches is not None:
                    self._batches.last_index = step  # a backup was just taken there
            # `Trainer.fit` continues from here, with everything else the state holds.
            self.model._resume_fit(epoch, step, state["fit"])
            return
        metadata = self.read_metadata()
        if metadata is not None:
            # A Keras backup (or one without its state): `fit` starts at the saved epoch.
            self._current_epoch = int(metadata["epoch"])
            self.model._initial_epoch = self._current_epoch

    def _finish_interrupted_save(self):
        """A save killed after writing its state file but before putting its weights in
        place left them as `pending.weights.h5`: complete it."""
        pending = self._pending_weights_path
        if not os.path.exists(pending) or not is_chief():
            return
        state = self._read_state()
        if state is not None and state.get("weights_sha256") == _sha256(pending):
            os.replace(pending, self._weights_path)
            self._write_metadata(int(state["epoch"]), state["step"] or 0,
                                 state["weights_sha256"])
        else:
            os.remove(pending)  # the save died before it counted: the old backup stands

    def _restore_previous(self):
        """Make the `.bkp` backup the latest one (the files `load_weights` can read)."""
        _atomic_copy(self._prev_weights_path, self._weights_path)
        for previous, latest in ((self._prev_training_metadata_path,
                                  self._training_metadata_path),
                                 (self._prev_state_path, self._state_path)):
            if os.path.exists(previous):
                _atomic_copy(previous, latest)
            elif os.path.exists(latest):
                os.remove(latest)

    # -- backup ----------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.reached(batch):
            self._last_batch_seen = batch
            self._save(step=batch)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save(step=None)

    def _save(self, step):
        """Back up now; `step` is the batch just trained, or None at an epoch end."""
        if not is_chief():
            return  # process 0 of a distributed job writes; every process restores
        os.makedirs(self.backup_dir, exist_ok=True)
        self._remove_stale_temporaries()
        if self.double_checkpoint and os.path.exists(self._weights_path):
            # State and metadata first: a crash in between leaves a `.bkp` set whose
            # digests fail, while the latest set is still intact.
            for latest, previous in ((self._state_path, self._prev_state_path),
                                     (self._training_metadata_path,
                                      self._prev_training_metadata_path),
                                     (self._weights_path, self._prev_weights_path)):
                if os.path.exists(latest):
                    _atomic_copy(latest, previous)
        self.model.save_weights(self._pending_weights_path, overwrite=True)
        digest = _sha256(self._pending_weights_path)
        fit_state = self.model._fit_state() if hasattr(self.model, "_fit_state") else None
        state = {"format": 1, "epoch": self._current_epoch, "step": step,
                 "weights_sha256": digest, "fit": fit_state}
        with atomic_path(self._state_path) as tmp:
            torch.save(state, tmp)  # from here on this backup counts
        os.replace(self._pending_weights_path, self._weights_path)
        self._write_metadata(self._current_epoch, self._last_batch_seen, digest)

    def _write_metadata(self, epoch, batch, digest):
        metadata = {"epoch": epoch, "batch": batch, "weights_sha256": digest}
        with atomic_path(self._training_metadata_path) as tmp, open(tmp, "w") as f:
            json.dump(metadata, f)

    def _remove_stale_temporaries(self):
        """Delete the temporary files of saves that were killed half-way."""
        names = {os.path.basename(p) for p in (
            self._weights_path, self._training_metadata_path, self._state_path,
            self._pending_weights_path, self._prev_weights_path,
            self._prev_training_metadata_path, self._prev_state_path)}
        for entry in os.listdir(self.backup_dir):
            stem = entry[1:].rsplit(".", 2)[0] if entry.startswith(".") else None
            if stem in names and entry.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.backup_dir, entry))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
        if getattr(self.model, "_initial_epoch", None) is not None:
            self.model._initial_epoch = None  # a later `fit` starts from its own argument
