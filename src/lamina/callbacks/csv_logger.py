"""`CSVLogger`: writes each epoch's logs as a row of a CSV file."""

import collections.abc
import csv
import os

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.distribution.distribution_lib import is_chief


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: a header `epoch,<sorted log names>`, one row per epoch.

    The columns are fixed at the first epoch; when it has no `val_` entries, `val_`
    columns are added for every name (filled with `NA` until validation runs).

    Args:
        filename: path of the CSV file.
        separator: the field delimiter.
        append: append to an existing file (its header is kept, not repeated)
            instead of overwriting it.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> logger = CSVLogger(path)
    >>> logger.on_train_begin()
    >>> logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> logger.on_train_end()
    >>> with open(path) as f:
    ...     f.read().splitlines()
    ['epoch,loss,val_loss', '0,0.5,0.75']
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if not is_chief():
            return  # process 0 of a distributed job writes
        mode = "w"
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as existing:
                    self.append_header = not existing.readline()
            mode = "a"
        self.csv_file = open(self.filename, mode, newline="")  # closed in on_train_end

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(key.startswith("val_") for key in self.keys):
                # Validation may run on later epochs only (`validation_freq`).
                self.keys += ["val_" + key for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None
