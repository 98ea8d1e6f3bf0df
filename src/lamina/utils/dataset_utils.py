"""Datasets the `*_dataset_from_*` utilities return, `split_dataset`, directory indexing.

Keras returns `tf.data.Dataset`s here. lamina returns a `BatchDataset`: a `PyDataset`
(so `fit` reads it batch by batch, parallel workers included) that is also a map-style
`torch.utils.data.Dataset` whose items are whole batches, for
`torch.utils.data.DataLoader(ds, batch_size=None)`.
"""

import importlib
import math
import os
import random
from multiprocessing.pool import ThreadPool

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset, random_split

from lamina import tree
from lamina.trainers.data.py_dataset import PyDataset
from lamina.trainers.data.tf_dataset import is_tf_dataset
from lamina.utils import io_utils


class BatchDataset(PyDataset, Dataset):
    """Batches of `batch_size` samples, in order; reshuffled after each epoch if asked.

    Subclasses implement `_load(indices)`, returning the batch of those sample indices.
    With `batch_size=None` items are single samples, as Keras' unbatched datasets.
    Iterating (`for batch in ds`) is one epoch. `fit` calls `on_epoch_end`, which
    reshuffles the sample order when `shuffle` is set (Keras reshuffles tf.data
    each iteration too); a DataLoader only reads items, so it keeps one order.

    >>> import numpy as np
    >>> class Squares(BatchDataset):
    ...     def _load(self, indices):
    ...         return np.asarray(indices) ** 2
    >>> ds = Squares(5, batch_size=2)
    >>> len(ds), [b.tolist() for b in ds]
    (3, [[0, 1], [4, 9], [16]])
    """

    # `fit(shuffle=True)` does not reorder these batches (Keras leaves tf.data alone); the
    # dataset's own `shuffle` reshuffles samples between epochs.
    keeps_batch_order = True

    def __init__(self, num_samples, batch_size=32, shuffle=False, seed=None, order=None):
        PyDataset.__init__(self)
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
            raise ValueError(f"`batch_size` must be a positive integer or None. "
                             f"Received: batch_size={batch_size!r}")
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(num_samples) if order is None else np.asarray(order)

    @property
    def num_samples(self):
        return len(self._order)

    def __len__(self):
        if self.batch_size is None:
            return self.num_samples
        return math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index):
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"{type(self).__name__} index {index} out of range "
                             f"({count} items).")
        index %= count
        if self.batch_size is None:
            return self._load_one(int(self._order[index]))
        return self._load(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def _load_one(self, index):
        """One sample: batch of one, leading axis removed."""
        return _tree_map(lambda v: v[0], self._load(np.array([index])))

    def _load(self, indices):
        raise NotImplementedError

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)

    def __repr__(self):
        return (f"<{type(self).__name__} samples={self.num_samples} "
                f"batch_size={self.batch_size}>")


def _tree_map(fn, value):
    if isinstance(value, tuple):
        return tuple(_tree_map(fn, v) for v in value)
    return fn(value)


def labels_tensor(labels, label_mode, num_classes):
    """Int labels as Keras gives them: int32, one-hot float32, or float32 `(n, 1)`."""
    labels = torch.as_tensor(np.asarray(labels, dtype="int32"))
    if label_mode == "binary":
        return labels.to(torch.float32)[:, None]
    if label_mode == "categorical":
        return torch.nn.functional.one_hot(labels.long(), num_classes).to(torch.float32)
    return labels


