"""Numerical helpers of `keras.utils`."""

import numpy as np
import torch

from lamina import ops


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: a float64 numpy array for array-likes, an
    int64 tensor for a tensor (both as Keras' torch backend)."""
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


def normalize(x, axis=-1, order=2):
    """`x` divided by its `order`-norm along `axis`: numpy in, numpy out (zero norms
    leave `x` as is); tensors go through `lamina.ops.normalize`.

    >>> normalize(np.array([3.0, 4.0]))
    array([[0.6, 0.8]])
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis or -1)
    return ops.normalize(x, axis=axis, order=order)
