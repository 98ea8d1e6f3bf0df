"""CIFAR-10: 60,000 32x32 colour images in 10 classes (Krizhevsky, 2009).

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
9 truck. https://www.cs.toronto.edu/~kriz/cifar.html
"""

import numpy as np

from lamina.datasets import _cifar


def load_data():
    """Download (once) and load CIFAR-10.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images shaped `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)` (channels first with `image_data_format() ==
        "channels_first"`), and uint8 labels 0..9 shaped `(n, 1)`.
    """
    return _cifar.load("cifar-10-python.tar.gz", "cifar-10-batches-py-target",
                       "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)],
                       "test_batch", "labels", np.uint8)
