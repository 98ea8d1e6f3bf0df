"""Data-parallel `fit`, `evaluate` and `predict` over the processes of a torch.distributed job.

`start(model)` returns None unless a distribution is set and several processes run: the
single-process loops never see this module. Otherwise the returned `DataParallelRun`
gives the loop:

- a `ShardedEpochIterator` (this process's share of each global batch, same order
  everywhere: rank 0's random state is given to every process first);
- for training, torch's `DistributedDataParallel` over the model, driven by forward
  hooks on the model itself, so `model(x)` in any `train_step` (built-in or overridden)
  joins the bucketed, backward-overlapped gradient all-reduce, and callbacks still see
  the Keras model. Its communication hook weighs each process's gradient by its share of
  the batch (rows / global rows) before summing, so an uneven last batch averages as one
  process would;
- metric logs that are global: after a step one asynchronous all-reduce of the metric
  variables starts (overlapping the next step), and reading the logs waits for it. It
  runs after every step when a callback reads batch logs, else every `REDUCE_EVERY`
  steps and on each epoch's first (the progress bar, on process 0 only, shows the last
  one). Epoch and `evaluate` results are reduced on every process at the same point;
- `predict` outputs gathered from all processes in the original order.

`ModelParallel` splits the batch over its mesh's batch axis (the processes of one model
replica read the same share, as in Keras) and shards the variables its `LayoutMap` splits
with FSDP2 (`trainers/sharding.py`) instead of DDP; with a layout map that splits nothing
it runs as DataParallel.

All collectives are torch.distributed's; nothing here sends data by itself.
"""

import contextlib
from collections import deque
from collections.abc import Mapping

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lamina import tree
from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.callbacks.callback_list import _overrides
from lamina.callbacks.history import History
from lamina.callbacks.model_checkpoint import ModelCheckpoint
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.distribution import distribution_lib
from lamina.trainers.data.distributed import ShardedEpochIterator
from lamina.trainers.logs import materialize_logs
from lamina.trainers.sharding import ModelSharding

_RUN_KEY = "_data_parallel_run"
# How metric variables combine across processes, by their `aggregation`.
_SUMMED = ("sum", None)
# Steps between metric reductions when no callback reads batch logs (see above).
REDUCE_EVERY = 16
_BATCH_END_HOOKS = ("on_train_batch_end", "on_test_batch_end")


def _reads_batch_logs(callbacks):
    """Whether a callback other than the progress bar, History and an every-epoch
    ModelCheckpoint/BackupAndRestore may read batch logs (or weights) at a batch's end (the
    same answer on every process: only process 0 has a progress bar)."""
    return any(_overrides(c, hook) for c in callbacks.callbacks
               if not isinstance(c, (ProgbarLogger, History)) and not _saves_per_epoch(c)
               for hook in _BATCH_END_HOOKS)


def _saves_per_epoch(callback):
    return (isinstance(callback, (ModelCheckpoint, BackupAndRestore))
            and getattr(callback, "save_freq", None) == "epoch")


def start(model, training=False):
    """A `DataParallelRun` for this loop, or None in a single process."""
    world = distribution_lib.data_parallel_world()
    if world is None:
        return None
    if training:
        stale = model.__dict__.pop(_RUN_KEY, None)
        if stale is not None:
            stale.close()  # a fit that raised left its hooks behind
    run = DataParallelRun(model, *world, training=training)
    if training:
        model.__dict__[_RUN_KEY] = run
    return run


def _share_weight_hook(run, bucket):
    """DDP communication hook: this process's gradient times its share of the batch,
    summed over processes (the global batch's mean gradient)."""
    buffer = bucket.buffer()
    buffer.mul_(run.weight)
    work = dist.all_reduce(buffer, async_op=True)
    return work.get_future().then(lambda future: future.value()[0])


