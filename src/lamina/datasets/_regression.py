"""The shuffle-and-split shared by the housing datasets (Keras 3's rule)."""

import numpy as np


def check_test_split(test_split):
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between "
                         "0 and 1 (exclusive of 1).")


def shuffle_and_split(x, y, test_split, seed):
    """Shuffle `x`, `y` by `RandomState(seed)`; the last `test_split` part is the test."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])
