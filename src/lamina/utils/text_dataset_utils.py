"""`text_dataset_from_directory`: a folder of class folders of `.txt` files, as batches."""

import numpy as np
import torch

from lamina.utils import dataset_utils
from lamina.utils.dataset_utils import BatchDataset


class TextDataset(BatchDataset):
    """Batches `texts` or `(texts, labels)`: texts a numpy array of `str` (Keras gives
    `tf.string` bytes), labels tensors as in `image_dataset_from_directory`.

    Attributes:
        class_names: the class names (label `i` is `class_names[i]`), or None.
        file_paths: the text files, in the dataset's first-epoch order.
    """

    def __init__(self, file_paths, labels, class_names, label_mode, max_length, batch_size,
                 shuffle, seed):
        super().__init__(len(file_paths), batch_size=batch_size, shuffle=shuffle, seed=seed)
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = None if labels is None else dataset_utils.labels_tensor(
            labels, label_mode, len(class_names) if class_names else 0)
        self._max_length = max_length

    def _load(self, indices):
        texts = np.empty(len(indices), dtype=object)
        texts[:] = [self._text(self.file_paths[i]) for i in indices]
        if self._labels is None:
            return texts
        return texts, self._labels[torch.as_tensor(indices)]

    def _text(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if self._max_length is not None:
            data = data[:self._max_length]  # NOTE: bytes, as tf.strings.substr
        return data.decode("utf-8", errors="ignore" if self._max_length else "strict")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None,
                                shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format=None, verbose=True):
    """Batches of texts (and labels) from the `.txt` files under `directory`.

    Arguments and file order as `image_dataset_from_directory`; `max_length` keeps
    the first `max_length` bytes of each file. `subset="both"` returns
    `[training, validation]`.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for cls in ("neg", "pos"):
    ...     os.mkdir(os.path.join(root, cls))
    ...     with open(os.path.join(root, cls, "a.txt"), "w") as f:
    ...         _ = f.write(f"very {cls}")
    >>> ds = text_dataset_from_directory(root, shuffle=False, verbose=False)
    >>> texts, labels = ds[0]
    >>> ds.class_names, list(texts), labels.tolist()
    (['neg', 'pos'], ['very neg', 'very pos'], [0, 1])
    """
    dataset_utils.check_format_arg(format)
    dataset_utils.check_labels_arg(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels = label_mode = None

    def build(paths, part_labels, names, shuffled, seed):
        return TextDataset(paths, part_labels, names, label_mode, max_length, batch_size,
                           shuffled, seed)

    return dataset_utils.directory_datasets(
        build, directory, labels, label_mode, class_names, (".txt",), "text files", shuffle,
        seed, validation_split, subset, follow_links, verbose)
