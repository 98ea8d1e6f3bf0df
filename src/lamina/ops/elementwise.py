"""`lamina.ops` element-wise extras: bitwise ops, float helpers, complex parts, closeness.

Re-exported by `lamina.ops.numpy`.

>>> import lamina
>>> lamina.ops.hypot([3.0], [4.0]).tolist()
[5.0]
"""

import torch

from lamina.ops._helpers import (
    axis_error,
    check_broadcastable,
    float_tensor,
    float_unary_op,
    floatx_dtype,
    promote,
    tensor,
    torch_operands,
    torch_result_type,
)
from lamina.ops.operation import keras_op


def _float_pair(x1, x2, weak=False):
    """Operands promoted Keras-style, then made floating (`floatx()` for ints/bools).

    NOTE: most of these Keras ops convert both operands first, so a Python float is
    `floatx()`, not weak: `hypot(float16_tensor, 2.5)` is float32."""
    x1, x2 = promote(x1, x2) if weak else promote(tensor(x1), tensor(x2))
    if not x1.is_floating_point() and not x1.is_complex():
        dtype = floatx_dtype()
        x1, x2 = x1.to(dtype), x2.to(dtype)
    return x1, x2


def _binary(fn, name, x1, x2):
    try:
        return fn(x1, x2)
    except RuntimeError:
        check_broadcastable(name, x1, x2)
        raise


_WIDE = (torch.float64, torch.int64, torch.complex128)


def promote_wide(*xs):
    """As `promote`, but where a tensor operand is 64-bit the result follows torch's own
    promotion of the converted operands (float64 stays float64), as these Keras-torch ops
    do; Keras' `result_type` would narrow it to 32 bits."""
    xs = [x if isinstance(x, (torch.Tensor, bool, int, float)) else tensor(x) for x in xs]
    if not any(isinstance(x, torch.Tensor) and x.dtype in _WIDE for x in xs):
        return promote(*xs)  # Python numbers stay weak
    xs = [x if isinstance(x, torch.Tensor) else tensor(x) for x in xs]
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype) if x.ndim else torch.result_type(
            torch.empty(1, dtype=dtype), x)
    return [x if x.dtype == dtype else x.to(dtype) for x in xs]


def _int_pair(name, x, y, allow_bool=True):
    x, y = promote_wide(x, y)
    if x.is_floating_point() or x.is_complex() or (x.dtype == torch.bool and not allow_bool):
        kinds = "integer or bool" if allow_bool else "integer"
        raise TypeError(f"`{name}` expects {kinds} tensors; received dtype {x.dtype}.")
    return x, y


# --- bitwise --------------------------------------------------------------------------


@keras_op("BitwiseAnd")
def bitwise_and(x, y):
    """Element-wise bitwise AND of integer tensors."""
    return _binary(torch.bitwise_and, "bitwise_and", *_int_pair("bitwise_and", x, y))


@keras_op("BitwiseOr")
def bitwise_or(x, y):
    """Element-wise bitwise OR of integer tensors."""
    return _binary(torch.bitwise_or, "bitwise_or", *_int_pair("bitwise_or", x, y))


@keras_op("BitwiseXor")
def bitwise_xor(x, y):
    """Element-wise bitwise XOR of integer tensors."""
    return _binary(torch.bitwise_xor, "bitwise_xor", *_int_pair("bitwise_xor", x, y))


@keras_op("BitwiseInvert")
def bitwise_invert(x):
    """Element-wise bitwise NOT of an integer tensor."""
    x = tensor(x)
    if x.is_floating_point():
        raise TypeError(f"`bitwise_invert` expects an integer tensor; received {x.dtype}.")
    return torch.bitwise_not(x)


@keras_op("BitwiseNot")
def bitwise_not(x):
    """Alias of `bitwise_invert`."""
    return bitwise_invert(x)


@keras_op("BitwiseLeftShift")
def bitwise_left_shift(x, y):
    """Shift the bits of `x` left by `y`."""
    return _binary(torch.bitwise_left_shift, "bitwise_left_shift",
                   *_int_pair("bitwise_left_shift", x, y, allow_bool=False))


