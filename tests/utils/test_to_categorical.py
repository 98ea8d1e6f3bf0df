import numpy as np
import torch

import lamina


def test_to_categorical_of_an_array_is_float64_numpy_like_keras():
    out = lamina.utils.to_categorical(np.array([[0], [2], [1]]))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert lamina.utils.to_categorical([1, 0], 4).shape == (2, 4)


def test_to_categorical_of_a_tensor_is_an_int64_tensor_like_keras_torch():
    out = lamina.utils.to_categorical(torch.tensor([[0], [2], [-1]]), 3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int64
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
