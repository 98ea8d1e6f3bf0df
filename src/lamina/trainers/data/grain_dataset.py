"""Grain inputs (`grain.MapDataset`, `grain.IterDataset`, `grain.DataLoader`), when Grain
is installed (it is never imported here).

Grain yields numpy batches already; each pass iterates the dataset afresh and
`EpochIterator` moves the batches to the device.
"""

import sys

_GRAIN_CLASSES = ("MapDataset", "IterDataset", "DataLoader")


def is_grain_dataset(x):
    """True for a Grain dataset or DataLoader, without importing Grain.

    >>> is_grain_dataset(iter([]))
    False
    """
    if "grain" not in sys.modules:
        return False
    return any(
        parent.__name__ in _GRAIN_CLASSES and parent.__module__.startswith("grain.")
        for parent in type(x).__mro__
    )


class GrainDatasetAdapter:
    """Streams a Grain dataset's items (each a batch) as they are, one pass per epoch.

    As in Keras, the number of batches is not read ahead (a `filter` makes a
    `MapDataset`'s length an upper bound); `infinite` is set for a repeating
    `MapDataset`, which needs `steps_per_epoch`.
    """

    reiterable = True
    num_batches = None

    def __init__(self, dataset):
        self.dataset = dataset
        # NOTE: `MapDataset.repeat()` without a count reports sys.maxsize items.
        self.infinite = type(dataset).__name__ != "DataLoader" and hasattr(
            dataset, "__len__") and len(dataset) == sys.maxsize

    def iter_pass(self):
        yield from self.dataset

    def on_pass_end(self):
        pass
