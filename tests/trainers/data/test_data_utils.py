"""pack/unpack of (x, y, sample_weight) and the validation split."""

import numpy as np
import pytest
import torch

from lamina.trainers.data import (
    pack_x_y_sample_weight,
    train_validation_split,
    unpack_x_y_sample_weight,
)

CASES = [(1,), [1, 2], (1, 2, 3), 5, {"a": 1}]


def test_unpack_and_pack_shapes():
    assert unpack_x_y_sample_weight((1,)) == (1, None, None)
    assert unpack_x_y_sample_weight([1, 2]) == (1, 2, None)
    assert unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    assert unpack_x_y_sample_weight(5) == (5, None, None)
    assert pack_x_y_sample_weight(1) == 1
    assert pack_x_y_sample_weight((1, 2)) == ((1, 2),)
    assert pack_x_y_sample_weight(1, 2) == (1, 2)
    assert pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    with pytest.raises(ValueError, match=r"found a tuple of length 4"):
        unpack_x_y_sample_weight((1, 2, 3, 4))


@pytest.mark.parametrize("data", CASES, ids=str)
def test_unpack_matches_keras(data):
    keras = pytest.importorskip("keras")
    assert unpack_x_y_sample_weight(data) == keras.utils.unpack_x_y_sample_weight(data)


@pytest.mark.parametrize("args", [(1,), ((1, 2),), ([1, 2],), (1, 2), (1, 2, 3)], ids=str)
def test_pack_matches_keras(args):
    keras = pytest.importorskip("keras")
    assert pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)


def test_validation_split_takes_the_last_fraction_as_views():
    x = np.arange(20.0).reshape(10, 2)
    y = torch.arange(10)
    (xt, yt, swt), (xv, yv, swv) = train_validation_split((x, y, None), 0.25)
    assert xt.shape == (7, 2) and xv[:, 0].tolist() == [14.0, 16.0, 18.0]
    assert yt.tolist() == list(range(7)) and yv.tolist() == [7, 8, 9]
    assert swt is None and swv is None
    assert np.shares_memory(xv, x)


def test_validation_split_keeps_dicts():
    x = {"a": np.arange(5), "b": np.arange(5) * 2}
    train, val = train_validation_split(x, 0.4)
    assert train["b"].tolist() == [0, 2, 4] and val["a"].tolist() == [3, 4]


def test_validation_split_rejects_streams_and_bad_fractions():
    with pytest.raises(ValueError, match=r"only supported for tensors or NumPy arrays.*gen"):
        train_validation_split((x for x in range(3)), 0.2)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        train_validation_split(np.arange(5), 1.0)
    with pytest.raises(ValueError, match="1 samples, which is not sufficient"):
        train_validation_split(np.arange(1), 0.5)
    with pytest.raises(ValueError, match=r"same first .* Received first dimensions: \[3, 4\]"):
        train_validation_split((np.arange(3), np.arange(4)), 0.5)