# --- split_dataset -----------------------------------------------------------------


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Split a dataset (arrays, a tuple/list of arrays, or a torch `Dataset`) in two.

    As Keras 3 on torch: the result is two `torch.utils.data.Subset`s of a
    `TensorDataset` (one item per sample); `fit` and `DataLoader` take them. A seeded
    shuffle gives Keras' split (`random_split`); without `shuffle` the left part is the
    first samples. A `tf.data.Dataset`, or `preferred_backend="tensorflow"`, gives two
    `tf.data.Dataset`s split as Keras splits them (TensorFlow installed).

    Args:
        dataset: a numpy array, a list/tuple of equally long arrays, a torch `Dataset`,
            a `BatchDataset` (unbatched to samples first) or a `tf.data.Dataset`.
        left_size, right_size: an int (samples) or a float in (0, 1) (a fraction of
            the samples); a missing one is the complement of the other.
        shuffle: whether to shuffle the samples before splitting.
        seed: seed of that shuffle.
        preferred_backend: None (torch datasets, or tf.data for a tf.data input),
            `"torch"` or `"tensorflow"`.

    >>> import numpy as np
    >>> left, right = split_dataset(np.arange(10.0), left_size=0.8)
    >>> len(left), len(right)
    (8, 2)
    """
    if preferred_backend not in (None, "torch", "tensorflow"):
        raise ValueError("split_dataset: lamina splits into torch datasets, or tf.data "
                         'datasets with preferred_backend="tensorflow"; '
                         f"preferred_backend={preferred_backend!r} is not available.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be "
                         "specified. Received: left_size=None and right_size=None")
    if preferred_backend == "tensorflow" or preferred_backend is None and is_tf_dataset(
            dataset):
        return _split_tf_dataset(dataset, left_size, right_size, shuffle, seed)
    dataset = _as_torch_dataset(dataset)
    total = len(dataset)
    left, right = _split_sizes(left_size, right_size, total)
    if not shuffle:
        # NOTE: Keras on torch calls `random_split` without a generator here, which
        # shuffles anyway; lamina keeps the documented order (left first).
        return Subset(dataset, range(left)), Subset(dataset, range(left, left + right))
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    if left + right == total:
        return tuple(random_split(dataset, [left, right], generator=generator))
    order = torch.randperm(total, generator=generator).tolist()
    return Subset(dataset, order[:left]), Subset(dataset, order[left:left + right])


def _split_tf_dataset(dataset, left_size, right_size, shuffle, seed):
    """Keras' split into two `tf.data.Dataset`s: samples in memory, shuffled as
    `random.seed(seed); random.shuffle(samples)` orders them, the left part first and the
    right part last, each batched again as a batched `dataset` was."""
    tf = check_format_arg("tf")
    batch_size = None
    if is_tf_dataset(dataset):
        batch_size = getattr(dataset, "_batch_size", None)
        samples = list((dataset.unbatch() if batch_size is not None else dataset)
                       .as_numpy_iterator())
    elif isinstance(dataset, np.ndarray):
        samples = list(dataset)
    elif isinstance(dataset, (list, tuple)):
        samples = list(zip(*dataset))
    else:
        raise TypeError("The `dataset` argument must be either a `tf.data.Dataset` object, "
                        "or a list/tuple of arrays. "
                        f"Received: dataset={dataset!r:.80} of type {type(dataset)}")
    total = len(samples)
    left, right = _split_sizes(left_size, right_size, total)
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(samples)

    def part(rows):
        columns = tree.map_structure(lambda *leaves: np.stack(leaves), *rows)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if batch_size is not None:
            ds = ds.batch(batch_size)
        return ds.prefetch(tf.data.AUTOTUNE)

    return part(samples[:left]), part(samples[total - right:])


def _as_torch_dataset(dataset):
    if isinstance(dataset, BatchDataset):
        return _unbatched(dataset)
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, np.ndarray):
        return TensorDataset(torch.from_numpy(dataset))
    if isinstance(dataset, (list, tuple)):
        arrays = [torch.as_tensor(np.asarray(a)) for a in dataset]
        lengths = {len(a) for a in arrays}
        if len(lengths) > 1:
            raise ValueError("split_dataset: the arrays in `dataset` must have the same "
                             f"length; received lengths {[len(a) for a in arrays]}.")
        return TensorDataset(*arrays)
    raise TypeError("The `dataset` argument must be a `torch.utils.data.Dataset` object, "
                    "or a list/tuple of arrays. "
                    f"Received: dataset={dataset!r:.80} of type {type(dataset)}")


def _unbatched(dataset):
    batches = [dataset[i] for i in range(len(dataset))]
    if dataset.batch_size is None:
        batches = [_tree_map(lambda v: v[None], b) for b in batches]
    if isinstance(batches[0], tuple):
        columns = zip(*batches)
    else:
        columns = [batches]
    tensors = []
    for column in columns:
        if isinstance(column[0], torch.Tensor):
            tensors.append(torch.cat(column))
        else:
            raise TypeError("split_dataset: only datasets of numeric batches can be split; "
                            f"this one holds {type(column[0]).__name__} batches.")
    return TensorDataset(*tensors)


def _split_sizes(left_size, right_size, total):
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(size)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and not 0 < size < total
                or type(size) is float and not 0 < size < 1):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. "
                             f"Received: {name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It "
                         "must be less than or equal to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than "
                         f"the {total}. Received: left_size + right_size = {left + right}")
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}. Resulting {side} side dataset split "
                             "will be empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


# --- directories of files ----------------------------------------------------------


_FORMATS = {"tf": ("tensorflow", "a tf.data.Dataset", "tensorflow"),
            "grain": ("grain", "a grain.IterDataset", "grain")}


def check_format_arg(format):
    """The library behind Keras' `format="tf"`/`"grain"` (TensorFlow or Grain, imported
    here on first use: both are optional), or None for lamina's `BatchDataset`."""
    if format is None:
        return None
    if format not in _FORMATS:
        raise ValueError(f'`format` should be None, "tf" or "grain". Received: format={format}')
    module, returns, package = _FORMATS[format]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f'format="{format}" returns {returns}, as Keras does, which needs {module}: '
            f"`pip install {package}`, or leave `format` unset for a dataset that `fit` "
            "and `torch.utils.data.DataLoader` both read.") from e


