"""Boston housing prices: 506 suburbs, 13 features, median home value in k$ (StatLib).

Kept for Keras compatibility; the data has known ethical problems (one feature encodes
the proportion of Black residents), so prefer `california_housing` for new work.
"""

import numpy as np

from lamina.datasets import _regression, _remote


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Download (once) and load the Boston housing data, shuffled and split.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`).
        test_split: the fraction kept for testing, in [0, 1).
        seed: seed of the shuffle before splitting.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 features shaped `(n, 13)` and
        float64 targets shaped `(n,)`.
    """
    _regression.check_test_split(test_split)
    with np.load(_remote.fetch("boston_housing.npz", fname=path), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return _regression.shuffle_and_split(x, y, test_split, seed)
