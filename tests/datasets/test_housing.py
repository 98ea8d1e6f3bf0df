"""boston_housing and california_housing: shuffle by seed, split by test_split."""

import numpy as np
import pytest
from dataset_files import npz_bytes

from lamina.datasets import boston_housing, california_housing


def _expected(x, y, test_split, seed):
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    cut = int(len(x) * (1 - test_split))
    return (x[order][:cut], y[order][:cut]), (x[order][cut:], y[order][cut:])


def _check(got, expected):
    for got_pair, expected_pair in zip(got, expected):
        for a, b in zip(got_pair, expected_pair):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_boston_housing_split(origin):
    x, y = np.arange(130.0).reshape(10, 13), np.arange(10.0) * 1.5
    origin.publish("boston_housing.npz", npz_bytes(x=x, y=y))
    got = boston_housing.load_data(test_split=0.3, seed=5)
    assert got[0][0].shape == (7, 13) and got[1][1].shape == (3,)
    _check(got, _expected(x, y, 0.3, 5))


def test_boston_housing_rejects_test_split_of_one():
    with pytest.raises(ValueError, match="Invalid `test_split` argument: 1"):
        boston_housing.load_data(test_split=1)


@pytest.mark.parametrize("version,rows", [("large", 700), ("small", 600)])
def test_california_housing_versions(origin, version, rows):
    x = np.random.default_rng(1).random((700, 8)).astype(np.float32)
    y = np.arange(700.0, dtype=np.float32)
    origin.publish("california_housing.npz", npz_bytes(x=x, y=y))
    got = california_housing.load_data(version=version)
    assert len(got[0][0]) + len(got[1][0]) == rows
    _check(got, _expected(x[:rows], y[:rows], 0.2, 113))


def test_california_housing_rejects_an_unknown_version(origin):
    origin.publish("california_housing.npz", npz_bytes(x=np.zeros((3, 8)), y=np.zeros(3)))
    with pytest.raises(ValueError, match="must be one of 'small', 'large'. Received: "
                                         "version=medium"):
        california_housing.load_data(version="medium")
