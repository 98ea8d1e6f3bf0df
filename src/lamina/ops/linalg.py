"""`lamina.ops.linalg`: matrix decompositions, solves, inverses and norms.

Integer input is computed in `floatx()`; the last two axes are the matrix axes.

>>> import lamina
>>> lamina.ops.linalg.det([[2.0, 0.0], [0.0, 3.0]]).item()
6.0
"""

import warnings

import torch

from lamina.backend.symbolic import is_fake
from lamina.ops.math import inexact_tensor
from lamina.ops.operands import promote_same_kept, tensor
from lamina.ops.operation import keras_op


def _matrix(x, name, square=True):
    x = inexact_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`{name}` expects a tensor of rank >= 2 (matrices in the last two "
                         f"axes); received shape {tuple(x.shape)}.")
    if x.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"`{name}` does not support {str(x.dtype)[6:]} input: torch's matrix "
                        "decompositions need float32, float64 or complex. Cast first, e.g. "
                        "`ops.cast(x, 'float32')`.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"`{name}` expects square matrices; received shape "
                         f"{tuple(x.shape)}.")
    return x


def _pair(a, b, name):
    a, b = promote_same_kept(inexact_tensor(a), inexact_tensor(b))
    _matrix(a, name)
    if b.ndim < 1 or b.shape[-1 if b.ndim == a.ndim - 1 else -2] != a.shape[-1]:
        raise ValueError(f"`{name}`: `a` of shape {tuple(a.shape)} and `b` of shape "
                         f"{tuple(b.shape)} do not match.")
    return a, b


@keras_op("Cholesky", module="linalg", init_args=("upper",))
def cholesky(x, upper=False):
    """Cholesky factor of symmetric positive-definite matrices (lower unless `upper`)."""
    x = _matrix(x, "cholesky")
    factor, info = torch.linalg.cholesky_ex(x, upper=upper)
    if not (torch.compiler.is_compiling() or is_fake(info)) and torch.any(info != 0):
        raise ValueError("`cholesky`: the input is not symmetric positive-definite.")
    return factor


@keras_op("CholeskyInverse", module="linalg", init_args=("upper",))
def cholesky_inverse(x, upper=False):
    """Inverse of `A` given its Cholesky factor `x` (lower unless `upper`)."""
    return torch.cholesky_inverse(_matrix(x, "cholesky_inverse"), upper=upper)


@keras_op("Det", module="linalg")
def det(x):
    """Determinant of square matrices."""
    return torch.linalg.det(_matrix(x, "det"))


@keras_op("Eig", module="linalg")
def eig(x):
    """Eigenvalues and eigenvectors of general square matrices (complex results)."""
    return torch.linalg.eig(_matrix(x, "eig"))


