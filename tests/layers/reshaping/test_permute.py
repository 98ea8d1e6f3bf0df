import numpy as np
import pytest
import torch

from lamina.layers.reshaping import Permute
from lamina.testing import run_layer_test


def test_permute_passes_layer_test():
    run_layer_test(Permute, {"dims": (2, 1)}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 4, 3), expected_num_trainable_weights=0,
                   supports_masking=False)
    run_layer_test(Permute, {"dims": (3, 1, 2)}, input_shape=(2, 3, 4, 5),
                   expected_output_shape=(2, 5, 3, 4))


def test_permute_matches_numpy_transpose():
    x = np.random.randn(2, 3, 4, 5).astype("float32")
    np.testing.assert_array_equal(Permute((3, 1, 2))(x).numpy(), x.transpose(0, 3, 1, 2))


def test_permute_config_and_shape():
    layer = Permute([2, 1])
    assert layer.get_config()["dims"] == (2, 1)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 4, 3)


@pytest.mark.parametrize("dims", [(0, 1), (1, 1), (1, 3)])
def test_permute_rejects_bad_dims(dims):
    with pytest.raises(ValueError, match="must be consecutive and start from 1"):
        Permute(dims)


def test_permute_rejects_wrong_rank_naming_layer():
    with pytest.raises(ValueError, match=r"'permute' \(Permute\).*expected ndim=3, "
                                         r"found ndim=4"):
        Permute((2, 1))(torch.ones(2, 3, 4, 5))
