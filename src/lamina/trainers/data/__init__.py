"""Training data input: arrays, generators, `PyDataset` and torch loaders, batched on device.

`EpochIterator` is the entry point the trainer uses; the adapters live one per module,
each with the shape of `DataAdapter` (`adapter.py`).
"""

from lamina.trainers.data.adapter import DataAdapter as DataAdapter
from lamina.trainers.data.data_utils import pack_x_y_sample_weight as pack_x_y_sample_weight
from lamina.trainers.data.data_utils import train_validation_split as train_validation_split
from lamina.trainers.data.data_utils import (
    unpack_x_y_sample_weight as unpack_x_y_sample_weight,
)
from lamina.trainers.data.epoch_iterator import EpochIterator as EpochIterator
from lamina.trainers.data.py_dataset import PyDataset as PyDataset
from lamina.trainers.data.py_dataset import Sequence as Sequence
