"""trainers/data/adapter: every adapter has the `DataAdapter` shape EpochIterator reads."""

import numpy as np
import torch

from lamina.trainers.data import DataAdapter, EpochIterator, PyDataset


class _Batches(PyDataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        return np.full((2, 1), index, "float32"), np.zeros((2, 1), "float32")


def _sources():
    x, y = np.zeros((4, 1), "float32"), np.zeros((4, 1), "float32")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(x), torch.from_numpy(y)), batch_size=2)
    return [x, iter([(x, y)]), _Batches(), loader]


def test_every_adapter_is_a_data_adapter_and_passes_end_on_pass_end():
    kinds = set()
    for source in _sources():
        y = np.zeros((4, 1), "float32") if isinstance(source, np.ndarray) else None
        iterator = EpochIterator(source, y, batch_size=2, device="cpu")
        adapter = iterator.adapter
        assert isinstance(adapter, DataAdapter), type(adapter).__name__
        assert isinstance(adapter.reiterable, bool)
        assert adapter.num_batches is None or adapter.num_batches >= 1
        kinds.add(type(adapter).__name__)
        assert len(list(iterator.enumerate_epoch())) >= 1
    assert kinds == {"ArrayAdapter", "GeneratorAdapter", "PyDatasetAdapter",
                     "DataLoaderAdapter"}


def test_an_object_without_a_pass_is_not_a_data_adapter():
    class NoPass:
        reiterable = True
        num_batches = 1

    assert not isinstance(NoPass(), DataAdapter)
