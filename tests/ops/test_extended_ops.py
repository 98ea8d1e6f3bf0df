"""Extended `lamina.ops`: numpy references, bad inputs, symbolic recording, gradients."""

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.backend.symbolic import KerasTensor

RNG = np.random.default_rng(0)


def _f64(*shape):
    return torch.tensor(RNG.uniform(0.5, 1.5, shape), dtype=torch.float64, requires_grad=True)


GRAD_CASES = [
    # NOTE: Keras computes binary element-wise ops of two float64 tensors in float32, so
    # only unary and float64-preserving ops are checked numerically here.
    ("sinc", lambda a: ops.sinc(a), ((2, 3),)),
    ("cbrt", lambda a: ops.cbrt(a), ((4,),)),
    ("inv", lambda a: ops.linalg.inv(a + 2 * torch.eye(3, dtype=a.dtype)), ((3, 3),)),
    ("solve", lambda a, b: ops.solve(a + 2 * torch.eye(3, dtype=a.dtype), b), ((3, 3), (3, 2))),
    ("det", lambda a: ops.det(a), ((3, 3),)),
    ("norm", lambda a: ops.norm(a, ord="fro", axis=(0, 1)), ((3, 2),)),
    ("conv", lambda x, k: ops.conv(x, k, 2, "same"), ((1, 5, 4, 2), (3, 2, 2, 3))),
    ("conv_transpose", lambda x, k: ops.conv_transpose(x, k, 2, "same"),
     ((1, 3, 3, 2), (3, 3, 2, 2))),
    ("depthwise_conv", lambda x, k: ops.depthwise_conv(x, k), ((1, 4, 4, 2), (2, 2, 2, 2))),
    ("average_pool", lambda x: ops.average_pool(x, 2, 1, "same"), ((1, 3, 3, 2),)),
    ("max_pool", lambda x: ops.max_pool(x, 2), ((1, 4, 4, 1),)),
    ("segment_sum", lambda x: ops.segment_sum(x, torch.tensor([0, 1, 0])), ((3, 2),)),
    ("rfft", lambda x: ops.rfft(x)[0].sum() + ops.rfft(x)[1].square().sum(), ((8,),)),
    ("layer_normalization", lambda x: ops.layer_normalization(x), ((2, 4),)),
    ("resize", lambda x: ops.image.resize(x, (5, 3)), ((1, 3, 4, 1),)),
    ("affine_transform", lambda x: ops.image.affine_transform(
        x, torch.tensor([1.0, 0.1, 0.3, 0.0, 1.0, 0.2, 0.0, 0.0], dtype=torch.float64)),
     ((1, 4, 4, 1),)),
    ("scan", lambda x: ops.scan(lambda c, v: (c * v, c), torch.ones((), dtype=x.dtype),
                                x)[0], ((4,),)),
    ("associative_scan", lambda x: ops.associative_scan(torch.mul, x), ((5,),)),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes):
    assert torch.autograd.gradcheck(fn, tuple(_f64(*s) for s in shapes))


