"""Fashion-MNIST: 70,000 28x28 grey-level images of 10 kinds of clothing (Zalando, MIT).

Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
7 sneaker, 8 bag, 9 ankle boot.
"""

import gzip
import os

import numpy as np

from lamina.datasets import _remote

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def _read_idx(path, ndim):
    """A gzipped IDX file of unsigned bytes (the MNIST format) as a uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes((0, 0, 0x08, ndim)):
        raise ValueError(f"{path} is not a {ndim}-d IDX file of unsigned bytes (its magic "
                         f"number is {raw[:4].hex()}, expected 0000080{ndim}).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path} holds {len(raw) - header} data bytes but its header "
                         f"announces shape {shape}.")
    return np.frombuffer(bytearray(raw[header:]), np.uint8).reshape(shape)


def load_data():
    """Download (once) and load Fashion-MNIST.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images shaped `(60000, 28, 28)` and
        `(10000, 28, 28)`, and uint8 labels 0..9.
    """
    folder = os.path.join("datasets", "fashion-mnist")
    paths = [_remote.fetch(name, cache_subdir=folder) for name in _FILES]
    y_train, x_train = _read_idx(paths[0], 1), _read_idx(paths[1], 3)
    y_test, x_test = _read_idx(paths[2], 1), _read_idx(paths[3], 3)
    return (x_train, y_train), (x_test, y_test)
