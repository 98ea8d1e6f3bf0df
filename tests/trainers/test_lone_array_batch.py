"""`lone_array_batch` (the `predict_on_batch` shortcut) gives what the iterator gives."""

import numpy as np
import pytest
import torch

import lamina
from lamina.trainers.data.epoch_iterator import EpochIterator, lone_array_batch


@pytest.mark.parametrize("x", [
    np.arange(6, dtype=np.float64).reshape(3, 2),
    np.arange(6, dtype=np.int32).reshape(3, 2),
    np.array([True, False]),
    np.arange(6, dtype=np.float32).reshape(3, 2)[::-1],
    torch.arange(6.0, dtype=torch.float64).reshape(2, 3).requires_grad_(),
    torch.ones(1, 4, dtype=torch.float16),
])
def test_same_batch_as_the_iterator(x):
    fast = lone_array_batch(x, device="cpu")
    slow = EpochIterator(x=x, batch_size=len(x), device="cpu").single_batch()
    assert fast.dtype is slow.dtype and fast.shape == slow.shape
    assert not fast.requires_grad
    torch.testing.assert_close(fast, slow)


@pytest.mark.parametrize("x", [np.float32(1.0), np.zeros((0, 2)), np.array(["a", "b"]),
                               [np.ones((2, 2))], {"a": np.ones((2, 2))}, torch.tensor(3.0)])
def test_other_inputs_take_the_full_path(x):
    assert lone_array_batch(x, device="cpu") is None


def test_predict_on_batch_matches_the_forward_and_keeps_errors():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    x = np.random.default_rng(0).random((4, 3))
    out = model.predict_on_batch(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, model(torch.from_numpy(x).float()).detach().numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        model.predict_on_batch(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="scalar"):
        model.predict_on_batch(np.float32(1.0))
