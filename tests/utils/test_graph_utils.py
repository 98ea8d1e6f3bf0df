"""`get_source_inputs`, `is_keras_tensor` and `normalize` on tensors."""

import numpy as np
import torch

import lamina
from lamina.utils import get_source_inputs, is_keras_tensor, normalize


def test_get_source_inputs_walks_to_the_inputs_once():
    a, b = lamina.Input((3,)), lamina.Input((3,))
    shared = lamina.layers.Dense(3)
    out = lamina.layers.Add()([shared(a), shared(b), a])
    sources = get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert get_source_inputs(a) == [a]
    plain = torch.zeros(2)
    assert get_source_inputs(plain) is plain


def test_is_keras_tensor():
    assert is_keras_tensor(lamina.Input((2,)))
    assert not is_keras_tensor(torch.zeros(2)) and not is_keras_tensor(np.zeros(2))


def test_normalize_tensor_and_array():
    x = np.array([[3.0, 4.0]], "float32")
    torch.testing.assert_close(normalize(torch.from_numpy(x)), torch.tensor([[0.6, 0.8]]))
    assert isinstance(normalize(x), np.ndarray)
