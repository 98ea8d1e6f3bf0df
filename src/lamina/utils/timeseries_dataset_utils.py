"""`timeseries_dataset_from_array`: sliding windows over an array, batched."""

import numpy as np
import torch

from lamina.utils import dataset_utils
from lamina.utils.dataset_utils import BatchDataset


class TimeseriesDataset(BatchDataset):
    """Windows `data[start + i * sampling_rate]`, `i < sequence_length`, per start position.

    >>> ds = timeseries_dataset_from_array(np.arange(6), None, sequence_length=3,
    ...                                    batch_size=2)
    >>> [b.tolist() for b in ds]
    [[[0, 1, 2], [1, 2, 3]], [[2, 3, 4], [3, 4, 5]]]
    """

    def __init__(self, data, targets, start_positions, sequence_length, sampling_rate,
                 start_index, batch_size, shuffle, seed):
        super().__init__(len(start_positions), batch_size=batch_size, shuffle=shuffle,
                         seed=seed, order=start_positions)
        self.data = np.asarray(data)
        self.targets = None if targets is None else np.asarray(targets)
        self._offsets = np.arange(sequence_length) * sampling_rate + start_index
        self._start_index = start_index

    def _load(self, starts):
        windows = torch.as_tensor(self.data[starts[:, None] + self._offsets])
        if self.targets is None:
            return windows
        return windows, torch.as_tensor(self.targets[starts + self._start_index])


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format=None):
    """Batches of sliding windows over `data` (and the target of each window's start).

    Args:
        data: array of timesteps (axis 0 is time).
        targets: `targets[i]` is the target of the window starting at `data[i]`
            (None: windows only).
        sequence_length: timesteps per window.
        sequence_stride: step between the starts of consecutive windows.
        sampling_rate: step between the timesteps within a window.
        batch_size: windows per batch (None: single windows).
        shuffle: shuffle the windows (seeded by `seed`, as Keras' start positions).
        start_index, end_index: the part of `data` windows are taken from
            (`end_index` excluded).
        format: None (lamina's dataset), or Keras' `"tf"` (a `tf.data.Dataset`, needs
            TensorFlow) or `"grain"` (a `grain.IterDataset`, needs Grain).

    Returns:
        With `format=None`, a `BatchDataset` for `fit` and
        `DataLoader(ds, batch_size=None)` yielding `windows` or `(windows, targets)`
        torch tensors; otherwise Keras' dataset of the same batches.

    >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 10,
    ...                                    sequence_length=3, sampling_rate=2)
    >>> x, y = ds[0]
    >>> x[:2].tolist(), y[:2].tolist()
    ([[0, 2, 4], [1, 3, 5]], [0, 10])
    """
    library = dataset_utils.check_format_arg(format)
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. "
                             f"Received: {name}={value}, for data of length {n}")
    start_index = start_index or 0
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype="int64")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    if format == "tf":
        return _tf_windows(library, data, targets, starts, sequence_length, sampling_rate,
                           start_index, end_index, batch_size, shuffle, seed)
    if format == "grain":
        return dataset_utils.grain_finish(
            _grain_windows(library, data, targets, starts, sequence_length, sampling_rate,
                           start_index, end_index), shuffle, seed, batch_size)
    return TimeseriesDataset(data, targets, starts, sequence_length, sampling_rate,
                             start_index, batch_size, shuffle, seed)


def _grain_windows(grain, data, targets, starts, sequence_length, sampling_rate,
                   start_index, end_index):
    """Keras' `format="grain"` samples: numpy windows (and numpy targets)."""
    steps = np.asarray(data)[start_index:end_index]
    offsets = np.arange(sequence_length) * sampling_rate
    if targets is None:
        return grain.MapDataset.source(starts).map(lambda start: steps[start + offsets])
    # NOTE: Keras cuts targets at `start_index` only, not at `end_index`.
    values = np.asarray(targets)[start_index:]
    return grain.MapDataset.source(starts).map(
        lambda start: (steps[start + offsets], values[start]))


def _tf_windows(tf, data, targets, starts, sequence_length, sampling_rate, start_index,
                end_index, batch_size, shuffle, seed):
    """Keras' `format="tf"` pipeline: windows gathered by tf, shuffled again locally."""
    steps = np.asarray(data)[start_index:end_index]
    offsets = np.arange(sequence_length) * sampling_rate
    ds = tf.data.Dataset.from_tensor_slices(starts)
    if targets is None:
        ds = ds.map(lambda start: tf.gather(steps, start + offsets))
    else:
        values = np.asarray(targets)[start_index:end_index]
        ds = ds.map(lambda start: (tf.gather(steps, start + offsets), tf.gather(values, start)))
    # NOTE: Keras prefetches the windows, then shuffles them locally and batches last.
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(buffer_size=batch_size * 8 if batch_size is not None else 1024,
                        seed=seed)
    return ds if batch_size is None else ds.batch(batch_size)
