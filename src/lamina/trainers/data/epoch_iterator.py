"""`EpochIterator`: one object that turns any supported input into device batches, epoch
after epoch, with Keras' `steps_per_epoch` semantics.
"""

import numpy as np
import torch

from lamina import config as keras_config
from lamina import tree
from lamina.backend import config
from lamina.trainers.data import data_utils, generators, torch_loader
from lamina.trainers.data.adapter import DataAdapter
from lamina.trainers.data.arrays import ArrayAdapter
from lamina.trainers.data.generators import GeneratorAdapter
from lamina.trainers.data.grain_dataset import GrainDatasetAdapter, is_grain_dataset
from lamina.trainers.data.py_dataset import PyDataset, PyDatasetAdapter
from lamina.trainers.data.tf_dataset import TFDatasetAdapter, is_tf_dataset
from lamina.trainers.data.torch_loader import DataLoaderAdapter

_ACCEPTED = (
    "numpy arrays, torch tensors, lists/tuples/dicts of them, a Python generator or "
    "iterator, a lamina.utils.PyDataset, a torch.utils.data.DataLoader, a "
    "torch.utils.data.Dataset, a tf.data.Dataset or a Grain dataset"
)
DEFAULT_BATCH_SIZE = 32
_FLOAT32 = np.dtype("float32")


def _is_array_like(x):
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return True
    if isinstance(x, (str, bytes)):
        return False
    return hasattr(x, "__array__") or tree.is_nested(x)


