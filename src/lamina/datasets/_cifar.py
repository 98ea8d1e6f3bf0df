"""Reading the CIFAR "python version" batches (pickled dicts of a uint8 `data` array)."""

import os

import numpy as np

from lamina import backend
from lamina.datasets import _remote


def _read_batch(path, label_key):
    batch = _remote.load_pickle(path)
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def load(archive, cache_name, folder, batches, test_batch, label_key, label_dtype):
    """`(x_train, y_train), (x_test, y_test)` from a CIFAR `archive`.

    The archive is cached as `<cache_name>_archive` and extracted into `<cache_name>/`,
    Keras' layout; `folder` is the archive's top folder, holding the batch files.
    """
    root = _remote.fetch(archive, fname=cache_name, folder=_remote.CIFAR_HOME,
                         extract=True)
    root = os.path.join(root, folder)
    train = [_read_batch(os.path.join(root, name), label_key) for name in batches]
    x_train = np.concatenate([x for x, _ in train]).astype(np.uint8, copy=False)
    y_train = np.concatenate([np.asarray(y) for _, y in train]).astype(label_dtype)
    x_test, y_test = _read_batch(os.path.join(root, test_batch), label_key)
    x_test = x_test.astype(x_train.dtype, copy=False)
    y_train = y_train.reshape(-1, 1)
    y_test = np.asarray(y_test).astype(label_dtype).reshape(-1, 1)
    if backend.image_data_format() == "channels_last":
        x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
