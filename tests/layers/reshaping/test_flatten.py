import numpy as np
import pytest
import torch

import lamina
from lamina.layers.reshaping import Flatten
from lamina.testing import run_layer_test


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_passes_layer_test(data_format):
    run_layer_test(Flatten, {"data_format": data_format}, input_shape=(2, 3, 4, 5),
                   expected_output_shape=(2, 60), expected_num_trainable_weights=0,
                   supports_masking=False)


def test_flatten_channels_first_moves_channels_last_first():
    x = np.arange(12.0, dtype="float32").reshape(1, 2, 2, 3)
    got = Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(got, np.moveaxis(x, 1, -1).reshape(1, -1))
    np.testing.assert_array_equal(Flatten()(x).numpy(), x.reshape(1, -1))


def test_flatten_rank1_and_empty_batch():
    assert Flatten()(torch.ones(4)).shape == (4, 1)
    assert Flatten()(torch.ones(0, 3, 2)).shape == (0, 6)


def test_flatten_unknown_sizes_symbolic():
    assert Flatten()(lamina.Input((None, 3))).shape == (None, None)
    assert Flatten().compute_output_shape((None, 2, 3)) == (None, 6)


def test_flatten_rejects_bad_data_format():
    with pytest.raises(ValueError, match="data_format.*Received: data_format='bad'"):
        Flatten(data_format="bad")


def test_flatten_rejects_scalar_input_naming_layer():
    with pytest.raises(ValueError, match=r"'flatten' \(Flatten\).*min_ndim=1, found ndim=0"):
        Flatten()(torch.tensor(1.0))
