"""`torch.autograd.gradcheck` for every differentiable element-wise, reduction and
product op of `lamina.ops.numpy`, on small float64 inputs away from kinks and discontinuities."""

import numpy as np
import pytest
import torch

from lamina import ops

RNG = np.random.default_rng(3)


def _t(values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def away(shape, low=0.3, high=1.5):
    """Values with |x| in [low, high] and random signs: away from 0 and from each other."""
    mag = np.sort(RNG.uniform(low, high, size=int(np.prod(shape))))
    mag += np.arange(mag.size) * 1e-2  # distinct, so max/sort have unique answers
    return _t(RNG.permutation(mag * RNG.choice([-1, 1], size=mag.size)).reshape(shape))


def pos(shape, low=0.3, high=0.9):
    return _t(RNG.uniform(low, high, size=shape))


def frac(shape):
    """Values between integers (for floor/ceil/round/trunc/sign/floor_divide)."""
    return _t(RNG.integers(-3, 3, size=shape) + RNG.uniform(0.2, 0.4, size=shape))


A, B = away((2, 3)), away((3,))
P, Q = pos((2, 3)), pos((3,))
I2 = torch.tensor([[1, 2, 0], [3, 1, 2]], dtype=torch.int32)

# name -> (function of the differentiable inputs, inputs)
UNARY_DOMAIN = {
    "sqrt": P, "log": P, "log1p": P, "log2": P, "log10": P, "arcsin": P, "arccos": P,
    "arctanh": P, "reciprocal": A, "arccosh": pos((2, 3), 1.2, 3.0), "erfinv": P,
    "floor": frac((2, 3)), "ceil": frac((2, 3)), "round": frac((2, 3)),
    "trunc": frac((2, 3)), "sign": A, "absolute": A, "abs": A, "fabs": A, "cbrt": A,
}
UNARY = [
    "exp", "expm1", "sin", "cos", "tan", "tanh", "arctan", "sinh", "cosh", "arcsinh",
    "negative", "square", "deg2rad", "rad2deg", "exp2", "i0", "sinc", "erfc", "nan_to_num",
    "real", "conjugate", "conj", *UNARY_DOMAIN,
]
BINARY = [
    "add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2",
    "fmax", "fmin", "hypot", "logaddexp", "logaddexp2",
]

CASES = {name: (getattr(ops, name), (UNARY_DOMAIN.get(name, A),)) for name in UNARY}
CASES.update({name: (getattr(ops, name), (A, B)) for name in BINARY})
CASES.update({
    "power": (ops.power, (P, away((3,)))),
    "mod": (ops.mod, (A * 3, pos((3,), 0.7, 0.9))),
    "fmod": (ops.fmod, (A * 3, pos((3,), 0.7, 0.9))),
    "divide_no_nan": (lambda a, b: ops.divide_no_nan(a, b * torch.tensor([1.0, 0.0, 1.0],
                                                                         dtype=b.dtype)),
                      (A, B)),
    "ldexp": (lambda a: ops.ldexp(a, I2), (A,)),
    "clip": (lambda a: ops.clip(a, -0.9, 0.95), (away((2, 3), 0.1, 1.4),)),
    "where": (lambda a, b: ops.where(A.detach() > 0, a, b), (A, B)),
    "matmul": (ops.matmul, (A, away((3, 2)))),
    "dot": (ops.dot, (A, B)),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([1], [0])), (A, away((3, 4)))),
    "outer": (ops.outer, (A, B)),
    "einsum": (lambda a, b: ops.einsum("ij,j->i", a, b), (A, B)),
    "cross": (ops.cross, (A, away((2, 3)))),
    "inner": (ops.inner, (A, B)),
    "vdot": (ops.vdot, (A, away((2, 3)))),
    "kron": (ops.kron, (A, away((2, 2)))),
    "correlate": (lambda a, b: ops.correlate(a, b, mode="same"), (away((5,)), away((3,)))),
    "diff": (lambda a: ops.diff(a, n=2, axis=0), (away((4, 2)),)),
    "trapezoid": (lambda y, x: ops.trapezoid(y, x=x), (A, _t([0.0, 0.5, 1.5]))),
    "sum": (lambda a: ops.sum(a, axis=(0, -1), keepdims=True), (away((2, 3, 2)),)),
    "mean": (lambda a: ops.mean(a, axis=1), (A,)),
    "max": (lambda a: ops.max(a, axis=0), (A,)),
    "min": (lambda a: ops.min(a, axis=-1, keepdims=True), (A,)),
    "prod": (lambda a: ops.prod(a, axis=(0, 2)), (away((2, 3, 2)),)),
    "std": (lambda a: ops.std(a, axis=1), (A,)),
    "var": (lambda a: ops.var(a), (A,)),
    "cumsum": (lambda a: ops.cumsum(a, axis=1), (A,)),
    "cumprod": (lambda a: ops.cumprod(a), (A,)),
    "sort": (lambda a: ops.sort(a, axis=0), (A,)),
})


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, inputs = CASES[name]
    inputs = tuple(x.detach().clone().requires_grad_(True) for x in inputs)
    if fn(*inputs).dtype == torch.float64:
        assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    else:
        # Keras' dtype rules narrow float64 to float32 in these ops (the sweep checks the
        # dtype): finite differences then need a larger step and tolerance.
        assert torch.autograd.gradcheck(fn, inputs, eps=1e-3, atol=2e-3, rtol=1e-2)


def test_var_and_std_of_float64_keep_the_gradient_exact():
    # var returns float32 for float64 input (Keras' dtype); its gradient still flows.
    x = _t([1.0, 2.0, 4.0])
    ops.var(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x.detach().numpy() - 7 / 3) / 3, rtol=1e-6)


def test_zero_gradient_ops_have_zero_gradient():
    x = frac((2, 3))
    for fn in (ops.floor, ops.ceil, ops.round, ops.trunc, ops.sign):
        (g,) = torch.autograd.grad(fn(x).sum(), x)
        assert torch.equal(g, torch.zeros_like(g)), fn.__name__