class DataParallelRun:
    """What one data-parallel `fit`/`evaluate`/`predict` needs; see the module docstring."""

    def __init__(self, model, rank, world, training=False):
        self.model = model
        self.rank, self.world = rank, world
        self.chief = rank == 0
        self.training = training
        current = distribution_lib.distribution()
        self.shard = current.auto_shard_dataset
        # Data shards: one per model replica; the processes of a replica read the same.
        self.shards = max(1, min(current.num_model_replicas, world))
        self.shard_id = rank // (world // self.shards) if self.shards < world else rank
        self.copies = world // self.shards  # processes holding each shard
        self._sharding = None
        if training and isinstance(current, distribution_lib.ModelParallel):
            self._sharding = ModelSharding(model, current)
        self.weights = deque() if training else None
        self.weight = 1.0 / world
        self.shares = None
        self._ddp = None
        self._hooks = []
        self._metric_variables = None
        self._metric_scales = None
        self._every = 1
        self._steps = 0
        self._last = None  # the latest reduction: (summed values, its work handle)
        if training:
            self._share_random_state()

    # -- data ------------------------------------------------------------------------------
    def epoch_iterator(self, **kwargs):
        """This process's `ShardedEpochIterator` over the loop's data."""
        if self.shares is None and not self.training:
            self.shares = []
        return ShardedEpochIterator(rank=self.shard_id, world=self.shards, shard=self.shard,
                                    weights=self.weights, shares=self.shares, **kwargs)

    def _share_random_state(self):
        """Every process continues from rank 0's random state, so shuffles agree."""
        states = [torch.get_rng_state(),
                  torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None]
        dist.broadcast_object_list(states, src=0)
        torch.set_rng_state(states[0])
        if states[1] is not None:
            torch.cuda.set_rng_state_all(states[1])

    # -- gradients -------------------------------------------------------------------------
    def _attach(self):
        """DDP (or FSDP2 for a sharding ModelParallel) over the (built) model, run by
        forward hooks on the model."""
        model = self.model
        if self._sharding is not None and self._sharding.make_plan():
            pre, post = self._sharding.attach(scale=lambda: self.weight * self.world)
            self._ddp = self._sharding
        else:
            self._sharding = None
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
            ddp = DistributedDataParallel(
                model, device_ids=[device] if device.type == "cuda" else None)
            ddp.register_comm_hook(self, _share_weight_hook)
            self._ddp = ddp

            def pre(args, kwargs):
                return ddp._pre_forward(*args, **kwargs)

            def post(args, output):
                return ddp._post_forward(output)

        def before(module, args, kwargs):
            if torch.is_grad_enabled():
                self.weight = (self.weights.popleft() / self.copies if self.weights
                               else 1.0 / self.world)
            return pre(args, kwargs)

        def after(module, args, output):
            return post(args, output)

        self._hooks = [model.register_forward_pre_hook(before, with_kwargs=True),
                       model.register_forward_hook(after)]

    def _build(self, batch):
        """Build a model that builds on its first batch, so DDP can see its weights."""
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        with torch.no_grad():
            self.model(x)

    def close(self):
        """Remove the hooks and the DDP reducer (the model is left as it was; sharded
        variables are gathered whole again)."""
        if self._sharding is not None:
            self._sharding.detach()
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        self._ddp = None
        if self.model.__dict__.get(_RUN_KEY) is self:
            del self.model.__dict__[_RUN_KEY]

    # -- steps -----------------------------------------------------------------------------
    def train_function(self, function, iterator, callbacks):
        """`function` (the model's train function) run data-parallel."""
        self._every = 1 if _reads_batch_logs(callbacks) else REDUCE_EVERY

        def train_function(batches):
            if self._ddp is None:
                if not self.model.built:
                    self._build(batches[0])
                self._attach()
            return self._run(function, batches, iterator)

        return train_function

    def test_function(self, function, iterator, callbacks):
        """`function` (the model's test function) with global logs."""
        self._every = 1 if _reads_batch_logs(callbacks) else REDUCE_EVERY
        return lambda batches: self._run(function, batches, iterator)

    def _run(self, function, batches, iterator):
        sharding = self._sharding if self._ddp is not None else None
        if sharding is not None:
            sharding.scatter()
        dummy = iterator.dummy_batch
        if dummy is not None and batches[-1] is dummy:
            if len(batches) > 1:
                function(batches[:-1])
            with self._metrics_put_back():
                function(batches[-1:])
            iterator.dummy_batch = None
        else:
            function(batches)
        self._steps += 1
        if sharding is not None:
            sharding.after_step()
            if self._every == 1:
                sharding.gather()  # a callback may read the weights after this step
        if iterator.epoch_started or self._steps % self._every == 0:
            iterator.epoch_started = False
            self._last = self._reduce(async_op=True)
        return _GlobalLogs(self, *self._last)

    @contextlib.contextmanager
    def _metrics_put_back(self):
        saved = [v.detach().clone() for v in self._variables()]
        yield
        with torch.no_grad():
            for variable, value in zip(self._variables(), saved):
                variable.copy_(value)

    # -- metrics ---------------------------------------------------------------------------
    def _variables(self):
        variables = self.model.metrics_variables
        if self._metric_variables is None or len(variables) != len(self._metric_variables):
            self._metric_variables = variables
            # Summed states add up (once per shard); a mean's average; any other is
            # rank 0's.
            scales = []
            for v in variables:
                aggregation = getattr(v, "aggregation", None)
                scale = (1.0 / self.copies if aggregation in _SUMMED else
                         1.0 / self.world if aggregation == "mean" else float(self.chief))
                scales.append(scale)
            self._metric_scales = scales
        return self._metric_variables

    def _reduce(self, async_op):
        """Start (or run) the sum over processes of the metric variables' values."""
        variables = self._variables()
        if not variables:
            return None, None
        flat = torch.cat([v.detach().reshape(-1).to(torch.float64) * scale
                          for v, scale in zip(variables, self._metric_scales)])
        work = dist.all_reduce(flat, async_op=async_op)
        return flat, work

    def _global_results(self, flat, work):
        """The model's metric results computed from the summed state `flat`; the local
        state is put back afterwards."""
        if flat is None:
            return self.model.get_metrics_result()
        if work is not None:
            work.wait()
        variables = self._variables()
        saved = [v.detach().clone() for v in variables]
        offset = 0
        with torch.no_grad():
            for v in variables:
                n = v.numel()
                v.copy_(flat[offset:offset + n].reshape(v.shape).to(v.dtype))
                offset += n
            results = {k: (r.clone() if isinstance(r, torch.Tensor) else r)
                       for k, r in self.model.get_metrics_result().items()}
            for v, value in zip(variables, saved):
                v.copy_(value)
        return results

    def metrics_result(self):
        """The global metric values, as Python numbers (a collective: every process
        calls it at the same point)."""
        flat, _ = self._reduce(async_op=False)
        if self._sharding is not None and self._ddp is not None:
            self._sharding.gather()  # epoch end: callbacks may save the weights
        return materialize_logs(self._global_results(flat, None))

    # -- predict ---------------------------------------------------------------------------
    def gather_predictions(self, result):
        """The full `predict` result, in the original order, from every process's part."""
        parts = [None] * self.world
        dist.all_gather_object(parts, (self.shares, result))
        parts = parts[::self.copies]  # one process per data shard, in shard order
        leaves_per_rank = [tree.flatten(part) for _, part in parts]
        shares = [np.asarray(s, dtype=np.int64) for s, _ in parts]
        # Row offsets of each batch in each process's output (a dummy row takes one).
        offsets = [np.concatenate([[0], np.cumsum(np.maximum(s, 1))]) for s in shares]
        gathered = []
        for leaf in range(len(leaves_per_rank[0])):
            pieces = []
            for b in range(len(shares[0])):
                for r in range(self.shards):
                    if shares[r][b] > 0:
                        start = offsets[r][b]
                        pieces.append(leaves_per_rank[r][leaf][start:start + shares[r][b]])
            gathered.append(np.concatenate(pieces))
        return tree.pack_sequence_as(result, gathered)


class _GlobalLogs(Mapping):
    """A step's logs with global values: reading waits for the step's metric reduction."""

    __slots__ = ("_run", "_flat", "_work", "_cache")

    def __init__(self, run, flat, work):
        self._run, self._flat, self._work = run, flat, work
        self._cache = None

    def _values(self):
        if self._cache is None:
            self._cache = self._run._global_results(self._flat, self._work)
        return self._cache

    def __getitem__(self, key):
        return self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(materialize_logs(self))
