import numpy as np
import pytest
import torch

import lamina
from lamina.layers.regularization import Dropout
from lamina.testing import run_layer_test


def test_dropout_passes_layer_test():
    run_layer_test(Dropout, {"rate": 0.5}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_dropout_is_identity_in_inference():
    x = torch.randn(4, 5)
    assert torch.equal(Dropout(0.9)(x), x)
    assert torch.equal(Dropout(0.9)(x, training=False), x)


@pytest.mark.parametrize("kwargs", [{}, {"seed": 3}, {"noise_shape": (None, 1)}])
def test_dropout_training_zeroes_and_scales(kwargs):
    # 2,000 rows: with noise_shape=(None, 1) only the rows are drawn, and the 0.05 bound
    # below must stay several standard deviations wide (std ~0.01 here).
    x = torch.ones(2000, 50)
    y = Dropout(0.25, **kwargs)(x, training=True)
    np.testing.assert_allclose(np.unique(y.numpy()), [0.0, 1.0 / 0.75], rtol=1e-6)
    kept = float((y != 0).float().mean())
    assert abs(kept - 0.75) < 0.05


def test_dropout_noise_shape_broadcasts_mask():
    y = Dropout(0.5, noise_shape=(None, 1), seed=1)(torch.ones(64, 8), training=True)
    rows = y.numpy()
    assert all(len(set(r.tolist())) == 1 for r in rows)


def test_dropout_seeded_is_reproducible():
    a = Dropout(0.5, seed=7)(torch.ones(4, 16), training=True)
    b = Dropout(0.5, seed=7)(torch.ones(4, 16), training=True)
    assert torch.equal(a, b)


def test_dropout_rate_one_drops_everything():
    assert torch.count_nonzero(Dropout(1.0)(torch.ones(3, 3), training=True)) == 0


def test_dropout_follows_enclosing_training_flag():
    model = lamina.Sequential([lamina.Input((100,)), Dropout(0.5)])
    x = torch.ones(2, 100)
    assert torch.equal(model(x), x)
    assert not torch.equal(model(x, training=True), x)


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_dropout_rejects_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="Expected a float value between 0 and 1. Received: "
                                         f"rate={rate}"):
        Dropout(rate)


def test_dropout_rejects_non_numeric_rate():
    with pytest.raises(TypeError, match="rate='a'"):
        Dropout("a")


def test_dropout_rejects_bad_noise_shape():
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=(0, 2))


# The unseeded CPU path draws its mask with `torch.rand` (dropout.py: `_cpu_dropout`).
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_unseeded_cpu_dropout_rate_scale_and_dtype(dtype):
    x = torch.ones(400, 500, dtype=dtype)
    y = Dropout(0.1, dtype=str(dtype).removeprefix("torch."))(x, training=True)
    assert y.dtype is dtype
    dropped = float((y == 0).double().mean())
    assert abs(dropped - 0.1) < 0.003  # 200k draws: std 0.0007
    torch.testing.assert_close(y[y != 0].double(), torch.full_like(y[y != 0], 1 / 0.9).double(),
                               rtol=1e-2 if dtype is torch.bfloat16 else 1e-6, atol=0)


def test_unseeded_cpu_dropout_gradient_is_the_scaled_mask():
    x = torch.randn(64, 32, requires_grad=True)
    y = Dropout(0.5)(x, training=True)
    upstream = torch.randn(64, 32)
    y.backward(upstream)
    keep = (y != 0).float()
    torch.testing.assert_close(y, x.detach() * keep * 2)
    torch.testing.assert_close(x.grad, upstream * keep * 2)


def test_unseeded_cpu_dropout_follows_torch_manual_seed():
    layer, x = Dropout(0.5), torch.ones(16, 16)
    torch.manual_seed(5)
    first = layer(x, training=True)
    torch.manual_seed(5)
    assert torch.equal(layer(x, training=True), first)
