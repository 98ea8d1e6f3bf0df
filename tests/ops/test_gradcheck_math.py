"""Analytic gradients of the math, linalg, core and control-flow ops match finite
differences (`torch.autograd.gradcheck`, float64). Decompositions are checked through
functions of their outputs that do not depend on the sign/phase convention."""

import numpy as np
import pytest
import torch

from lamina import ops

GEN = torch.Generator().manual_seed(0)


def rand(*shape, low=-1.0, high=1.0):
    return (torch.rand(shape, generator=GEN, dtype=torch.float64) * (high - low) + low)


def spd(a):
    """A symmetric positive-definite matrix built differentiably from any square `a`."""
    return a @ a.mT + a.shape[-1] * torch.eye(a.shape[-1], dtype=a.dtype)


def sym(a):
    return (a + a.mT) / 2


def well_conditioned(n, batch=()):
    return rand(*batch, n, n) + 2 * n * torch.eye(n, dtype=torch.float64)


def distinct_sorted(n):
    return torch.linspace(-2, 2, n, dtype=torch.float64) + rand(n, low=0, high=0.1)


def _log1pexp(x):
    e = ops.exp(x)

    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        return upstream * (1.0 - 1.0 / (1 + e))

    return ops.log(1 + e), grad


_custom_log1pexp = ops.custom_gradient(_log1pexp)
SPEC = (rand(2, 5), rand(2, 5))  # 2 frames of an fft_length=8 spectrum
SPREAD = torch.diag(distinct_sorted(3) * 4)  # well separated eigenvalues
# view_as_complex computes in float32 (as Keras), so the finite differences need a larger
# step and tolerance.
FLOAT32 = {"eps": 1e-3, "atol": 2e-3, "rtol": 1e-2}

