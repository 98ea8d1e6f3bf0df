"""Element-wise functions of one tensor in `lamina.ops.numpy`: exponentials, logarithms,
trigonometry, rounding, signs, float classification, complex parts; and `vectorize`.

Float functions of integer or bool input compute in `floatx()`.

>>> import lamina
>>> lamina.ops.sqrt([4, 9]).tolist()
[2.0, 3.0]
"""


import torch

from lamina.ops.operands import (
    FLOAT_TENSOR,
    float_tensor,
    tensor,
    torch_result_type,
)
from lamina.ops.operation import keras_op


@keras_op("Sqrt", module="numpy", bound=torch.sqrt, guard=FLOAT_TENSOR)
def sqrt(x):
    """Element-wise square root."""
    return torch.sqrt(float_tensor(x))


@keras_op("Exp", module="numpy", bound=torch.exp, guard=FLOAT_TENSOR)
def exp(x):
    """Element-wise `e ** x`."""
    return torch.exp(float_tensor(x))


@keras_op("Expm1", module="numpy", bound=torch.expm1, guard=FLOAT_TENSOR)
def expm1(x):
    """Element-wise `exp(x) - 1`, exact near 0."""
    return torch.expm1(float_tensor(x))


@keras_op("Log", module="numpy", bound=torch.log, guard=FLOAT_TENSOR)
def log(x):
    """Element-wise natural logarithm."""
    return torch.log(float_tensor(x))


@keras_op("Log1p", module="numpy", bound=torch.log1p, guard=FLOAT_TENSOR)
def log1p(x):
    """Element-wise `log(1 + x)`, exact near 0."""
    return torch.log1p(float_tensor(x))


@keras_op("Log2", module="numpy", bound=torch.log2, guard=FLOAT_TENSOR)
def log2(x):
    """Element-wise base-2 logarithm."""
    return torch.log2(float_tensor(x))


@keras_op("Log10", module="numpy", bound=torch.log10, guard=FLOAT_TENSOR)
def log10(x):
    """Element-wise base-10 logarithm."""
    return torch.log10(float_tensor(x))


@keras_op("Sin", module="numpy", bound=torch.sin, guard=FLOAT_TENSOR)
def sin(x):
    """Element-wise sine."""
    return torch.sin(float_tensor(x))


@keras_op("Cos", module="numpy", bound=torch.cos, guard=FLOAT_TENSOR)
def cos(x):
    """Element-wise cosine."""
    return torch.cos(float_tensor(x))


@keras_op("Tan", module="numpy", bound=torch.tan, guard=FLOAT_TENSOR)
def tan(x):
    """Element-wise tangent."""
    return torch.tan(float_tensor(x))


@keras_op("Tanh", module="numpy", bound=torch.tanh, guard=FLOAT_TENSOR)
def tanh(x):
    """Element-wise hyperbolic tangent."""
    return torch.tanh(float_tensor(x))


@keras_op("Arcsin", module="numpy", bound=torch.asin, guard=FLOAT_TENSOR)
def arcsin(x):
    """Element-wise inverse sine."""
    return torch.asin(float_tensor(x))


@keras_op("Arccos", module="numpy", bound=torch.acos, guard=FLOAT_TENSOR)
def arccos(x):
    """Element-wise inverse cosine."""
    return torch.acos(float_tensor(x))


@keras_op("Arctan", module="numpy", bound=torch.atan, guard=FLOAT_TENSOR)
def arctan(x):
    """Element-wise inverse tangent."""
    return torch.atan(float_tensor(x))


@keras_op("Sinh", module="numpy", bound=torch.sinh, guard=FLOAT_TENSOR)
def sinh(x):
    """Element-wise hyperbolic sine."""
    return torch.sinh(float_tensor(x))


@keras_op("Cosh", module="numpy", bound=torch.cosh, guard=FLOAT_TENSOR)
def cosh(x):
    """Element-wise hyperbolic cosine."""
    return torch.cosh(float_tensor(x))


@keras_op("Arcsinh", module="numpy", bound=torch.asinh, guard=FLOAT_TENSOR)
def arcsinh(x):
    """Element-wise inverse sinh."""
    return torch.asinh(float_tensor(x))