@keras_op("Eigh", module="linalg")
def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices."""
    return torch.linalg.eigh(_matrix(x, "eigh"))


@keras_op("Inv", module="linalg")
def inv(x):
    """Inverse of square matrices."""
    return torch.linalg.inv(_matrix(x, "inv"))


@keras_op("Lstsq", module="linalg", init_args=("rcond",))
def lstsq(a, b, rcond=None):
    """Least-squares solution `x` of `a @ x = b`."""
    a, b = promote_same_kept(inexact_tensor(a), inexact_tensor(b))
    _matrix(a, "lstsq", square=False)
    vector = b.ndim == 1
    if (b.shape[0] if vector else b.shape[-2]) != a.shape[-2]:
        raise ValueError(f"`lstsq`: `a` of shape {tuple(a.shape)} and `b` of shape "
                         f"{tuple(b.shape)} do not match.")
    # NOTE: via the pseudo-inverse, so rank-deficient `a` gives numpy's minimum-norm answer.
    if rcond is None:
        rcond = torch.finfo(a.dtype).eps * max(a.shape[-2:])
    pinv_a = torch.linalg.pinv(a, rtol=rcond)
    return pinv_a @ b


@keras_op("LuFactor", module="linalg")
def lu_factor(x):
    """Packed LU factorisation and (0-based, int32) pivots of square matrices."""
    lu, pivots = torch.linalg.lu_factor(_matrix(x, "lu_factor"))
    return lu, (pivots - 1).int()


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf"))


@keras_op("Norm", module="linalg", init_args=("ord", "axis", "keepdims"))
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (Keras' name)
    """Vector norm (one axis) or matrix norm (two axes) of `x`; see numpy for `ord`.

    Integer input is computed in `floatx()`; float64 stays float64."""
    x = inexact_tensor(x)
    if axis is None:
        axis = tuple(range(x.ndim))
        if ord is None:
            return torch.linalg.vector_norm(x, 2, dim=axis, keepdim=keepdims)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"`norm`: `axis`={axis!r} is out of bounds for rank {x.ndim} "
                             f"(shape {tuple(x.shape)}).")
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"`norm`: `ord`={ord!r} is only valid for matrix norms (two "
                             "axes); a vector norm takes a number.")
        return torch.linalg.vector_norm(x, 2 if ord is None else ord, dim=axes,
                                        keepdim=keepdims)
    if len(axes) == 2:
        ord = "fro" if ord is None else ord  # noqa: A001
        if ord in _MATRIX_ORDS:
            return torch.linalg.matrix_norm(x, ord, dim=axes, keepdim=keepdims)
        raise ValueError(f"`norm`: invalid `ord`={ord!r} for a matrix norm; expected one of "
                         "'fro', 'nuc', 1, -1, 2, -2, inf or -inf.")
    raise ValueError(f"`norm`: `axis` must name one or two axes; received {axis!r}.")


@keras_op("Qr", module="linalg", init_args=("mode",))
def qr(x, mode="reduced"):
    """QR decomposition (`mode`: "reduced" or "complete")."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`qr`: `mode` must be 'reduced' or 'complete'; received {mode!r}.")
    return torch.linalg.qr(_matrix(x, "qr", square=False), mode=mode)


@keras_op("Solve", module="linalg")
def solve(a, b):
    """Solve `a @ x = b` for square `a`."""
    a, b = _pair(a, b, "solve")
    return torch.linalg.solve(a, b)


@keras_op("SolveTriangular", module="linalg", init_args=("lower",))
def solve_triangular(a, b, lower=False):
    """Solve `a @ x = b` for triangular `a` (upper unless `lower`)."""
    a, b = _pair(a, b, "solve_triangular")
    vector = b.ndim == a.ndim - 1
    out = torch.linalg.solve_triangular(a, b[..., None] if vector else b, upper=not lower)
    return out[..., 0] if vector else out


@keras_op("SVD", module="linalg", init_args=("full_matrices", "compute_uv"))
def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition: `(u, s, vh)`, or just `s` without `compute_uv`."""
    x = _matrix(x, "svd", square=False)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return torch.linalg.svd(x, full_matrices=full_matrices)


@keras_op("MatrixRank", module="linalg", init_args=("tol",))
def matrix_rank(x, tol=None):
    """Number of singular values above `tol` (default: numpy's tolerance)."""
    x = _matrix(x, "matrix_rank", square=False)
    if tol is None:
        return torch.linalg.matrix_rank(x).int()
    return torch.linalg.matrix_rank(x, atol=tol, rtol=0.0).int()


@keras_op("Pinv", module="linalg", init_args=("rcond",))
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse; singular values below `rcond * max(s)` are cut."""
    x = _matrix(x, "pinv", square=False)
    if rcond is None:
        return torch.linalg.pinv(x)
    return torch.linalg.pinv(x, rtol=rcond)


@keras_op("Slogdet", module="numpy")
def slogdet(x):
    """`(sign, log|det|)` of square matrices."""
    return tuple(torch.linalg.slogdet(_matrix(x, "slogdet")))


@keras_op("Logdet", module="math")
def logdet(x):
    """Log-determinant of Hermitian positive-definite matrices."""
    return torch.logdet(_matrix(x, "logdet"))


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode product: `(fun(*primals), J @ tangents)` (plus aux with `has_aux`)."""
    primals = tuple(tensor(p) for p in primals)
    tangents = tuple(tensor(t) for t in tangents)
    with warnings.catch_warnings():
        # NOTE: torch's first forward-mode call imports decompositions built with the
        # deprecated `torch.jit.script`; that warning is torch's, not the caller's.
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)


__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "logdet", "lstsq",
    "lu_factor", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve",
    "solve_triangular", "svd",
]
