"""Dense's transposed product for narrow outputs (2-10 units) in eager CPU inference:
same numbers as the plain GEMM, taken only where it pays, never under tracing."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core import Dense
from lamina.layers.core import dense as dense_module


@pytest.fixture
def route_calls(monkeypatch):
    calls = []
    original = dense_module._transposed_product

    def spy(inputs, kernel, bias):
        calls.append(tuple(inputs.shape))
        return original(inputs, kernel, bias)

    monkeypatch.setattr(dense_module, "_transposed_product", spy)
    return calls


@pytest.mark.parametrize("units", [2, 5, 10])
@pytest.mark.parametrize("use_bias", [True, False])
def test_narrow_head_matches_numpy_and_the_gradient_path(route_calls, units, use_bias):
    layer = Dense(units, use_bias=use_bias, activation="softmax")
    x = np.random.default_rng(units).standard_normal((64, 512)).astype("float32")
    with torch.no_grad():
        fast = layer(x).numpy()
    assert route_calls == [(64, 512)]
    weights = layer.get_weights()
    logits = x.astype("float64") @ weights[0].astype("float64")
    if use_bias:
        logits = logits + weights[1]
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-6)
    slow = layer(x).detach().numpy()  # gradients on: the plain GEMM
    assert len(route_calls) == 1
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-6)
    assert fast.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("units, shape, dtype", [
    (1, (64, 512), torch.float32),     # a single unit: the plain GEMM is faster
    (12, (64, 512), torch.float32),    # wider heads: likewise
    (10, (8, 4096), torch.float32),    # under 16 rows
    (10, (32, 256), torch.float32),    # under 16K input elements
    (10, (64, 512), torch.float64),    # only measured for float32
    (10, (4, 16, 512), torch.float32),  # rank 3 goes through matmul
])
def test_narrow_head_route_is_skipped_where_it_does_not_pay(route_calls, units, shape, dtype):
    layer = Dense(units, dtype="float64" if dtype is torch.float64 else None)
    with torch.no_grad():
        out = layer(torch.randn(shape, dtype=dtype))
    assert route_calls == []
    assert out.shape == (*shape[:-1], units)


def test_narrow_head_in_fit_and_predict(route_calls):
    model = lamina.Sequential([lamina.Input((512,)), Dense(256, activation="relu"),
                               Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((256, 512)).astype("float32")
    y = np.random.default_rng(1).integers(0, 10, 256)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert route_calls == []  # training keeps the plain GEMM (its backward needs it)
    predicted = model.predict(x, batch_size=128, verbose=0)
    assert route_calls == [(128, 256), (128, 256)]  # predict runs without gradients
    with torch.enable_grad():
        reference = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(predicted, reference, rtol=1e-5, atol=1e-6)


def test_narrow_head_export_keeps_a_dynamic_batch(route_calls):
    model = lamina.Sequential([lamina.Input((512,)), Dense(10)])
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad():
        program = torch.export.export(model, (torch.randn(64, 512),),
                                      dynamic_shapes=({0: batch},))
    assert route_calls == []  # tracing takes the plain GEMM: no branch on the batch size
    for rows in (3, 64):
        x = torch.randn(rows, 512)
        with torch.no_grad():
            np.testing.assert_allclose(program.module()(x).numpy(), model(x).numpy(),
                                       rtol=1e-5, atol=1e-6)