@keras_op("Arccosh", module="numpy", bound=torch.acosh, guard=FLOAT_TENSOR)
def arccosh(x):
    """Element-wise inverse cosh."""
    return torch.acosh(float_tensor(x))


@keras_op("Arctanh", module="numpy", bound=torch.atanh, guard=FLOAT_TENSOR)
def arctanh(x):
    """Element-wise inverse tanh."""
    return torch.atanh(float_tensor(x))


@keras_op("Reciprocal", module="numpy", bound=torch.reciprocal, guard=FLOAT_TENSOR)
def reciprocal(x):
    """Element-wise `1 / x`."""
    return torch.reciprocal(float_tensor(x))


def _rounding_tensor(x):
    # NOTE: Keras types floor/ceil as result_type(x, float): ints become floatx, and 64-bit
    # floats come back as float32 (its canonical float).
    x = tensor(x)
    dtype = torch_result_type(x.dtype, float)
    return x if x.dtype == dtype else x.to(dtype)


@keras_op("Floor", module="numpy")
def floor(x):
    """Element-wise floor; float result."""
    return torch.floor(_rounding_tensor(x))


@keras_op("Ceil", module="numpy")
def ceil(x):
    """Element-wise ceiling; float result."""
    return torch.ceil(_rounding_tensor(x))


@keras_op("Round", module="numpy", init_args=("decimals",))
def round(x, decimals=0):  # noqa: A001 (Keras' name)
    """Round half to even to `decimals` places; integers keep their dtype."""
    x = tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals)
    if x.dtype == torch.bool:
        raise ValueError("`round` does not accept bool tensors; cast to a number first.")
    if decimals >= 0:
        return x.clone()
    factor = 10 ** (-decimals)
    return (torch.round(x.double() / factor) * factor).to(x.dtype)


@keras_op("Negative", module="numpy")
def negative(x):
    """Element-wise `-x`."""
    return torch.neg(tensor(x))


@keras_op("Absolute", module="numpy")
def absolute(x):
    """Element-wise absolute value (bool input is returned as is)."""
    x = tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


@keras_op("Absolute", module="numpy")
def abs(x):  # noqa: A001 (Keras' name)
    """Same as `absolute`."""
    x = tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


@keras_op("Sign", module="numpy")
def sign(x):
    """Element-wise sign: -1, 0 or 1 in the input's dtype."""
    return torch.sign(tensor(x))


@keras_op("Square", module="numpy")
def square(x):
    """Element-wise `x * x`; bool input gives int32."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    return torch.square(x)


@keras_op("Isnan", module="numpy")
def isnan(x):
    """Element-wise test for NaN."""
    return torch.isnan(tensor(x))


@keras_op("Isinf", module="numpy")
def isinf(x):
    """Element-wise test for positive or negative infinity."""
    return torch.isinf(tensor(x))


@keras_op("Isfinite", module="numpy")
def isfinite(x):
    """Element-wise test for finite values (not NaN, not infinite)."""
    return torch.isfinite(tensor(x))


@keras_op("Cbrt", module="numpy")
def cbrt(x):
    """Element-wise real cube root."""
    x = tensor(x)
    # NOTE: Keras computes int64 input in float64 here (other ints: `floatx()`).
    x = x.double() if x.dtype == torch.int64 else float_tensor(x)
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


@keras_op("Deg2rad", module="numpy", bound=torch.deg2rad, guard=FLOAT_TENSOR)
def deg2rad(x):
    """Degrees to radians."""
    return torch.deg2rad(float_tensor(x))


@keras_op("Rad2deg", module="numpy", bound=torch.rad2deg, guard=FLOAT_TENSOR)
def rad2deg(x):
    """Radians to degrees."""
    return torch.rad2deg(float_tensor(x))


@keras_op("Exp2", module="numpy", bound=torch.exp2, guard=FLOAT_TENSOR)
def exp2(x):
    """Element-wise `2 ** x`."""
    return torch.exp2(float_tensor(x))


@keras_op("Fabs", module="numpy", bound=torch.abs, guard=FLOAT_TENSOR)
def fabs(x):
    """Element-wise absolute value as a float."""
    return torch.abs(float_tensor(x))


@keras_op("I0", module="numpy", bound=torch.special.i0, guard=FLOAT_TENSOR)
def i0(x):
    """Modified Bessel function of the first kind, order 0."""
    return torch.special.i0(float_tensor(x))


@keras_op("Sinc", module="numpy", bound=torch.sinc, guard=FLOAT_TENSOR)
def sinc(x):
    """Normalized sinc: `sin(pi x) / (pi x)`."""
    return torch.sinc(float_tensor(x))


@keras_op("Erfc", module="math", bound=torch.special.erfc, guard=FLOAT_TENSOR)
def erfc(x):
    """Complementary error function `1 - erf(x)`."""
    return torch.special.erfc(float_tensor(x))


@keras_op("Erfinv", module="math", bound=torch.special.erfinv, guard=FLOAT_TENSOR)
def erfinv(x):
    """Inverse of the error function."""
    return torch.special.erfinv(float_tensor(x))


@keras_op("Trunc", module="numpy")
def trunc(x):
    """Round toward zero; integer tensors are returned unchanged."""
    x = tensor(x)
    return torch.trunc(x) if x.is_floating_point() else x


@keras_op("Signbit", module="numpy")
def signbit(x):
    """True where the sign bit is set (negative numbers, including -0.0)."""
    return torch.signbit(tensor(x))


@keras_op("Isneginf", module="numpy")
def isneginf(x):
    """True where `x` is negative infinity."""
    return torch.isneginf(tensor(x))


@keras_op("Isposinf", module="numpy")
def isposinf(x):
    """True where `x` is positive infinity."""
    return torch.isposinf(tensor(x))


@keras_op("Isreal", module="numpy")
def isreal(x):
    """True where `x` has no imaginary part."""
    return torch.isreal(tensor(x))


@keras_op("NanToNum", module="numpy", init_args=("nan", "posinf", "neginf"))
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by `nan` and infinities by `posinf`/`neginf` (default: dtype extremes)."""
    x = tensor(x)
    if not x.is_floating_point():
        return x
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@keras_op("Real", module="numpy")
def real(x):
    """The real part of `x`."""
    return torch.real(tensor(x))


