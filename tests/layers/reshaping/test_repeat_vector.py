import numpy as np
import pytest
import torch

from lamina.layers.reshaping import RepeatVector
from lamina.testing import run_layer_test


def test_repeat_vector_passes_layer_test():
    run_layer_test(RepeatVector, {"n": 3}, input_shape=(2, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=False)


def test_repeat_vector_matches_numpy_and_is_writable():
    x = np.random.randn(2, 4).astype("float32")
    y = RepeatVector(3)(x)
    np.testing.assert_array_equal(y.numpy(), np.repeat(x[:, None, :], 3, axis=1))
    y[0, 0, 0] = 5.0
    assert y[0, 1, 0] != 5.0


def test_repeat_vector_compute_output_shape():
    assert RepeatVector(3).compute_output_shape((None, 4)) == (None, 3, 4)


@pytest.mark.parametrize("n", [0, -1])
def test_repeat_vector_rejects_non_positive_n(n):
    with pytest.raises(ValueError, match=f"should be a positive integer. Received: n={n}"):
        RepeatVector(n)


def test_repeat_vector_rejects_float_n():
    with pytest.raises(TypeError, match="Expected an integer value for `n`"):
        RepeatVector(2.0)


def test_repeat_vector_rejects_rank3_naming_layer():
    with pytest.raises(ValueError, match=r"'repeat_vector' \(RepeatVector\).*expected ndim=2, "
                                         r"found ndim=3"):
        RepeatVector(2)(torch.ones(2, 3, 4))
