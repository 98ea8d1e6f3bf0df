"""`BackupAndRestore`: backs up the training state so an interrupted `fit` can resume."""

import hashlib
import json
import os
import shutil
import warnings

from lamina.callbacks.callback import Callback
from lamina.callbacks.model_checkpoint import _BatchCounter, _check_save_freq
from lamina.saving.keras_archive import atomic_path


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
    """Backs up weights, optimizer state and progress, and resumes `fit` from them.

    The backup is `backup_dir/latest.weights.h5` (model and optimizer variables, as
    `model.save_weights` writes them) and `backup_dir/training_metadata.json`
    (`{"epoch": next epoch to run, "batch": last batch saved}`), Keras' layout. Each
    file is replaced atomically, and the metadata records a digest of the weights
    file it belongs to, so a crash between the two writes is detected. At the start
    of `fit`, an existing backup is loaded and training resumes at the saved epoch
    (the epoch is rerun from its first batch after a batch-level backup, as in Keras).

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
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_training_metadata_path = self._training_metadata_path + ".bkp"
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

    def _consistent(self, weights_path, metadata):
        digest = (metadata or {}).get("weights_sha256")
        return digest is None or digest == _sha256(weights_path)

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
        if not os.path.exists(self._weights_path):
            return
        if not self._consistent(self._weights_path, self.read_metadata()):
            previous = self.read_metadata(previous=True)
            if os.path.exists(self._prev_weights_path) and self._consistent(
                    self._prev_weights_path, previous):
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
        metadata = self.read_metadata()
        if metadata is not None:
            # `Trainer.fit` starts its epoch loop from here.
            self._current_epoch = int(metadata["epoch"])
            self.model._initial_epoch = self._current_epoch

    def _restore_previous(self):
        """Make the `.bkp` backup the latest one (the files `load_weights` can read)."""
        _atomic_copy(self._prev_weights_path, self._weights_path)
        if os.path.exists(self._prev_training_metadata_path):
            _atomic_copy(self._prev_training_metadata_path, self._training_metadata_path)
        elif os.path.exists(self._training_metadata_path):
            os.remove(self._training_metadata_path)

    # -- backup ----------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.reached(batch):
            self._last_batch_seen = batch
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            # Metadata first: a crash in between leaves a `.bkp` pair whose digest fails,
            # while the latest pair is still intact.
            if os.path.exists(self._training_metadata_path):
                _atomic_copy(self._training_metadata_path, self._prev_training_metadata_path)
            _atomic_copy(self._weights_path, self._prev_weights_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights_sha256": _sha256(self._weights_path),
        }
        with atomic_path(self._training_metadata_path) as tmp, open(tmp, "w") as f:
            json.dump(metadata, f)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
        if getattr(self.model, "_initial_epoch", None) is not None:
            self.model._initial_epoch = None  # a later `fit` starts from its own argument
