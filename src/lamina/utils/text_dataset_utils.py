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


def _tf_texts(tf, paths, labels, label_mode, num_classes, max_length, shuffle, seed,
              shuffle_buffer_size):
    """Keras' `format="tf"` pipeline: each file's bytes (the first `max_length`)."""
    def read(path):
        text = tf.io.read_file(path)
        return text if max_length is None else tf.strings.substr(text, 0, max_length)

    return dataset_utils.tf_files(tf, paths, labels, label_mode, num_classes, shuffle, seed,
                                  shuffle_buffer_size, read)


def _read_text(path, max_length):
    # NOTE: Keras' Grain pipeline reads text mode (newlines translated) and cuts characters.
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text if max_length is None else text[:max_length]


def _grain_texts(grain, paths, labels, label_mode, num_classes, max_length):
    """Keras' `format="grain"` samples: `str` texts, labels as torch tensors."""
    if labels is None:
        return grain.MapDataset.source(paths).map(lambda path: _read_text(path, max_length))
    pairs = list(zip(paths, dataset_utils.labels_tensor(labels, label_mode, num_classes)))
    return grain.MapDataset.source(pairs).map(
        lambda pair: (_read_text(pair[0], max_length), pair[1]))


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None,
                                shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format=None, verbose=True):
    """Batches of texts (and labels) from the `.txt` files under `directory`.

    Arguments and file order as `image_dataset_from_directory`; `max_length` keeps
    the first `max_length` bytes of each file. `subset="both"` returns
    `[training, validation]`. `format="tf"` (TensorFlow installed) returns a
    `tf.data.Dataset` of `tf.string` texts, `format="grain"` (Grain installed) a
    `grain.IterDataset` of tuples of `str`, as Keras does; `fit` reads all three.

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
    library = dataset_utils.check_format_arg(format)
    dataset_utils.check_labels_arg(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels = label_mode = None

    def build(paths, part_labels, names, shuffled, seed):
        if format is None:
            return TextDataset(paths, part_labels, names, label_mode, max_length, batch_size,
                               shuffled, seed)
        num_classes = len(names) if names else 0
        if format == "tf":
            ds = dataset_utils.tf_finish(library, _tf_texts(
                library, paths, part_labels, label_mode, num_classes, max_length, shuffled,
                seed, batch_size * 8 if batch_size is not None else 1024), batch_size)
        else:
            ds = dataset_utils.grain_finish(_grain_texts(
                library, paths, part_labels, label_mode, num_classes, max_length),
                shuffled, seed, batch_size)
        ds.class_names = names  # NOTE: Keras gives text datasets no `file_paths`.
        return ds

    return dataset_utils.directory_datasets(
        build, directory, labels, label_mode, class_names, (".txt",), "text files", shuffle,
        seed, validation_split, subset, follow_links, verbose)
