"""Dense's narrow-head product `(kernel.T @ x.T).T` (no grad, batch >= 128, few units)
computes what `x @ kernel + bias` does, in a contiguous output."""

import numpy as np
import pytest
import torch

import lamina


@pytest.mark.parametrize("units,input_dim,batch,narrow", [
    (10, 256, 200, True), (1, 64, 128, True), (10, 256, 64, False), (32, 256, 200, False),
    (1, 32, 500, False)])
def test_narrow_head_matches_numpy(units, input_dim, batch, narrow):
    layer = lamina.layers.Dense(units, bias_initializer="glorot_uniform")
    x = np.random.default_rng(0).standard_normal((batch, input_dim)).astype(np.float32)
    layer.build((None, input_dim))
    assert layer._narrow_gemm is (units <= 12 and input_dim >= 64)
    kernel, bias = layer.get_weights()
    expected = x.astype(np.float64) @ kernel + bias
    with torch.no_grad():
        out = layer(torch.from_numpy(x))
    assert out.shape == (batch, units) and out.is_contiguous()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    grad_out = layer(torch.from_numpy(x))  # autograd on: the plain product
    assert grad_out.requires_grad
    np.testing.assert_allclose(grad_out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_narrow_head_in_predict_and_after_weight_changes():
    model = lamina.Sequential([lamina.Input((128,)), lamina.layers.Dense(3)])
    x = np.random.default_rng(1).random((300, 128), dtype=np.float32)
    for scale in (1.0, -2.0):
        model.layers[0].kernel.assign(model.layers[0].kernel * scale)
        kernel, bias = model.get_weights()
        np.testing.assert_allclose(model.predict(x, batch_size=150, verbose=0),
                                   x @ kernel + bias, rtol=1e-5, atol=1e-5)


def test_lora_and_float16_policies_keep_the_plain_product():
    lora = lamina.layers.Dense(4, lora_rank=2)
    lora.build((None, 128))
    assert not lora._narrow_gemm
    mixed = lamina.layers.Dense(4, dtype="mixed_float16")
    mixed.build((None, 128))
    assert not mixed._narrow_gemm
