"""California housing: 20,640 census block groups, 8 features, median house value ($).

From the StatLib repository (Pace and Barry, 1997),
https://www.dcc.fc.up.pt/~ltorgo/Regression/cal_housing.html
"""

import numpy as np

from lamina.datasets import _regression, _remote


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Download (once) and load the California housing data, shuffled and split.

    Args:
        version: `"large"` (all 20,640 rows) or `"small"` (the first 600, for quick
            experiments).
        path: the file name in the cache (`~/.keras/datasets/`).
        test_split: the fraction kept for testing, in [0, 1).
        seed: seed of the shuffle before splitting.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float features shaped `(n, 8)` (longitude,
        latitude, median age, total rooms, total bedrooms, population, households, median
        income) and float targets shaped `(n,)`.
    """
    _regression.check_test_split(test_split)
    with np.load(_remote.fetch("california_housing.npz", fname=path),
                 allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError("Argument `version` must be one of 'small', 'large'. "
                         f"Received: version={version}")
    return _regression.shuffle_and_split(x, y, test_split, seed)
