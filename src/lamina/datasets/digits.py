"""The UCI optical handwritten digits: 1,797 grey-level 8x8 images of the digits 0-9.

Each pixel counts the set pixels of a 4x4 block of a 32x32 bitmap (0..16). The data is
the test part of the UCI Machine Learning Repository's "Optical Recognition of
Handwritten Digits" set (E. Alpaydin and C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80), in the copy shipped by scikit-learn
(BSD-3-Clause) as `sklearn/datasets/data/digits.csv.gz`. It is bundled with lamina, so
loading needs no network.
"""

import gzip
import io
from importlib import resources

import numpy as np

_NUM_SAMPLES = 1797


def _read_bundled():
    raw = resources.files("lamina.datasets").joinpath("data", "digits.csv.gz").read_bytes()
    with gzip.open(io.BytesIO(raw), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    return table[:, :64].reshape(-1, 8, 8), table[:, 64]


def load_data(test_split=0.2, seed=113):
    """Load the digits, shuffled by `seed` and split into train and test parts.

    Args:
        test_split: fraction of the 1,797 samples kept for testing, in [0, 1).
        seed: seed of the shuffle before splitting (the same seed gives the same split).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images shaped `(n, 8, 8)` with
        values 0..16, and uint8 labels 0..9.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape, y_train.dtype
    ((1437, 8, 8), (360, 8, 8), dtype('uint8'))
    """
    if not 0.0 <= float(test_split) < 1.0:
        raise ValueError(f"`test_split` must be in [0, 1). Received: test_split={test_split!r}")
    x, y = _read_bundled()
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    split_at = int(len(x) * (1.0 - test_split))
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])