@keras_op("Imag", module="numpy")
def imag(x):
    """The imaginary part of `x` (zeros for real input)."""
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


@keras_op("Conjugate", module="numpy")
def conjugate(x):
    """Element-wise complex conjugate."""
    x = tensor(x)
    return torch.conj(x).resolve_conj() if x.is_complex() else x


@keras_op("Conjugate", module="numpy")
def conj(x):
    """Alias of `conjugate`."""
    return conjugate(x)


@keras_op("Angle", module="numpy")
def angle(x):
    """Element-wise argument of complex numbers (0 or pi for real input)."""
    x = tensor(x)
    if not x.is_complex():
        x = float_tensor(x)
    return torch.angle(x)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` mapped over the leading axis of its tensor arguments (numpy-style).

    Without `signature` the function is applied element-wise via `torch.vmap`."""
    excluded = set(excluded or ())

    def wrapped(*args, **kwargs):
        tensor_pos = [i for i, a in enumerate(args) if i not in excluded]
        args = [tensor(a) if i in tensor_pos else a for i, a in enumerate(args)]
        core = _core_ranks(signature, len(tensor_pos))
        fn = pyfunc
        shapes = torch.broadcast_shapes(*[args[i].shape[:args[i].ndim - c]
                                          for i, c in zip(tensor_pos, core)])
        for i, c in zip(tensor_pos, core):
            args[i] = args[i].expand(*shapes, *args[i].shape[args[i].ndim - c:])
        in_dims = tuple(0 if i in tensor_pos else None for i in range(len(args)))
        for _ in range(len(shapes)):
            fn = torch.vmap(fn, in_dims=in_dims)
        return fn(*args, **kwargs)

    return wrapped


def _core_ranks(signature, n):
    if signature is None:
        return [0] * n
    inputs = signature.split("->")[0]
    groups = inputs.replace(" ", "").strip("()").split("),(")
    return [len([d for d in g.split(",") if d]) for g in groups]


__all__ = [
    "abs",
    "absolute",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "cbrt",
    "ceil",
    "conj",
    "conjugate",
    "cos",
    "cosh",
    "deg2rad",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "i0",
    "imag",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "log",
    "log10",
    "log1p",
    "log2",
    "nan_to_num",
    "negative",
    "rad2deg",
    "real",
    "reciprocal",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "tan",
    "tanh",
    "trunc",
    "vectorize",
]