def tf_labels(tf, labels, label_mode, num_classes):
    """A tf.data.Dataset of `labels` as Keras encodes them (int32, one-hot float32, or
    float32 `(1,)` for binary)."""
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(labels, dtype="int32"))
    if label_mode == "binary":
        return ds.map(lambda y: tf.cast(y, "float32")[None])
    if label_mode == "categorical":
        return ds.map(lambda y: tf.one_hot(y, num_classes))
    return ds


def tf_files(tf, paths, labels, label_mode, num_classes, shuffle, seed, shuffle_buffer_size,
             read):
    """Keras' `format="tf"` pipeline over files: paths (zipped with their encoded labels),
    shuffled with the buffer Keras uses, then each path mapped through `read` in parallel."""
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if labels is not None:
        ds = tf.data.Dataset.zip((ds, tf_labels(tf, labels, label_mode, num_classes)))
    if shuffle:
        ds = ds.shuffle(buffer_size=shuffle_buffer_size, seed=seed)
    if labels is None:
        return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(lambda path, label: (read(path), label), num_parallel_calls=tf.data.AUTOTUNE)


def tf_finish(tf, ds, batch_size):
    """Batch (unless `batch_size` is None) and prefetch, as Keras ends its pipelines."""
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


def grain_stack(values):
    """Grain's `batch_fn`: samples stacked into torch tensors; text stays a tuple of
    Python strings (what Keras' torch backend gives)."""
    def stack(*leaves):
        if isinstance(leaves[0], (str, bytes)):
            return leaves
        return torch.stack([torch.as_tensor(leaf) for leaf in leaves])

    return tree.map_structure(stack, *values)


def grain_finish(grain_samples, shuffle, seed, batch_size):
    """Keras' Grain pipeline over a `grain.MapDataset` of samples: a seeded shuffle, then
    an `IterDataset`, batched unless `batch_size` is None."""
    if shuffle:
        grain_samples = grain_samples.shuffle(seed=seed)
    ds = grain_samples.to_iter_dataset()
    if batch_size is not None:
        ds = ds.batch(batch_size, batch_fn=grain_stack)
    return ds


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")


