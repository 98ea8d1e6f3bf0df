"""`torch.utils.data.DataLoader` and `Dataset` inputs.

A DataLoader already batches (and shuffles) by itself and is iterated afresh each pass.
A bare map-style `Dataset` is wrapped in a DataLoader with the `batch_size` and `shuffle`
given to `fit` (and `pin_memory` when batches go to CUDA).
"""

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset


def is_torch_dataloader(x):
    return isinstance(x, DataLoader)


def is_torch_dataset(x):
    return isinstance(x, Dataset)


def dataloader_for(dataset, batch_size, shuffle, device):
    """A DataLoader over a map-style or iterable torch `Dataset`."""
    iterable = isinstance(dataset, IterableDataset)
    if not iterable and len(dataset) == 0:
        raise ValueError(f"The {type(dataset).__name__} is empty: it has 0 samples.")
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=bool(shuffle) and not iterable,
        pin_memory=torch.device(device).type == "cuda",
    )


class DataLoaderAdapter:
    """Streams a DataLoader's batches as they are, one pass per epoch."""

    reiterable = True

    def __init__(self, loader):
        self.loader = loader
        # NOTE: len() of an IterableDataset loader is only an estimate (and may not exist).
        if isinstance(loader.dataset, IterableDataset):
            self.num_batches = None
        else:
            self.num_batches = len(loader)
            if self.num_batches == 0:
                raise ValueError(
                    f"The DataLoader over {type(loader.dataset).__name__} is empty: it yields "
                    "0 batches."
                )

    def iter_pass(self):
        yield from self.loader

    def on_pass_end(self):
        pass
