"""`lamina.utils`: progress bar, data helpers, seeding and model utilities."""

from lamina.trainers.data.data_utils import pack_x_y_sample_weight as pack_x_y_sample_weight
from lamina.trainers.data.data_utils import (
    unpack_x_y_sample_weight as unpack_x_y_sample_weight,
)
from lamina.trainers.data.py_dataset import PyDataset as PyDataset
from lamina.trainers.data.py_dataset import Sequence as Sequence
from lamina.utils.progbar import Progbar as Progbar
from lamina.utils.rng_utils import set_random_seed as set_random_seed
from lamina.utils.sequence_utils import pad_sequences as pad_sequences


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels into a float32 numpy array (as Keras)."""
    import numpy as np

    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1
    out = np.zeros((x.shape[0], num_classes), dtype="float32")
    out[np.arange(x.shape[0]), x] = 1.0
    return out.reshape(*shape, num_classes)