def test_numpy_references():
    x = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(ops.nanpercentile(x, 40, axis=0), np.nanpercentile(x, 40, 0),
                               rtol=1e-6)
    np.testing.assert_allclose(ops.cross(x[:, :3], x[::-1, :3]), np.cross(x[:, :3], x[::-1, :3]),
                               atol=1e-5)
    np.testing.assert_allclose(ops.associative_scan(torch.add, x, axis=1), np.cumsum(x, 1))
    np.testing.assert_allclose(ops.associative_scan(torch.add, x, reverse=True),
                               np.cumsum(x[::-1], 0)[::-1])
    idx = ops.argpartition(x, 2, axis=1).numpy()
    part = np.take_along_axis(x, idx, 1)
    assert (part[:, :2] <= part[:, 2:3]).all() and (part[:, 3:] >= part[:, 2:3]).all()
    np.testing.assert_allclose(ops.select([x < 0, x > 1], [x, 2 * x], -1),
                               np.select([x < 0, x > 1], [x, 2 * x], -1), rtol=1e-6)
    values, counts = ops.unique([3, 1, 3, 3], return_counts=True, size=3, fill_value=-1)
    assert values.tolist() == [1, 3, -1] and counts.tolist() == [1, 3, 0]
    carry, ys = ops.scan(lambda c, v: (c + v, c), 0.0, torch.arange(4.0), reverse=True)
    assert float(carry) == 6.0 and ys.tolist() == [6.0, 5.0, 3.0, 0.0]
    assert ops.switch(5, [lambda a: a + 1, lambda a: a * 10], 2) == 20
    assert ops.saturate_cast(torch.tensor([300.0, -5.0]), "uint8").tolist() == [255, 0]
    real, imag = ops.stft(torch.ones(2, 32), 8, 4, 8, window=None, center=False)
    assert real.shape == (2, 7, 5) and torch.allclose(real[..., 0], torch.full((2, 7), 8.0))
    signal = torch.tensor(RNG.uniform(size=(2, 40)), dtype=torch.float32)
    back = ops.istft(ops.stft(signal, 16, 4, 16), 16, 4, 16, length=40)
    torch.testing.assert_close(back[:, 8:-8], signal[:, 8:-8], atol=1e-4, rtol=1e-4)


def test_custom_gradient_and_vectorized_map():
    @ops.custom_gradient
    def double_grad(x):
        return x * 1.0, lambda dy: dy * 2

    x = torch.ones(3, requires_grad=True)
    double_grad(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    out = ops.vectorized_map(lambda row: row.sum(), torch.arange(6.0).reshape(3, 2))
    assert out.tolist() == [1.0, 5.0, 9.0]


def test_symbolic_inputs_record_shapes():
    x = KerasTensor((None, 8, 8, 3))
    assert ops.conv(x, torch.ones(3, 3, 3, 4), 2, "same").shape == (None, 4, 4, 4)
    assert ops.image.resize(x, (5, 6)).shape == (None, 5, 6, 3)


@pytest.mark.parametrize("call,error,match", [
    (lambda: ops.linalg.det(np.ones((2, 3))), ValueError, r"square matrices.*\(2, 3\)"),
    (lambda: ops.solve(np.eye(3), np.ones((2, 1))), ValueError, r"\(3, 3\).*\(2, 1\)"),
    (lambda: ops.norm(np.ones(3), axis=2), ValueError, "out of bounds for rank 1"),
    (lambda: ops.conv(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 1))), ValueError,
     r"input channels \(3\).*\(2\)"),
    (lambda: ops.conv(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3, 1)), padding="full"),
     ValueError, "`padding` must be 'valid' or 'same'"),
    (lambda: ops.max_pool(np.ones((4, 3)), 2), ValueError, "rank 3 to 5"),
    (lambda: ops.bitwise_and(np.ones(2), np.ones(2)), TypeError, "integer or bool"),
    (lambda: ops.quantile(np.ones(3), 1.5), ValueError, r"`q` must be in \[0, 1\]"),
    (lambda: ops.median(np.ones((2, 2)), axis=3), ValueError, "rank 2"),
    (lambda: ops.segment_sum(np.ones((3, 2)), [0, 1]), ValueError, r"\(2,\) and \(3, 2\)"),
    (lambda: ops.image.resize(np.ones((4, 4)), (2, 2)), ValueError, r"rank 3.*\(4, 4\)"),
    (lambda: ops.image.crop_images(np.ones((4, 4, 1)), top_cropping=1), ValueError,
     "exactly two"),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b c -> c b a"), ValueError, "rank 2"),
    (lambda: ops.select([np.ones(2) > 0], []), ValueError, "same length"),
    (lambda: ops.hsplit(np.ones((2, 5)), 2), ValueError, "equal sections"),
])
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
