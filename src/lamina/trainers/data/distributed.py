"""Each process's share of every global batch, for data-parallel `fit`/`evaluate`/`predict`.

`batch_size` is the global batch, as in Keras. Every process walks the same global
batches in the same order (the trainer gives all processes rank 0's random state, so a
shuffled pass is the same permutation everywhere), and keeps rows `[lo, hi)` of each:
process `r` of `n` gets `size // n` rows, one more when `r < size % n` (`torch.tensor_split`'s
rule). The union of the shares is exactly the batch one process would have used, so
training matches a single process step for step.

What each process reads: a map-style torch `DataLoader` (or `Dataset`) is rebuilt over a
batch sampler that hands it only its rows' indices, so it loads only its share; arrays
are cut to the global batch (a view when unshuffled) and sliced; generators, `PyDataset`s
and iterable DataLoaders are read whole by every process and sliced (they must yield the
same batches in every process).

A process whose share of a short last batch is empty still takes one row, so that it
joins the step's collectives; `dummy_batch` names that batch and its gradient and metric
contributions are discarded (weight 0, metrics put back).
"""

from collections import deque

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, IterableDataset

from lamina.trainers.data.epoch_iterator import EpochIterator
from lamina.trainers.data.torch_loader import DataLoaderAdapter


def share_bounds(size, rank, world):
    """Rows `[lo, hi)` of a `size`-row batch that process `rank` of `world` takes.

    >>> [share_bounds(5, r, 2) for r in range(2)]
    [(0, 3), (3, 5)]
    """
    base, extra = divmod(size, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def _rows(value):
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim > 0:
        return int(value.shape[0])
    return None


def _first_rows(batch):
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        for item in batch:
            rows = _first_rows(item)
            if rows is not None:
                return rows
        return None
    return _rows(batch)


def _slice(batch, lo, hi, size):
    """Rows `[lo, hi)` of every leaf of `batch` that has `size` rows."""
    if isinstance(batch, dict):
        return {k: _slice(v, lo, hi, size) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_slice(v, lo, hi, size) for v in batch)
    return batch[lo:hi] if _rows(batch) == size else batch


class _ShareSampler:
    """A batch sampler yielding this process's share of each global batch's indices; the
    global sizes wait in `sizes` for the batches to come out of the loader."""

    def __init__(self, batch_sampler, rank, world):
        self.batch_sampler = batch_sampler
        self.rank, self.world = rank, world
        self.sizes = deque()

    def __iter__(self):
        self.sizes.clear()  # a pass abandoned half-way left its sizes behind
        for indices in self.batch_sampler:
            indices = list(indices)
            lo, hi = share_bounds(len(indices), self.rank, self.world)
            self.sizes.append(len(indices))
            yield indices[lo:hi] if hi > lo else indices[:1]

    def __len__(self):
        return len(self.batch_sampler)


def _sharded_loader(loader, rank, world):
    """`loader` over the same dataset, sampler and collation, loading only this
    process's rows of each batch (None when it cannot be: iterable datasets)."""
    if isinstance(loader.dataset, IterableDataset) or not isinstance(
            loader.batch_sampler, BatchSampler):
        return None
    sampler = _ShareSampler(loader.batch_sampler, rank, world)
    options = {}
    if loader.num_workers > 0:
        options = {"prefetch_factor": loader.prefetch_factor,
                   "persistent_workers": loader.persistent_workers,
                   "multiprocessing_context": loader.multiprocessing_context}
    return DataLoader(loader.dataset, batch_sampler=sampler, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                      timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                      generator=loader.generator, **options), sampler


class ShardedEpochIterator(EpochIterator):
    """An `EpochIterator` yielding this process's share of each global batch.

    Args:
        rank, world: this process and how many there are.
        shard: False when each process's data is its share already
            (`auto_shard_dataset=False`): batches pass through whole.
        weights: a deque that receives, per training batch, the weight of this process's
            gradient (its rows over the global batch's), or None (evaluation).
        shares: a list that receives the rows kept of each batch (0 for a dummy row),
            or None.
        **kwargs: as `EpochIterator`.
    """

    def __init__(self, *, rank, world, shard=True, weights=None, shares=None, **kwargs):
        self.rank, self.world, self.shard = rank, world, shard
        self.weights = weights
        self.dummy_batch = None  # the last batch taken only to join the collectives
        self.shares = shares
        self._sampler = None
        self.epoch_started = False  # until the step loop has seen the new epoch
        super().__init__(**kwargs)

    def _make_adapter(self, *args):
        adapter = super()._make_adapter(*args)
        if self.shard and isinstance(adapter, DataLoaderAdapter):
            sharded = _sharded_loader(adapter.loader, self.rank, self.world)
            if sharded is not None:
                loader, self._sampler = sharded
                adapter = DataLoaderAdapter(loader)
        return adapter

    def enumerate_epoch(self):
        if self.shares is not None:
            self.shares.clear()
        self.epoch_started = True
        yield from super().enumerate_epoch()

    def _finish(self, batch):
        batch = super()._finish(batch)
        if not self.shard:
            if self.weights is not None:
                self.weights.append(1.0 / self.world)
            return batch
        if self._sampler is not None:
            size = self._sampler.sizes.popleft()
            lo, hi = share_bounds(size, self.rank, self.world)
        else:
            size = _first_rows(batch)
            lo, hi = share_bounds(size, self.rank, self.world)
            batch = _slice(batch, lo, hi, size) if hi > lo else _slice(batch, 0, 1, size)
        if self.weights is not None:
            self.weights.append((hi - lo) / size)
        if self.shares is not None:
            self.shares.append(hi - lo)
        if hi == lo:
            self.dummy_batch = batch
        return batch