# name -> (function of the float64 inputs, inputs[, gradcheck tolerances])
GRAD_CASES = {
    "erf": (ops.erf, (rand(2, 3),)),
    "rsqrt": (ops.rsqrt, (rand(2, 3, low=0.5, high=2.0),)),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1, keepdims=True), (rand(2, 4),)),
    "logsumexp_all": (ops.logsumexp, (rand(3, 2),)),
    "top_k": (lambda x: ops.top_k(x, 2)[0], (distinct_sorted(5)[torch.randperm(5)],)),
    "segment_sum": (lambda x: ops.segment_sum(x, [0, 2, 2, 1], num_segments=4),
                    (rand(4, 2),)),
    "segment_max": (lambda x: ops.segment_max(x, [0, 1, 1, 0]),
                    (distinct_sorted(8).reshape(4, 2),)),
    "segment_min": (lambda x: ops.segment_min(x, [1, 1, 0, 0]),
                    (distinct_sorted(8).reshape(4, 2),)),
    "segment_prod": (lambda x: ops.segment_prod(x, [0, 0, 1]), (rand(3, 2, low=0.5),)),
    "fft": (lambda r, i: ops.fft((r, i)), (rand(2, 4), rand(2, 4))),
    "fft2": (lambda r, i: ops.fft2((r, i)), (rand(3, 4), rand(3, 4))),
    "ifft2": (lambda r, i: ops.ifft2((r, i)), (rand(3, 4), rand(3, 4))),
    "rfft": (lambda x: ops.rfft(x, fft_length=6), (rand(2, 5),)),
    "irfft": (lambda r, i: ops.irfft((r, i), fft_length=6), (rand(2, 4), rand(2, 4))),
    "stft": (lambda x: ops.stft(x, 6, 3, 8, window="hamming"), (rand(1, 16),)),
    "stft_center_false": (lambda x: ops.stft(x, 8, 4, 8, center=False), (rand(16),)),
    "istft": (lambda r, i: ops.istft((r, i), 8, 4, 8), SPEC),
    "istft_custom": (lambda r, i: ops.istft((r, i), 6, 3, 8, center=False), SPEC),
    "extract_sequences": (lambda x: ops.extract_sequences(x, 3, 2), (rand(2, 7),)),
    "cdist": (ops.cdist, (rand(3, 2), rand(4, 2) + 3)),
    "view_as_complex": (lambda x: ops.view_as_real(ops.view_as_complex(x) ** 2),
                        (rand(3, 2),), FLOAT32),
    "logdet": (lambda a: ops.logdet(spd(a)), (rand(3, 3),)),
    # linalg
    "cholesky": (lambda a: ops.cholesky(spd(a)), (rand(3, 3),)),
    "cholesky_upper": (lambda a: ops.cholesky(spd(a), upper=True), (rand(3, 3),)),
    "cholesky_inverse": (lambda a: ops.cholesky_inverse(torch.tril(a, -1) + 2 * torch.eye(3)),
                         (rand(3, 3),)),
    "det": (ops.det, (well_conditioned(3),)),
    "inv": (ops.inv, (well_conditioned(3, (2,)),)),
    "slogdet": (lambda a: ops.slogdet(a)[1], (well_conditioned(3),)),
    "solve": (ops.solve, (well_conditioned(3), rand(3, 2))),
    "solve_triangular": (lambda a, b: ops.solve_triangular(torch.tril(a), b, lower=True),
                         (well_conditioned(3), rand(3))),
    "lstsq": (ops.lstsq, (rand(5, 3) + torch.eye(5, 3, dtype=torch.float64) * 3, rand(5, 2))),
    "pinv": (ops.pinv, (rand(4, 3) + torch.eye(4, 3, dtype=torch.float64) * 3,)),
    "lu_factor": (lambda a: ops.lu_factor(a)[0], (well_conditioned(3),)),
    "norm_vector": (lambda x: ops.norm(x, ord=3, axis=-1), (rand(2, 4),)),
    "norm_fro": (ops.norm, (rand(3, 4),)),
    "norm_nuc": (lambda x: ops.norm(x, ord="nuc", axis=(0, 1)), (rand(3, 4),)),
    "norm_inf": (lambda x: ops.norm(x, ord=np.inf, axis=(0, 1)), (rand(3, 4),)),
    "eig": (lambda a: torch.sort(ops.eig(a + SPREAD)[0].real)[0], (rand(3, 3) * 0.1,)),
    "eigh": (lambda a: (lambda w, v: (w, v.abs()))(*ops.eigh(sym(a) + SPREAD)),
             (rand(3, 3) * 0.1,)),
    "qr": (lambda a: tuple(t.abs() for t in ops.qr(a)), (well_conditioned(3),)),
    "qr_rect": (lambda a: tuple(t.abs() for t in ops.qr(a)),
                (rand(4, 3) + 3 * torch.eye(4, 3, dtype=torch.float64),)),
    "svd": (lambda a: (lambda u, s, vh: (s, u.abs(), vh.abs()))(
        *ops.svd(a, full_matrices=False)), (rand(4, 3) + torch.diag(
            distinct_sorted(3) + 4)[:, :3].repeat(2, 1)[:4],)),
    "svd_values": (lambda a: ops.svd(a, compute_uv=False), (rand(3, 4) + torch.diag(
        distinct_sorted(3) + 4).repeat(1, 2)[:, :4],)),
    "jvp": (lambda x, t: ops.jvp(ops.sin, (x,), (t,))[1], (rand(3), rand(3))),
    # core
    "cast": (lambda x: ops.cast(x, "float64"), (rand(3),)),
    "convert_to_tensor": (ops.convert_to_tensor, (rand(3),)),
    "saturate_cast": (lambda x: ops.saturate_cast(x, "float64"), (rand(3),)),
    "slice": (lambda x: ops.slice(x, (1, 0), (2, 2)), (rand(3, 3),)),
    "slice_update": (lambda x, u: ops.slice_update(x, (1, 1), u), (rand(3, 3), rand(2, 2))),
    "scatter": (lambda v: ops.scatter([[0, 1], [2, 0], [0, 1]], v, (3, 2)), (rand(3),)),
    "scatter_update": (lambda x, u: ops.scatter_update(x, [[0, 1], [2, 0]], u),
                       (rand(3, 2), rand(2))),
    "scatter_update_mul": (lambda x, u: ops.scatter_update(x, [[0, 1], [2, 0]], u, "mul"),
                           (rand(3, 2), rand(2))),
    "scatter_update_max": (lambda x, u: ops.scatter_update(x, [[1], [0]], u, "max"),
                           (distinct_sorted(4).reshape(2, 2), distinct_sorted(4)[[3, 0, 1, 2]]
                            .reshape(2, 2) + 0.05)),
    "unstack": (lambda x: tuple(ops.unstack(x, axis=1)), (rand(2, 3),)),
    "cond": (lambda x: ops.cond(True, lambda: x * 2, lambda: x), (rand(3),)),
    "fori_loop": (lambda x: ops.fori_loop(0, 3, lambda i, v: v * x + i, x), (rand(3),)),
    "while_loop": (lambda x: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x),
                                            (0, x))[1], (rand(3),)),
    "scan": (lambda c, xs: ops.scan(lambda c, x: (c * x, c + x), c, xs, reverse=True),
             (rand(2), rand(3, 2))),
    "associative_scan": (lambda x: ops.associative_scan(lambda a, b: a * b, x, axis=1),
                         (rand(2, 5),)),
    "map": (lambda x: ops.map(lambda r: r * r.sum(), x), (rand(3, 2),)),
    "switch": (lambda x, y: ops.switch(1, [lambda a, b: a + b, lambda a, b: a * b], x, y),
               (rand(3), rand(3))),
    "vectorized_map": (lambda x: ops.vectorized_map(lambda r: torch.outer(r, r), x),
                       (rand(2, 3),)),
    "custom_gradient": (_custom_log1pexp, (rand(4) * 3,)),
    "rearrange": (lambda x: ops.rearrange(x, "a (b c) -> c a b", c=2), (rand(2, 4),)),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_matches_finite_differences(name):
    fn, inputs, *tolerances = GRAD_CASES[name]
    inputs = tuple(x.detach().clone().requires_grad_(True) for x in inputs)
    tolerances = tolerances[0] if tolerances else {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-4}
    assert torch.autograd.gradcheck(fn, inputs, **tolerances)


def test_stop_gradient_has_zero_gradient():
    x = rand(3).requires_grad_(True)
    (ops.stop_gradient(x * 3) * x).sum().backward()
    torch.testing.assert_close(x.grad, (x * 3).detach())
