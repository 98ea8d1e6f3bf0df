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
    np.arange(6, dtype=np.float32).reshape(3, 2),  # the shortcut's own fast case
    np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2)),
    np.arange(6, dtype=np.float32).reshape(3, 2).astype(">f4"),  # big-endian
    np.broadcast_to(np.arange(2, dtype=np.float32), (3, 2)),  # read-only
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


def test_predict_on_batch_direct_forward_is_an_inference_call():
    # Dropout off, BatchNorm on its moving statistics, no gradients, grad mode restored
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dropout(0.9),
                               lamina.layers.BatchNormalization()])
    bn = model.layers[1]
    bn.set_weights([np.full(3, 2.0), np.full(3, 1.0), np.full(3, 0.5), np.full(3, 4.0)])
    x = np.random.default_rng(1).random((5, 3)).astype("float32")
    expected = (x - 0.5) / np.sqrt(4.0 + bn.epsilon) * 2.0 + 1.0
    out = model.predict_on_batch(x)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert torch.is_grad_enabled()
    with torch.no_grad():
        model.predict_on_batch(x)
        assert not torch.is_grad_enabled()
    np.testing.assert_allclose(bn.moving_mean.detach().numpy(), 0.5)  # not updated


def test_predict_on_batch_restores_grad_mode_when_the_forward_raises():
    class Failing(lamina.layers.Layer):
        armed = False

        def call(self, x):
            if self.armed:
                raise RuntimeError("boom")
            return x

    model = lamina.Sequential([lamina.Input((3,)), Failing()])
    model.layers[0].armed = True
    with pytest.raises(RuntimeError, match="boom"):
        model.predict_on_batch(np.ones((2, 3), "float32"))
    assert torch.is_grad_enabled()


def test_predict_on_batch_runs_an_overridden_predict_step():
    class Doubling(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def predict_step(self, data):
            return super().predict_step(data) * 2

    model = Doubling()
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(model.predict_on_batch(x),
                               2 * model(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    plain = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    plain.predict_step = lambda data: torch.zeros(7)  # an instance attribute counts too
    assert plain.predict_on_batch(x).shape == (7,)


def test_float32_array_is_shared_and_follows_floatx():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    batch = lone_array_batch(x, device="cpu")
    assert batch.dtype is torch.float32 and np.shares_memory(batch.numpy(), x)
    previous = lamina.config.floatx()
    lamina.config.set_floatx("float64")
    try:
        batch = lone_array_batch(x, device="cpu")
    finally:
        lamina.config.set_floatx(previous)
    assert batch.dtype is torch.float64
    torch.testing.assert_close(batch, torch.from_numpy(x).double())
