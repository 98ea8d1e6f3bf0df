"""CLAHE equals Keras' layer (oracle) on shapes, grids, clip limits, layouts and dtypes."""

import numpy as np
import pytest
import torch

from lamina import layers

CLAHE = layers.ContrastLimitedAdaptiveHistogramEqualization


@pytest.mark.parametrize("shape, kwargs", [
    ((2, 17, 23, 3), {}),
    ((1, 16, 16, 1), {"tile_grid_size": (4, 4), "clip_limit": 2.0}),
    ((2, 9, 10, 2), {"clip_limit": 0, "tile_grid_size": (3, 2)}),
    ((2, 3, 12, 12), {"data_format": "channels_first", "value_range": (0, 1),
                      "tile_grid_size": (2, 3)}),
    ((12, 10, 3), {"tile_grid_size": (5, 5)}),
    ((1, 40, 40, 3), {"clip_limit": 40.0, "tile_grid_size": (2, 2)}),
])
def test_clahe_equals_keras(shape, kwargs):
    import keras

    scale = 1.0 if "value_range" in kwargs else 255.0
    x = (np.random.default_rng(0).random(shape) * scale).astype("float32")
    expected = keras.ops.convert_to_numpy(
        keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)(x))
    np.testing.assert_allclose(CLAHE(**kwargs)(torch.tensor(x)).numpy(), expected, atol=1e-4)


def test_clahe_keeps_integer_dtype_and_config_like_keras():
    import keras

    x = (np.random.default_rng(1).random((1, 8, 8, 3)) * 255).astype("uint8")
    ours = CLAHE(tile_grid_size=(2, 2))
    theirs = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    out = ours(torch.tensor(x))
    assert out.dtype == torch.uint8
    np.testing.assert_array_equal(out.numpy(), keras.ops.convert_to_numpy(theirs(x)))
    assert ours.get_config() == theirs.get_config() | {"name": ours.name}


def test_clahe_rejects_bad_grid():
    with pytest.raises(ValueError, match="`tile_grid_size` must be two positive integers"):
        CLAHE(tile_grid_size=(0, 2))
