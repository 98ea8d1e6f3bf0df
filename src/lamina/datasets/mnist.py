"""MNIST: 70,000 28x28 grey-level images of handwritten digits, as Keras 3 ships them."""

import numpy as np

from lamina.datasets import _remote


def load_data(path="mnist.npz"):
    """Download (once) and load MNIST.

    Args:
        path: the file name in the cache (`~/.keras/datasets/` or `$KERAS_HOME/datasets/`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images shaped `(60000, 28, 28)` and
        `(10000, 28, 28)` with values 0..255, and uint8 labels 0..9.

    The copyright of MNIST is Yann LeCun's and Corinna Cortes'; it is made available under
    the Creative Commons Attribution-Share Alike 3.0 license.
    """
    local = _remote.fetch("mnist.npz", fname=path)
    with np.load(local, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