@keras_op("BitwiseRightShift")
def bitwise_right_shift(x, y):
    """Shift the bits of `x` right by `y` (arithmetic for signed types)."""
    return _binary(torch.bitwise_right_shift, "bitwise_right_shift",
                   *_int_pair("bitwise_right_shift", x, y, allow_bool=False))


@keras_op("LeftShift")
def left_shift(x, y):
    """Alias of `bitwise_left_shift`."""
    return _binary(torch.bitwise_left_shift, "left_shift",
                   *_int_pair("left_shift", x, y, allow_bool=False))


@keras_op("RightShift")
def right_shift(x, y):
    """Alias of `bitwise_right_shift`."""
    return _binary(torch.bitwise_right_shift, "right_shift",
                   *_int_pair("right_shift", x, y, allow_bool=False))


# --- float unary ----------------------------------------------------------------------


_unary = float_unary_op


@keras_op("Cbrt")
def cbrt(x):
    """Element-wise real cube root."""
    x = tensor(x)
    # NOTE: Keras computes int64 input in float64 here (other ints: `floatx()`).
    x = x.double() if x.dtype == torch.int64 else float_tensor(x)
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)
deg2rad = _unary(torch.deg2rad, "deg2rad", "Deg2rad", "Degrees to radians.")
rad2deg = _unary(torch.rad2deg, "rad2deg", "Rad2deg", "Radians to degrees.")
exp2 = _unary(torch.exp2, "exp2", "Exp2", "Element-wise `2 ** x`.")
fabs = _unary(torch.abs, "fabs", "Fabs", "Element-wise absolute value as a float.")
i0 = _unary(torch.special.i0, "i0", "I0", "Modified Bessel function of the first kind, order 0.")
sinc = _unary(torch.sinc, "sinc", "Sinc", "Normalized sinc: `sin(pi x) / (pi x)`.")
erfc = _unary(torch.special.erfc, "erfc", "Erfc", "Complementary error function `1 - erf(x)`.")
erfinv = _unary(torch.special.erfinv, "erfinv", "Erfinv", "Inverse of the error function.")


@keras_op("Trunc")
def trunc(x):
    """Round toward zero; integer tensors are returned unchanged."""
    x = tensor(x)
    return torch.trunc(x) if x.is_floating_point() else x


@keras_op("Signbit")
def signbit(x):
    """True where the sign bit is set (negative numbers, including -0.0)."""
    return torch.signbit(tensor(x))


@keras_op("Isneginf")
def isneginf(x):
    """True where `x` is negative infinity."""
    return torch.isneginf(tensor(x))


@keras_op("Isposinf")
def isposinf(x):
    """True where `x` is positive infinity."""
    return torch.isposinf(tensor(x))


@keras_op("Isreal")
def isreal(x):
    """True where `x` has no imaginary part."""
    return torch.isreal(tensor(x))