def check_labels_arg(labels, label_mode, class_names):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, "
                             "of the same size as the number of files in the target "
                             'directory, "inferred" (from the subdirectory names) or None '
                             f"(no labels). Received: labels={labels!r}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode!r}')


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """`(file_paths, labels, class_names)` of the files under `directory`, Keras' order.

    Class folders are the sorted visible subdirectories (or `class_names`, in that
    order); files are sorted within each folder. With `shuffle`, paths and labels are
    permuted by `np.random.RandomState(seed)`, as Keras does, so a seed gives Keras'
    file order.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Directory not found: {directory!r}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if not subdirs:
            raise ValueError(f"No class folders found in directory {directory!r}: with "
                             '`labels="inferred"` each class is a subdirectory. Pass '
                             "`labels=None` to read the files without labels.")
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 "subdirectories of the target directory. Expected: "
                                 f"{subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot "
                             "be specified." if labels is None else
                             "When argument `labels` is specified, argument `class_names` "
                             "cannot be specified (the `class_names` will be the sorted "
                             "list of labels).")
    formats = tuple(formats)
    with ThreadPool() as pool:
        parts = pool.starmap(_index_subdirectory,
                             [(directory, d, i, follow_links, formats)
                              for i, d in enumerate(subdirs)])
    filenames = [name for names, _ in parts for name in names]
    if labels == "inferred":
        labels = np.array([label for _, part in parts for label in part], dtype="int32")
        class_names = subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError("Expected the lengths of `labels` to match the number of files "
                             f"in the target directory. len(labels) is {len(labels)} while "
                             f"we found {len(filenames)} files in directory {directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        if labels is None:
            io_utils.print_msg(f"Found {len(filenames)} files.")
        else:
            io_utils.print_msg(f"Found {len(filenames)} files belonging to "
                               f"{len(class_names)} classes.")
    file_paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return file_paths, labels, class_names


def _index_subdirectory(directory, subdir, label, follow_links, formats):
    root_dir = os.path.join(directory, subdir)
    names = []
    for root, _, files in sorted(os.walk(root_dir, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                names.append(os.path.join(subdir, os.path.relpath(os.path.join(root, fname),
                                                                  root_dir)))
    return names, [label] * len(names)


def directory_datasets(build, directory, labels, label_mode, class_names, formats, what,
                       shuffle, seed, validation_split, subset, follow_links, verbose):
    """The datasets `*_dataset_from_directory` return: index `directory` the Keras way,
    split it, and `build(paths, labels, class_names, shuffle, seed)` each part (a list
    `[training, validation]` for `subset="both"`). `what` names the files in errors."""
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(
        directory, labels, formats=formats, class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    paths = np.array(paths, dtype=object)

    def part(name, shuffled):
        part_paths, part_labels = training_or_validation_split(
            paths, labels, validation_split, name, verbose)
        if not len(part_paths):
            which = f"{name} " if subset == "both" else ""
            raise ValueError(f"No {which}{what} found in directory {directory}. "
                             f"Allowed formats: {formats}")
        return build(part_paths.tolist(), part_labels, class_names, shuffled, seed)

    if subset == "both":
        return [part("training", shuffle), part("validation", False)]
    return part(subset, shuffle)


def training_or_validation_split(samples, labels, validation_split, subset, verbose=True):
    """Keras' split: the last `int(validation_split * n)` samples are the validation set."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            io_utils.print_msg(f"Using {len(samples) - num_val} files for training.")
        keep = slice(None, len(samples) - num_val)
    elif subset == "validation":
        if verbose:
            io_utils.print_msg(f"Using {num_val} files for validation.")
        keep = slice(len(samples) - num_val, None)
    else:
        raise ValueError(f'`subset` must be either "training" or "validation", received: '
                         f"{subset}")
    return samples[keep], None if labels is None else labels[keep]