def _check_positive_int(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer or None. Received: {name}={value!r}")
    return int(value)


def _stream_kind(x):
    if isinstance(x, PyDataset):
        return "PyDataset"
    if torch_loader.is_torch_dataloader(x):
        return "torch DataLoader"
    if is_tf_dataset(x):
        return "tf.data.Dataset"
    if is_grain_dataset(x):
        return "grain dataset"
    if generators.is_python_iterator(x):
        return "generator"
    return None


def lone_array_batch(x, device=None):
    """The batch `EpochIterator(x, batch_size=len(x)).single_batch()` gives for `x` a lone
    numeric numpy array or torch tensor with at least one sample (what `predict_on_batch`
    is usually given), built without an adapter; None for anything else, which takes the
    full path (and its errors).

    >>> lone_array_batch(np.ones((2, 3)), device="cpu").dtype
    torch.float32
    """
    if x.__class__ is np.ndarray:
        if x.dtype.kind not in "biuf":
            return None
    elif x.__class__ is not torch.Tensor:
        return None
    if x.ndim == 0 or x.shape[0] == 0:
        return None
    device = torch.device(device) if device is not None else config.get_device()
    if (x.dtype is _FLOAT32 and device.type == "cpu" and x.flags.c_contiguous
            and x.flags.writeable and keras_config.floatx() == "float32"):
        return torch.from_numpy(x)  # the common case: what `as_tensor` gives, in half the time
    batch = data_utils.as_tensor(x, "x")
    if batch.is_cpu if device.type == "cpu" else batch.device == device:
        return batch
    return batch.to(device, non_blocking=True)


class EpochIterator:
    """Yields `(step, data)` batches on the target device, epoch by epoch; `data` is what
    Keras passes to `train_step`: `(x, y)`, `(x, y, sample_weight)` or `x` (see `_finish`).

    Each kind of input is read through its adapter, a `DataAdapter` (`adapter.py`); this
    class adds epochs, `steps_per_epoch`, device placement and class weights on top.

    Args:
        x: numpy arrays / torch tensors (or lists, tuples, dicts of them), a Python
            generator or iterator yielding `x`, `(x, y)` or `(x, y, sample_weight)`, a
            `PyDataset`, a `torch.utils.data.DataLoader`, a `torch.utils.data.Dataset`,
            a `tf.data.Dataset` or a Grain `MapDataset`/`IterDataset`/`DataLoader`.
        y, sample_weight: targets and per-sample weights, for array inputs only.
        batch_size: samples per batch for arrays and torch Datasets (default 32); streams
            that batch by themselves reject it.
        steps_per_epoch: batches per epoch. When set, data flows on across epochs: arrays,
            PyDatasets and DataLoaders start a new pass when one ends; a generator is
            never restarted, and an epoch ends early once it is exhausted.
        shuffle: reshuffle arrays (and torch Datasets) each pass; `"batch"` shuffles
            batch-sized chunks of arrays. A finite PyDataset's batch order is shuffled
            (as in Keras); other streams are expected to shuffle themselves.
        class_weight: dict class index -> weight, turned into per-sample weights
            (multiplied into `sample_weight` when both are given).
        steps_per_execution: kept for the trainer, which groups steps; batches are
            always yielded one at a time.
        device: where batches go (default: `lamina.backend.get_device()`).

    Example:

    >>> import numpy as np
    >>> it = EpochIterator(np.zeros((5, 2)), np.arange(5), batch_size=2, device="cpu")
    >>> [tuple(b[0].shape) for _, b in it.enumerate_epoch()]
    [(2, 2), (2, 2), (1, 2)]
    >>> it.num_batches
    3
    """

    def __init__(self, x=None, y=None, sample_weight=None, batch_size=None,
                 steps_per_epoch=None, shuffle=False, class_weight=None,
                 steps_per_execution=1, device=None):
        self.device = torch.device(device) if device is not None else config.get_device()
        self.steps_per_epoch = _check_positive_int(
            keras_config.capped_steps(steps_per_epoch), "steps_per_epoch")
        self.steps_per_execution = _check_positive_int(
            steps_per_execution, "steps_per_execution"
        )
        batch_size = _check_positive_int(batch_size, "batch_size")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch'. Received: {shuffle!r}")
        self.shuffle = shuffle
        self.class_weight = class_weight
        self._class_weight_table = None  # only streams look weights up per batch
        self.adapter = self._make_adapter(x, y, sample_weight, batch_size, class_weight)
        if class_weight is not None and not isinstance(self.adapter, ArrayAdapter):
            self._class_weight_table = data_utils.class_weight_table(class_weight, self.device)
        self._stream = None  # the batch iterator that outlives an epoch (steps_per_epoch)
        self._exhausted = False  # a one-shot generator has run dry
        self._first_step = 0  # where the next epoch starts (set when resuming)

    def _make_adapter(self, x, y, sample_weight, batch_size, class_weight) -> DataAdapter:
        if x is None:
            raise ValueError(f"`x` must be given: expected {_ACCEPTED}. Received: x=None")
        if class_weight is not None and sample_weight is not None:
            raise ValueError(
                "You cannot `class_weight` and `sample_weight` at the same time: fold the "
                "class weights into `sample_weight` instead."
            )
        kind = _stream_kind(x)
        if kind is not None:
            for name, value in (("y", y), ("sample_weight", sample_weight)):
                if value is not None:
                    raise ValueError(
                        f"When providing `x` as a {kind}, `{name}` should not be passed. "
                        f"Instead, include it in the batches the {kind} yields."
                    )
            # NOTE: like Keras, `batch_size` is ignored here: the stream yields batches.
            if kind == "PyDataset":
                return PyDatasetAdapter(x, shuffle=self.shuffle)
            if kind == "torch DataLoader":
                return DataLoaderAdapter(x)
            if kind == "generator":
                return GeneratorAdapter(x)
            adapter = TFDatasetAdapter(x) if kind == "tf.data.Dataset" else (
                GrainDatasetAdapter(x))
            if adapter.infinite and self.steps_per_epoch is None:
                raise ValueError(
                    f"The {kind} repeats forever, so an epoch never ends: pass "
                    "`steps_per_epoch` to fit (`steps` to evaluate and predict), or "
                    "`validation_steps` for such validation data."
                )
            return adapter
        batch_size = batch_size or DEFAULT_BATCH_SIZE
        if torch_loader.is_torch_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    "When providing `x` as a torch Dataset, `y` and `sample_weight` should "
                    "not be passed: the Dataset's items hold them."
                )
            loader = torch_loader.dataloader_for(x, batch_size, self.shuffle, self.device)
            return DataLoaderAdapter(loader)
        x = data_utils.strings_as_arrays(x)
        if not _is_array_like(x):
            raise ValueError(
                f"Unrecognized data type: x={x!r:.80} (of type {type(x).__name__}). "
                f"Expected {_ACCEPTED}."
            )
        return ArrayAdapter(
            x, y, sample_weight, batch_size=batch_size, shuffle=self.shuffle,
            device=self.device, class_weight=class_weight,
        )

    @property
    def num_batches(self):
        """Batches per epoch, or None when unknown (a generator without steps_per_epoch)."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return self.adapter.num_batches

    def reset(self):
        """Forget the position in the data: the next epoch starts a fresh pass (a
        generator, which cannot be rewound, continues where it is)."""
        self._stream = None
        self._exhausted = False

    def get_state(self):
        """The position in the data (the running pass's order and the batches taken from
        it), or `None` when the source cannot be repositioned (generators, DataLoaders,
        endless PyDatasets)."""
        get_state = getattr(self.adapter, "get_state", None)
        return None if get_state is None else get_state()

    def resume(self, state, step):
        """Continue an interrupted run: the next epoch starts at batch index `step` and the
        data continues where `state` (from `get_state`) left it. Returns the step the next
        epoch starts at: `step`, or 0 when the source cannot be repositioned (`state` is
        None), in which case the epoch starts again from its beginning."""
        self.reset()
        if state is None or not hasattr(self.adapter, "resume"):
            return 0
        if self.steps_per_epoch is None and step == 0:
            return 0  # each epoch is a fresh pass
        if self.steps_per_epoch is not None and state["position"] >= self.adapter.num_batches:
            self._first_step = step
            return step  # the stream goes on with a fresh pass
        self.adapter.resume(state)
        self._first_step = step
        return step

    def _finish(self, batch):
        """One batch in the form Keras gives `train_step(data)`: arrays give `(x, y)`,
        `(x, y, sample_weight)` or `x`; a stream's item keeps its own form (a tuple or
        list becomes a list, as in Keras; bare `x` stays bare), on the device."""
        if isinstance(self.adapter, ArrayAdapter):
            return data_utils.pack_x_y_sample_weight(*batch)
        # Text batched as Python strings (Grain's text datasets) becomes one string array.
        batch = data_utils.strings_as_arrays(batch)
        # NOTE: Keras' PyDataset adapter wraps a bare array batch as `(x,)`; mirrored.
        packed = isinstance(batch, (tuple, list)) or (
            isinstance(self.adapter, PyDatasetAdapter) and not isinstance(batch, dict))
        if packed and not isinstance(batch, (tuple, list)):
            batch = (batch,)
        x, y, sample_weight = data_utils.batch_to_device(
            data_utils.unpack_x_y_sample_weight(batch), self.device)
        table = self._class_weight_table
        if table is not None:
            if y is None:
                raise ValueError(
                    "`class_weight` needs targets, but a batch had none: yield `(x, y)` "
                    "batches."
                )
            weights = data_utils.class_weights_for(data_utils.single_target(y), table)
            if sample_weight is not None:
                sample_weight = weights.reshape((-1,) + (1,) * (sample_weight.ndim - 1)) * (
                    sample_weight
                )
            else:
                sample_weight = weights
        if not packed:
            return x
        return [x, y, sample_weight][:max(len(batch), 3 if sample_weight is not None else 0)]

    def _endless(self):
        """Pass after pass of a re-iterable source, ending only if a pass is empty."""
        while True:
            produced = False
            for batch in self.adapter.iter_pass():
                produced = True
                yield batch
            self.adapter.on_pass_end()
            if not produced:
                return

    def _one_pass(self):
        yield from self.adapter.iter_pass()
        self.adapter.on_pass_end()

    def enumerate_epoch(self):
        """Yield `(step, data)` for one epoch; tensors are on the device."""
        first, self._first_step = self._first_step, 0
        if self.steps_per_epoch is None:
            if self.adapter.reiterable:
                source = self._one_pass()
            elif self._exhausted:
                return
            else:
                source = self.adapter.iter_pass()
            for step, batch in enumerate(source, first):
                yield step, self._finish(batch)
            self._exhausted = not self.adapter.reiterable
            return
        if self._stream is None:
            if self._exhausted:
                return
            self._stream = self._endless() if self.adapter.reiterable else self.adapter.iter_pass()
        for step in range(first, self.steps_per_epoch):
            try:
                batch = next(self._stream)
            except StopIteration:
                self._stream = None
                self._exhausted = True
                return
            yield step, self._finish(batch)

    def single_batch(self):
        """The first batch of an epoch (what `*_on_batch` runs on)."""
        for _, batch in self.enumerate_epoch():
            return batch
        raise ValueError("The batch passed is empty.")

    def __iter__(self):
        return self.enumerate_epoch()