@keras_op("NanToNum")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by `nan` and infinities by `posinf`/`neginf` (default: dtype extremes)."""
    x = tensor(x)
    if not x.is_floating_point():
        return x
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# --- complex parts --------------------------------------------------------------------


@keras_op("Real")
def real(x):
    """The real part of `x`."""
    return torch.real(tensor(x))


@keras_op("Imag")
def imag(x):
    """The imaginary part of `x` (zeros for real input)."""
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


@keras_op("Conjugate")
def conjugate(x):
    """Element-wise complex conjugate."""
    x = tensor(x)
    return torch.conj(x).resolve_conj() if x.is_complex() else x


@keras_op("Conjugate")
def conj(x):
    """Alias of `conjugate`."""
    return conjugate(x)


@keras_op("Angle")
def angle(x):
    """Element-wise argument of complex numbers (0 or pi for real input)."""
    x = tensor(x)
    if not x.is_complex():
        x = float_tensor(x)
    return torch.angle(x)


# --- binary ---------------------------------------------------------------------------


@keras_op("Fmax")
def fmax(x1, x2):
    """Element-wise maximum that ignores NaN."""
    return _binary(torch.fmax, "fmax", *promote(x1, x2))


@keras_op("Fmin")
def fmin(x1, x2):
    """Element-wise minimum that ignores NaN."""
    return _binary(torch.fmin, "fmin", *promote(x1, x2))


@keras_op("Fmod")
def fmod(x1, x2):
    """Element-wise remainder with the sign of the dividend (C `fmod`)."""
    # NOTE: Keras-torch follows torch's promotion here (float64 stays float64).
    x1, x2 = torch_operands(x1, x2)
    if tensor(x1).dtype == torch.bool and tensor(x2).dtype == torch.bool:
        x1, x2 = tensor(x1).int(), tensor(x2).int()
    return _binary(torch.fmod, "fmod", x1, x2)


@keras_op("Gcd")
def gcd(x1, x2):
    """Element-wise greatest common divisor of integers."""
    return _binary(torch.gcd, "gcd", *_int_pair("gcd", x1, x2, allow_bool=False))


@keras_op("Lcm")
def lcm(x1, x2):
    """Element-wise least common multiple of integers."""
    return _binary(torch.lcm, "lcm", *_int_pair("lcm", x1, x2, allow_bool=False))


@keras_op("Heaviside")
def heaviside(x1, x2):
    """Step function: 0 for `x1 < 0`, `x2` for `x1 == 0`, 1 for `x1 > 0`."""
    x1, x2 = promote(tensor(x1), tensor(x2))
    # NOTE: Keras keeps bool operands bool (only integers become `floatx()`).
    if x1.dtype != torch.bool and not x1.is_floating_point():
        x1, x2 = x1.to(floatx_dtype()), x2.to(floatx_dtype())
    return _binary(torch.heaviside, "heaviside", x1, x2)


@keras_op("Hypot")
def hypot(x1, x2):
    """Element-wise `sqrt(x1**2 + x2**2)`."""
    return _binary(torch.hypot, "hypot", *_float_pair(x1, x2))


@keras_op("Nextafter")
def nextafter(x1, x2):
    """The next representable float after `x1` towards `x2`."""
    return _binary(torch.nextafter, "nextafter", *_float_pair(x1, x2))


@keras_op("Ldexp")
def ldexp(x1, x2):
    """Element-wise `x1 * 2 ** x2` (`x2` integer)."""
    x2 = tensor(x2)
    if x2.is_floating_point() or x2.is_complex() or x2.dtype == torch.bool:
        raise TypeError(f"`ldexp` expects an integer exponent `x2`; received {x2.dtype}.")
    x1 = tensor(x1)
    # NOTE: Keras types the result as result_type(x1, x2, float): float64 becomes float32.
    x1 = x1.to(torch_result_type(x1.dtype, x2.dtype, float))
    return _binary(lambda a, b: a * torch.pow(2.0, b).to(a.dtype), "ldexp", x1, x2)


@keras_op("Logaddexp")
def logaddexp(x1, x2):
    """Element-wise `log(exp(x1) + exp(x2))`, computed stably."""
    return _binary(torch.logaddexp, "logaddexp", *_float_pair(x1, x2))


@keras_op("Logaddexp2")
def logaddexp2(x1, x2):
    """Element-wise `log2(2**x1 + 2**x2)`, computed stably."""
    return _binary(torch.logaddexp2, "logaddexp2", *_float_pair(x1, x2))


@keras_op("DivideNoNan")
def divide_no_nan(x1, x2):
    """`x1 / x2`, with 0 wherever `x2` is 0."""
    x1, x2 = _float_pair(x1, x2, weak=True)
    safe = torch.where(x2 == 0, torch.ones_like(x2), x2)
    return torch.where(x2 == 0, torch.zeros((), dtype=x1.dtype, device=x1.device),
                       _binary(torch.div, "divide_no_nan", x1, safe))


@keras_op("Isclose")
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True where `|x1 - x2| <= atol + rtol * |x2|`."""
    return _isclose("isclose", x1, x2, rtol, atol, equal_nan)


def _isclose(name, x1, x2, rtol, atol, equal_nan):
    x1, x2 = promote(x1, x2)
    return _binary(lambda a, b: torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan),
                   name, x1, x2)


