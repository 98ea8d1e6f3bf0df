"""`lamina.utils`: progress bar, data helpers, seeding and model utilities."""

from lamina.saving.registry import CustomObjectScope as CustomObjectScope
from lamina.saving.registry import custom_object_scope as custom_object_scope
from lamina.saving.registry import get_custom_objects as get_custom_objects
from lamina.saving.registry import get_registered_name as get_registered_name
from lamina.saving.registry import get_registered_object as get_registered_object
from lamina.saving.registry import register_keras_serializable as register_keras_serializable
from lamina.saving.serialization import deserialize_keras_object as deserialize_keras_object
from lamina.saving.serialization import serialize_keras_object as serialize_keras_object
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
    """One-hot encode integer class labels: a float64 numpy array for array-likes, an
    int64 tensor for a tensor (both as Keras' torch backend)."""
    import numpy as np
    import torch

    if isinstance(x, torch.Tensor):
        x = x.long()
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        num_classes = num_classes or int(x.max()) + 1
        out = torch.nn.functional.one_hot(x.clamp(min=0), num_classes)
        return torch.where((x >= 0).unsqueeze(-1), out, 0)
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1
    out = np.zeros((x.shape[0], num_classes), dtype="float64")
    out[np.arange(x.shape[0]), x] = 1.0
    return out.reshape(*shape, num_classes)
