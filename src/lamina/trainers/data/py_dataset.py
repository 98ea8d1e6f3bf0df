"""`PyDataset` (alias `Sequence`): batches by index, optionally prefetched in parallel."""

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import torch


class PyDataset:
    """Base class for datasets that return whole batches by index.

    Subclasses implement `__len__` (number of batches) and `__getitem__(index)` returning
    `x`, `(x, y)` or `(x, y, sample_weight)` for batch `index`. For an endless dataset,
    override `num_batches` to return None instead of defining `__len__`.

    Args:
        workers: how many batches to prepare concurrently (1: in the training loop).
        use_multiprocessing: prepare batches in worker processes instead of threads
            (for Python-heavy `__getitem__`; the dataset must be picklable where `fork`
            is unavailable).
        max_queue_size: most batches prepared ahead of the one being used.

    Example:

    >>> import numpy as np
    >>> class Halves(PyDataset):
    ...     def __init__(self, x, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.batch_size = x, batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, i):
    ...         batch = self.x[i * self.batch_size:(i + 1) * self.batch_size]
    ...         return batch, batch / 2
    >>> ds = Halves(np.arange(5.0), batch_size=2)
    >>> ds.num_batches, ds[2]
    (3, (array([4.]), array([2.])))
    """

    # Class-level defaults keep subclasses that skip `super().__init__()` working.
    _workers = 1
    _use_multiprocessing = False
    _max_queue_size = 10

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if int(workers) < 1:
            raise ValueError(f"`workers` must be >= 1. Received: workers={workers!r}")
        if int(max_queue_size) < 1:
            raise ValueError(
                f"`max_queue_size` must be >= 1. Received: max_queue_size={max_queue_size!r}"
            )
        self._workers = int(workers)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = int(max_queue_size)

    @property
    def workers(self):
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = int(value)

    @property
    def use_multiprocessing(self):
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = bool(value)

    @property
    def max_queue_size(self):
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = int(value)

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__getitem__(index)` returning batch "
            "`index` as `x`, `(x, y)` or `(x, y, sample_weight)`."
        )

    @property
    def num_batches(self):
        """Batches in one epoch: `len(self)`, or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__len__` (batches per epoch) or override "
            "the `num_batches` property (return None for an endless dataset)."
        )

    def on_epoch_begin(self):
        """Called before each pass over the data."""

    def on_epoch_end(self):
        """Called after each pass over the data (e.g. to reshuffle)."""


Sequence = PyDataset

# The dataset a forked worker process reads from (set once per worker by the initializer).
_WORKER_DATASET = None


def _set_worker_dataset(dataset):
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _worker_getitem(index):
    return _WORKER_DATASET[index]


def _indices(num_batches, shuffle=False):
    """Batch indices for one pass: in order, or a fresh permutation when `shuffle` (Keras
    shuffles a PyDataset's batch order in `fit`; an endless dataset is never shuffled)."""
    if shuffle and num_batches is not None:
        yield from torch.randperm(num_batches).tolist()
        return
    index = 0
    while num_batches is None or index < num_batches:
        yield index
        index += 1


def _make_executor(dataset):
    if not dataset.use_multiprocessing:
        return ThreadPoolExecutor(max_workers=dataset.workers), dataset.__getitem__
    methods = multiprocessing.get_all_start_methods()
    # NOTE: fork shares the dataset without pickling; a new pool per pass also sees any
    # state `on_epoch_end` changed in the parent.
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    executor = ProcessPoolExecutor(
        max_workers=dataset.workers,
        mp_context=context,
        initializer=_set_worker_dataset,
        initargs=(dataset,),
    )
    return executor, _worker_getitem


def _prefetched(dataset, indices):
    """Yield `dataset[i]` for each of `indices` in turn while up to `max_queue_size` later
    batches are prepared."""
    executor, getitem = _make_executor(dataset)
    pending = deque()
    try:
        for index in indices:
            pending.append(executor.submit(getitem, index))
            if len(pending) >= dataset.max_queue_size:
                break
        while pending:
            item = pending.popleft().result()
            for index in indices:
                pending.append(executor.submit(getitem, index))
                break
            yield item
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


class PyDatasetAdapter:
    """Streams a `PyDataset`'s batches as they are, one pass per epoch."""

    reiterable = True

    def __init__(self, dataset, shuffle=False):
        self.dataset = dataset
        # A dataset that stands for Keras' tf.data ones (the `utils.*_dataset_from_*`
        # results) keeps its batch order in `fit`, as Keras never reorders a tf.data.
        self.shuffle = bool(shuffle) and not getattr(dataset, "keeps_batch_order", False)
        num_batches = dataset.num_batches
        if num_batches is not None and num_batches < 1:
            raise ValueError(
                f"The {type(dataset).__name__} is empty: `num_batches` is {num_batches}. "
                "It must hold at least one batch."
            )
        self.num_batches = num_batches
        # The running pass of a finite dataset: its batch order and batches given so far.
        self.order = None
        self.position = 0
        self._resume = None

    def iter_pass(self):
        dataset = self.dataset
        dataset.on_epoch_begin()
        resume, self._resume = self._resume, None
        if self.num_batches is None:
            indices = _indices(None)
        else:
            self.order = (resume["order"] if resume is not None else
                          torch.tensor(list(_indices(self.num_batches, self.shuffle))))
            self.position = 0 if resume is None else int(resume["position"])
            indices = iter(self.order[self.position:].tolist())
        if dataset.workers > 1 or dataset.use_multiprocessing:
            items = _prefetched(dataset, indices)
        else:
            items = (dataset[i] for i in indices)
        if self.num_batches is None:
            yield from items
            return
        for item in items:
            self.position += 1
            yield item

    def get_state(self):
        """The running pass's batch order and the batches given (None when endless)."""
        if self.num_batches is None or self.order is None:
            return None
        return {"order": self.order.clone(), "position": self.position}

    def resume(self, state):
        """Make the next pass continue the one `state` (from `get_state`) describes."""
        if state["order"].numel() != self.num_batches:
            raise ValueError(
                f"The saved batch order ({state['order'].numel()} batches) does not fit this "
                f"{type(self.dataset).__name__} ({self.num_batches} batches): resume with "
                "the data of the interrupted run."
            )
        self._resume = state

    def on_pass_end(self):
        self.dataset.on_epoch_end()