@keras_op("Allclose")
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True (a 0-d bool tensor) when all elements are close; see `isclose`."""
    return torch.all(_isclose("allclose", x1, x2, rtol, atol, equal_nan))


# --- products and differences ----------------------------------------------------------


def _product_pair(x1, x2):
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        x1, x2 = x1.int(), x2.int()
    return x1, x2


@keras_op("Cross")
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (2-vectors are padded with a zero z component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = _product_pair(x1, x2)
    for v, ax in ((x1, axisa), (x2, axisb)):
        if not -v.ndim <= ax < v.ndim:
            raise axis_error(ax, v)
    a, b = torch.movedim(x1, axisa, -1), torch.movedim(x2, axisb, -1)
    for v, name in ((a, "x1"), (b, "x2")):
        if v.shape[-1] not in (2, 3):
            raise ValueError(f"`cross`: the vector axis of `{name}` must have size 2 or 3; "
                             f"received shape {tuple(v.shape)}.")
    two_d = a.shape[-1] == 2 and b.shape[-1] == 2
    if a.shape[-1] == 2:
        a = torch.nn.functional.pad(a, (0, 1))
    if b.shape[-1] == 2:
        b = torch.nn.functional.pad(b, (0, 1))
    try:
        a, b = torch.broadcast_tensors(a, b)
    except RuntimeError:
        check_broadcastable("cross", a, b)
        raise
    out = torch.linalg.cross(a, b, dim=-1)
    if two_d:
        return out[..., 2]
    if not -out.ndim <= axisc < out.ndim:
        raise axis_error(axisc, out)
    return torch.movedim(out, -1, axisc)


@keras_op("Inner")
def inner(x1, x2):
    """Inner product over the last axes (a plain product when either is a scalar)."""
    x1, x2 = _product_pair(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"`inner`: last dimensions differ: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}.")
    return torch.inner(x1, x2)


@keras_op("Vdot")
def vdot(x1, x2):
    """Dot product of the flattened inputs (conjugating `x1` when complex)."""
    x1, x2 = _product_pair(x1, x2)
    if x1.numel() != x2.numel():
        raise ValueError(f"`vdot`: inputs must have the same number of elements; received "
                         f"shapes {tuple(x1.shape)} and {tuple(x2.shape)}.")
    return torch.vdot(x1.reshape(-1), x2.reshape(-1))


@keras_op("Kron")
def kron(x1, x2):
    """Kronecker product (of bools: their logical AND, as bool)."""
    x1, x2 = promote_wide(x1, x2)
    if x1.dtype == torch.bool:
        return torch.kron(x1.int(), x2.int()) != 0
    return torch.kron(x1, x2)


@keras_op("Correlate")
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (`mode`: "valid", "same" or "full")."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"`correlate`: `mode` must be 'valid', 'same' or 'full'; "
                         f"received {mode!r}.")
    x1, x2 = _float_pair(x1, x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"`correlate` expects 1-D inputs; received shapes {tuple(x1.shape)} "
                         f"and {tuple(x2.shape)}.")
    n, m = x1.shape[0], x2.shape[0]
    if m > n:  # numpy swaps and reverses so the longer sequence slides
        return torch.flip(correlate(x2, x1, mode), [0])
    pad = {"valid": 0, "full": m - 1, "same": m // 2}[mode]
    right = {"valid": 0, "full": m - 1, "same": m - 1 - m // 2}[mode]
    x = torch.nn.functional.pad(x1[None, None], (pad, right))
    return torch.nn.functional.conv1d(x, x2[None, None])[0, 0]


@keras_op("Diff")
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis`."""
    a = tensor(a)
    try:
        return torch.diff(a, n=n, dim=axis)
    except IndexError:
        raise axis_error(axis, a) from None


@keras_op("Trapezoid")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule."""
    y = float_tensor(y)
    if not -y.ndim <= axis < y.ndim:
        raise axis_error(axis, y)
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    x = float_tensor(x).to(y.dtype)
    return torch.trapezoid(y, x=x, dim=axis)


__all__ = [
    "allclose", "angle", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "cbrt", "conj",
    "conjugate", "correlate", "cross", "deg2rad", "diff", "divide_no_nan", "erfc", "erfinv",
    "exp2", "fabs", "fmax", "fmin", "fmod", "gcd", "heaviside", "hypot", "i0", "imag",
    "inner", "isclose", "isneginf", "isposinf", "isreal", "kron", "lcm", "ldexp",
    "left_shift", "logaddexp", "logaddexp2", "nan_to_num", "nextafter", "rad2deg", "real",
    "right_shift", "signbit", "sinc", "trapezoid", "trunc", "vdot",
]
