"""CIFAR-100: 60,000 32x32 colour images in 100 classes grouped in 20 superclasses.

https://www.cs.toronto.edu/~kriz/cifar.html
"""

import numpy as np

from lamina.datasets import _cifar


def load_data(label_mode="fine"):
    """Download (once) and load CIFAR-100.

    Args:
        label_mode: `"fine"` (the 100 classes) or `"coarse"` (the 20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images shaped `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)` (channels first with `image_data_format() ==
        "channels_first"`), and int64 labels shaped `(n, 1)`.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. '
                         f"Received: label_mode={label_mode}.")
    return _cifar.load("cifar-100-python.tar.gz", "cifar-100-python-target",
                       "cifar-100-python", ["train"], "test", f"{label_mode}_labels",
                       np.int64)
