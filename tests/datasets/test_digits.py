"""The bundled UCI digits."""

import numpy as np
import pytest

from lamina.datasets import digits


def test_load_data_shapes_dtypes_and_ranges():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() == 16 and x_train.min() == 0
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(10))


def test_first_bundled_image_is_the_known_zero():
    x, y = digits._read_bundled()
    assert x.shape == (1797, 8, 8) and y[0] == 0
    assert x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    # class counts of the UCI optdigits test set
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_is_deterministic_disjoint_and_seeded():
    (a, ya), (b, yb) = digits.load_data(seed=113)
    (c, yc), _ = digits.load_data(seed=113)
    (d, _), _ = digits.load_data(seed=1)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(ya, yc)
    assert not np.array_equal(a, d)
    x_all, _ = digits._read_bundled()
    assert len(a) + len(b) == len(x_all)
    (all_x, _), (none_x, _) = digits.load_data(test_split=0.0)
    assert len(all_x) == 1797 and len(none_x) == 0


def test_load_data_rejects_bad_split():
    with pytest.raises(ValueError, match=r"`test_split` must be in \[0, 1\)"):
        digits.load_data(test_split=1.0)
