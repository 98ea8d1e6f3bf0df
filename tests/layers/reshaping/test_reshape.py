import numpy as np
import pytest
import torch

import lamina
from lamina.layers.reshaping import Reshape
from lamina.testing import run_layer_test


@pytest.mark.parametrize("target,out", [((4, 3), (2, 4, 3)), ((-1, 2), (2, 6, 2)),
                                        ((12,), (2, 12))])
def test_reshape_passes_layer_test(target, out):
    run_layer_test(Reshape, {"target_shape": target}, input_shape=(2, 3, 4),
                   expected_output_shape=out, expected_num_trainable_weights=0,
                   supports_masking=False)


def test_reshape_matches_numpy_and_empty_batch():
    x = np.arange(24.0, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(Reshape((-1, 2))(x).numpy(), x.reshape(2, -1, 2))
    assert Reshape((-1, 2))(torch.ones(0, 3, 4)).shape == (0, 6, 2)


def test_reshape_compute_output_shape_with_unknown_sizes():
    assert Reshape((2, -1)).compute_output_shape((None, 3, 4)) == (None, 2, 6)
    assert Reshape((2, -1)).compute_output_shape((None, None, 4)) == (None, 2, None)
    assert Reshape((2, -1))(lamina.Input((None, 4))).shape == (None, 2, None)


def test_reshape_config_tuple():
    assert Reshape([2, 6]).get_config()["target_shape"] == (2, 6)


def test_reshape_rejects_size_mismatch_naming_layer():
    with pytest.raises(ValueError, match=r"Layer 'reshape' \(Reshape\).*unchanged.*"
                                         r"input_shape=\(3, 4\).*target_shape=\(5,\)"):
        Reshape((5,))(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="cannot be divided"):
        Reshape((5, -1))(torch.ones(2, 3, 4))


@pytest.mark.parametrize("target,match", [((-1, -1), "at most one unknown"),
                                          ((2, -2), "non-negative integer"),
                                          ((2, "a"), "non-negative integer")])
def test_reshape_rejects_bad_target_shape(target, match):
    with pytest.raises(ValueError, match=match):
        Reshape(target)


def test_reshape_rejects_int_target_shape():
    with pytest.raises(TypeError, match="must be a tuple of integers"):
        Reshape(12)
