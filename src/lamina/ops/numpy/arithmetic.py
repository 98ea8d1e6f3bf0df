"""Binary element-wise ops of `lamina.ops.numpy`: arithmetic, comparison, logic,
bitwise ops, closeness and selection (`where`, `clip`, `select`).

Dtype rules follow Keras with its torch backend: `add`, `subtract`, `multiply`, `mod`,
`power` and `divide` use torch's promotion (Python numbers are weak); `maximum`,
`minimum`, `floor_divide`, `arctan2`, `clip` and `where` use Keras' `result_type`.

>>> import lamina
>>> lamina.ops.add([1, 2], 0.5).tolist()
[1.5, 2.5]
"""

import operator
from functools import partial

import torch
from torch import Tensor

from lamina.backend.dtypes import floatx_dtype
from lamina.backend.symbolic import is_fake, unknown_size
from lamina.ops.operands import (
    TENSORS_OR_WEAK_FLOAT,
    broadcast_binary,
    check_broadcastable,
    explain_binary,
    float_pair,
    promote,
    promote_wide,
    tensor,
    torch_operands,
    torch_result_type,
)
from lamina.ops.operation import NUMBER_TAKES_DTYPE, keras_op

# NOTE: the fast paths below (`bound=`) exist because relu's cap and threshold, masks and
# clipping pass Python numbers: through `promote` an op costs ~4x the torch call.
# `weak_operands` admits only operands torch promotes as Keras does (see its docstring).
WEAK_OPERANDS = "weak_operands(x1, x2)"


def _number_first_swapped(torch_fn, swapped):
    """`torch_fn(x1, x2)` for weak operands; torch's functions take a tensor first, so
    `number OP tensor` runs as `swapped(tensor, number)` (not the reflected operator:
    `Tensor.__rsub__` is a Python wrapper, ~0.7 us more)."""

    def bound(x1, x2):
        return torch_fn(x1, x2) if x1.__class__ is Tensor else swapped(x2, x1)

    return bound


def _number_as_tensor(torch_fn):
    """`torch_fn(x1, x2)` for weak operands, a Python number made a 0-d tensor of the
    result dtype first (`torch.maximum` takes no numbers; `clamp` would differ in the
    gradient at ties)."""

    def bound(x1, x2):
        if x2.__class__ is not Tensor:
            x2 = _number_tensor(x2, x1)
        elif x1.__class__ is not Tensor:
            x1 = _number_tensor(x1, x2)
        return torch_fn(x1, x2)

    return bound


def _number_tensor(number, like):
    dtype = like.dtype if like.dtype in NUMBER_TAKES_DTYPE else floatx_dtype()
    return torch.scalar_tensor(number, dtype=dtype, device=like.device)


@keras_op("Add", module="numpy", bound=operator.add, guard=TENSORS_OR_WEAK_FLOAT,
          explain=partial(explain_binary, "add"))
def add(x1, x2):
    """Element-wise `x1 + x2` with broadcasting."""
    return broadcast_binary(operator.add, "add", *torch_operands(x1, x2))


@keras_op("Multiply", module="numpy", bound=operator.mul, guard=TENSORS_OR_WEAK_FLOAT,
          explain=partial(explain_binary, "multiply"))
def multiply(x1, x2):
    """Element-wise `x1 * x2` with broadcasting."""
    return broadcast_binary(operator.mul, "multiply", *torch_operands(x1, x2))


@keras_op("Divide", module="numpy")
def divide(x1, x2):
    """Element-wise true division; integer operands give a float result."""
    return broadcast_binary(operator.truediv, "divide", *torch_operands(x1, x2))


@keras_op("TrueDivide", module="numpy")
def true_divide(x1, x2):
    """Same as `divide`."""
    return broadcast_binary(operator.truediv, "true_divide", *torch_operands(x1, x2))


@keras_op("Power", module="numpy")
def power(x1, x2):
    """Element-wise `x1 ** x2`."""
    return broadcast_binary(operator.pow, "power", *torch_operands(x1, x2))


# NOTE: torch refuses `-` with a bool operand, which the op computes: the guard admits
# float operands only.
@keras_op("Subtract", module="numpy", bound=_number_first_swapped(torch.sub, torch.rsub),
          guard="x1.__class__ is Tensor and x1.dtype in FLOAT_DTYPES and (x2.__class__ is float "
                "or x2.__class__ is Tensor and x2.dtype in FLOAT_DTYPES) or x1.__class__ is "
                "float and x2.__class__ is Tensor and x2.dtype in FLOAT_DTYPES",
          explain=partial(explain_binary, "subtract"))
def subtract(x1, x2):
    """Element-wise `x1 - x2` with broadcasting."""
    if x1.__class__ is not Tensor or x2.__class__ is not Tensor:
        x1, x2 = torch_operands(x1, x2)
    try:
        return x1 - x2
    except RuntimeError:
        check_broadcastable("subtract", x1, x2)
        if tensor(x1).dtype != torch.bool and tensor(x2).dtype != torch.bool:
            raise
    # NOTE: torch refuses `-` on bool; Keras subtracts in the promoted dtype.
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        raise ValueError("`subtract` does not accept two bool operands; cast one to a number.")
    return x1 - x2


@keras_op("Mod", module="numpy")
def mod(x1, x2):
    """Element-wise remainder with the sign of the divisor (like `numpy.mod`)."""
    x1, x2 = torch_operands(x1, x2)
    try:
        return torch.remainder(x1, x2)
    except RuntimeError:
        check_broadcastable("mod", x1, x2)
        if tensor(x1).dtype == torch.bool and tensor(x2).dtype == torch.bool:
            return torch.remainder(tensor(x1).int(), tensor(x2).int())
        raise


@keras_op("FloorDivide", module="numpy")
def floor_divide(x1, x2):
    """Element-wise `floor(x1 / x2)` in the promoted dtype."""
    return broadcast_binary(torch.floor_divide, "floor_divide", *promote(x1, x2))


@keras_op("Maximum", module="numpy", bound=_number_as_tensor(torch.maximum),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "maximum"))
def maximum(x1, x2):
    """Element-wise maximum (NaN propagates)."""
    return broadcast_binary(torch.maximum, "maximum", *promote(x1, x2))


@keras_op("Minimum", module="numpy", bound=_number_as_tensor(torch.minimum),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "minimum"))
def minimum(x1, x2):
    """Element-wise minimum (NaN propagates)."""
    return broadcast_binary(torch.minimum, "minimum", *promote(x1, x2))


@keras_op("Arctan2", module="numpy")
def arctan2(x1, x2):
    """Element-wise arc tangent of `x1 / x2`, choosing the quadrant; float result."""
    # NOTE: Keras converts both operands first, so Python numbers are not weak here.
    x1, x2 = promote(tensor(x1), tensor(x2), 1.0)[:2]
    try:
        return torch.atan2(x1, x2)
    except RuntimeError:
        check_broadcastable("arctan2", x1, x2)
        raise


@keras_op("Equal", module="numpy", bound=_number_first_swapped(torch.eq, torch.eq),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "equal"))
def equal(x1, x2):
    """Element-wise `equal` comparison; returns a bool tensor."""
    return broadcast_binary(torch.eq, "equal", *promote(x1, x2))


@keras_op("NotEqual", module="numpy", bound=_number_first_swapped(torch.ne, torch.ne),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "not_equal"))
def not_equal(x1, x2):
    """Element-wise `not_equal` comparison; returns a bool tensor."""
    return broadcast_binary(torch.ne, "not_equal", *promote(x1, x2))


@keras_op("Less", module="numpy", bound=_number_first_swapped(torch.lt, torch.gt),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "less"))
def less(x1, x2):
    """Element-wise `less` comparison; returns a bool tensor."""
    return broadcast_binary(torch.lt, "less", *promote(x1, x2))


@keras_op("LessEqual", module="numpy", bound=_number_first_swapped(torch.le, torch.ge),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "less_equal"))
def less_equal(x1, x2):
    """Element-wise `less_equal` comparison; returns a bool tensor."""
    return broadcast_binary(torch.le, "less_equal", *promote(x1, x2))


@keras_op("Greater", module="numpy", bound=_number_first_swapped(torch.gt, torch.lt),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "greater"))
def greater(x1, x2):
    """Element-wise `greater` comparison; returns a bool tensor."""
    return broadcast_binary(torch.gt, "greater", *promote(x1, x2))


@keras_op("GreaterEqual", module="numpy", bound=_number_first_swapped(torch.ge, torch.le),
          guard=WEAK_OPERANDS, explain=partial(explain_binary, "greater_equal"))
def greater_equal(x1, x2):
    """Element-wise `greater_equal` comparison; returns a bool tensor."""
    return broadcast_binary(torch.ge, "greater_equal", *promote(x1, x2))


@keras_op("LogicalAnd", module="numpy")
def logical_and(x1, x2):
    """Element-wise `logical_and` of the truth values; returns a bool tensor."""
    return broadcast_binary(torch.logical_and, "logical_and", tensor(x1), tensor(x2))


@keras_op("LogicalOr", module="numpy")
def logical_or(x1, x2):
    """Element-wise `logical_or` of the truth values; returns a bool tensor."""
    return broadcast_binary(torch.logical_or, "logical_or", tensor(x1), tensor(x2))


@keras_op("LogicalXor", module="numpy")
def logical_xor(x1, x2):
    """Element-wise `logical_xor` of the truth values; returns a bool tensor."""
    return broadcast_binary(torch.logical_xor, "logical_xor", tensor(x1), tensor(x2))


@keras_op("LogicalNot", module="numpy")
def logical_not(x):
    """Element-wise logical NOT; returns a bool tensor."""
    return torch.logical_not(tensor(x))


def _explain_where(error, condition, x1, x2):
    if isinstance(error, RuntimeError):
        _check_broadcastable3("where", condition, tensor(x1), tensor(x2))


def _check_broadcastable3(name, *xs):
    shapes = [tuple(x.shape) for x in xs]
    try:
        torch.broadcast_shapes(*shapes)
    except RuntimeError:
        raise ValueError(
            f"`{name}`: operands of shapes {', '.join(map(str, shapes))} cannot be broadcast "
            "together. Each dimension must match or be 1."
        ) from None


@keras_op("Clip", module="numpy", init_args=("x_min", "x_max"), bound=torch.clamp,
          guard="weak_bounds(x, x_min, x_max)")
def clip(x, x_min, x_max):
    """Clip values to `[x_min, x_max]`. Bool input is clipped as int32."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.int()
    x, x_min, x_max = promote_wide(x, x_min, x_max)
    try:
        return torch.clamp(x, x_min, x_max)
    except RuntimeError:
        _check_broadcastable3("clip", x, x_min, x_max)
        raise


@keras_op("Where", module="numpy", bound=torch.where,
          guard="condition.__class__ is Tensor and condition.dtype is torch.bool and "
                "weak_operands(x1, x2)",
          explain=_explain_where)
def where(condition, x1=None, x2=None):
    """Pick `x1` where `condition` is true, else `x2`. With only `condition`, return the
    indices of its nonzero entries as one int64 tensor of shape `(condition.ndim, count)`,
    as Keras' torch backend does (row `i` indexes axis `i`, so `rows, cols = where(c)`
    unpacks like numpy's tuple)."""
    condition = tensor(condition)
    if x1 is None and x2 is None:
        if is_fake(condition):  # symbolic: the count depends on the values
            return torch.empty((condition.ndim, unknown_size()), dtype=torch.int64)
        return torch.nonzero(condition).T
    if x1 is None or x2 is None:
        raise ValueError("`where` needs both `x1` and `x2`, or neither.")
    x1, x2 = promote_wide(x1, x2)
    if condition.dtype != torch.bool:
        condition = condition != 0
    try:
        return torch.where(condition, x1, x2)
    except RuntimeError:
        _check_broadcastable3("where", condition, x1, x2)
        raise


def _int_pair(name, x, y, allow_bool=True):
    x, y = promote_wide(x, y)
    if x.is_floating_point() or x.is_complex() or (x.dtype == torch.bool and not allow_bool):
        kinds = "integer or bool" if allow_bool else "integer"
        raise TypeError(f"`{name}` expects {kinds} tensors; received dtype {x.dtype}.")
    return x, y


@keras_op("BitwiseAnd", module="numpy")
def bitwise_and(x, y):
    """Element-wise bitwise AND of integer tensors."""
    return broadcast_binary(torch.bitwise_and, "bitwise_and", *_int_pair("bitwise_and", x, y))


@keras_op("BitwiseOr", module="numpy")
def bitwise_or(x, y):
    """Element-wise bitwise OR of integer tensors."""
    return broadcast_binary(torch.bitwise_or, "bitwise_or", *_int_pair("bitwise_or", x, y))


@keras_op("BitwiseXor", module="numpy")
def bitwise_xor(x, y):
    """Element-wise bitwise XOR of integer tensors."""
    return broadcast_binary(torch.bitwise_xor, "bitwise_xor", *_int_pair("bitwise_xor", x, y))


@keras_op("BitwiseInvert", module="numpy")
def bitwise_invert(x):
    """Element-wise bitwise NOT of an integer tensor."""
    x = tensor(x)
    if x.is_floating_point():
        raise TypeError(f"`bitwise_invert` expects an integer tensor; received {x.dtype}.")
    return torch.bitwise_not(x)


@keras_op("BitwiseNot", module="numpy")
def bitwise_not(x):
    """Alias of `bitwise_invert`."""
    return bitwise_invert(x)


@keras_op("BitwiseLeftShift", module="numpy")
def bitwise_left_shift(x, y):
    """Shift the bits of `x` left by `y`."""
    return broadcast_binary(torch.bitwise_left_shift, "bitwise_left_shift",
                            *_int_pair("bitwise_left_shift", x, y, allow_bool=False))


@keras_op("BitwiseRightShift", module="numpy")
def bitwise_right_shift(x, y):
    """Shift the bits of `x` right by `y` (arithmetic for signed types)."""
    return broadcast_binary(torch.bitwise_right_shift, "bitwise_right_shift",
                            *_int_pair("bitwise_right_shift", x, y, allow_bool=False))


@keras_op("LeftShift", module="numpy")
def left_shift(x, y):
    """Alias of `bitwise_left_shift`."""
    return broadcast_binary(torch.bitwise_left_shift, "left_shift",
                            *_int_pair("left_shift", x, y, allow_bool=False))


@keras_op("RightShift", module="numpy")
def right_shift(x, y):
    """Alias of `bitwise_right_shift`."""
    return broadcast_binary(torch.bitwise_right_shift, "right_shift",
                            *_int_pair("right_shift", x, y, allow_bool=False))


@keras_op("Fmax", module="numpy")
def fmax(x1, x2):
    """Element-wise maximum that ignores NaN."""
    return broadcast_binary(torch.fmax, "fmax", *promote(x1, x2))


@keras_op("Fmin", module="numpy")
def fmin(x1, x2):
    """Element-wise minimum that ignores NaN."""
    return broadcast_binary(torch.fmin, "fmin", *promote(x1, x2))


@keras_op("Fmod", module="numpy")
def fmod(x1, x2):
    """Element-wise remainder with the sign of the dividend (C `fmod`)."""
    # NOTE: Keras-torch follows torch's promotion here (float64 stays float64).
    x1, x2 = torch_operands(x1, x2)
    if tensor(x1).dtype == torch.bool and tensor(x2).dtype == torch.bool:
        x1, x2 = tensor(x1).int(), tensor(x2).int()
    return broadcast_binary(torch.fmod, "fmod", x1, x2)


@keras_op("Gcd", module="numpy")
def gcd(x1, x2):
    """Element-wise greatest common divisor of integers."""
    return broadcast_binary(torch.gcd, "gcd", *_int_pair("gcd", x1, x2, allow_bool=False))


@keras_op("Lcm", module="numpy")
def lcm(x1, x2):
    """Element-wise least common multiple of integers."""
    return broadcast_binary(torch.lcm, "lcm", *_int_pair("lcm", x1, x2, allow_bool=False))


@keras_op("Heaviside", module="numpy")
def heaviside(x1, x2):
    """Step function: 0 for `x1 < 0`, `x2` for `x1 == 0`, 1 for `x1 > 0`."""
    x1, x2 = promote(tensor(x1), tensor(x2))
    # NOTE: Keras keeps bool operands bool (only integers become `floatx()`).
    if x1.dtype != torch.bool and not x1.is_floating_point():
        x1, x2 = x1.to(floatx_dtype()), x2.to(floatx_dtype())
    return broadcast_binary(torch.heaviside, "heaviside", x1, x2)


@keras_op("Hypot", module="numpy")
def hypot(x1, x2):
    """Element-wise `sqrt(x1**2 + x2**2)`."""
    return broadcast_binary(torch.hypot, "hypot", *float_pair(x1, x2))


@keras_op("Nextafter", module="numpy")
def nextafter(x1, x2):
    """The next representable float after `x1` towards `x2`."""
    return broadcast_binary(torch.nextafter, "nextafter", *float_pair(x1, x2))


@keras_op("Ldexp", module="numpy")
def ldexp(x1, x2):
    """Element-wise `x1 * 2 ** x2` (`x2` integer)."""
    x2 = tensor(x2)
    if x2.is_floating_point() or x2.is_complex() or x2.dtype == torch.bool:
        raise TypeError(f"`ldexp` expects an integer exponent `x2`; received {x2.dtype}.")
    x1 = tensor(x1)
    # NOTE: Keras types the result as result_type(x1, x2, float): float64 becomes float32.
    x1 = x1.to(torch_result_type(x1.dtype, x2.dtype, float))
    return broadcast_binary(lambda a, b: a * torch.pow(2.0, b).to(a.dtype), "ldexp", x1, x2)


@keras_op("Logaddexp", module="numpy")
def logaddexp(x1, x2):
    """Element-wise `log(exp(x1) + exp(x2))`, computed stably."""
    return broadcast_binary(torch.logaddexp, "logaddexp", *float_pair(x1, x2))


@keras_op("Logaddexp2", module="numpy")
def logaddexp2(x1, x2):
    """Element-wise `log2(2**x1 + 2**x2)`, computed stably."""
    return broadcast_binary(torch.logaddexp2, "logaddexp2", *float_pair(x1, x2))


@keras_op("DivideNoNan", module="numpy")
def divide_no_nan(x1, x2):
    """`x1 / x2`, with 0 wherever `x2` is 0."""
    x1, x2 = float_pair(x1, x2, weak=True)
    safe = torch.where(x2 == 0, torch.ones_like(x2), x2)
    return torch.where(x2 == 0, torch.zeros((), dtype=x1.dtype, device=x1.device),
                       broadcast_binary(torch.div, "divide_no_nan", x1, safe))


@keras_op("Isclose", module="numpy", init_args=("equal_nan",))
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True where `|x1 - x2| <= atol + rtol * |x2|`."""
    return _isclose("isclose", x1, x2, rtol, atol, equal_nan)


def _isclose(name, x1, x2, rtol, atol, equal_nan):
    x1, x2 = promote(x1, x2)
    def close(a, b):
        return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)

    return broadcast_binary(close, name, x1, x2)


@keras_op("AllClose", module="numpy", init_args=("rtol", "atol", "equal_nan"))
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True (a 0-d bool tensor) when all elements are close; see `isclose`."""
    return torch.all(_isclose("allclose", x1, x2, rtol, atol, equal_nan))


@keras_op("Select", module="numpy")
def select(condlist, choicelist, default=0):
    """Pick from `choicelist[i]` where `condlist[i]` is first true, else `default`."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"`select`: `condlist` and `choicelist` must have the same length; "
                         f"received {len(condlist)} and {len(choicelist)}.")
    if not condlist:
        raise ValueError("`select`: `condlist` must not be empty.")
    choices = [tensor(c) for c in choicelist]
    # NOTE: as in Keras, the dtype is promoted pairwise from the last choice (with the
    # default) to the first, so it can depend on the order of `choicelist`.
    out = default if isinstance(default, (bool, int, float)) else tensor(default)
    wide = any(c.dtype == torch.float64 for c in choices)
    for cond, choice in zip(reversed(condlist), reversed(choices)):
        key = out.dtype if isinstance(out, torch.Tensor) else type(out)
        dtype = torch.float64 if wide else torch_result_type(choice.dtype, key)
        if not isinstance(out, torch.Tensor):
            out = torch.tensor(out, dtype=dtype, device=choice.device)
        cond = tensor(cond)
        try:
            out = torch.where(cond.bool(), choice.to(dtype), out.to(dtype))
        except RuntimeError:
            raise ValueError(
                f"`select`: condition of shape {tuple(cond.shape)}, choice of shape "
                f"{tuple(choice.shape)} and default/result of shape {tuple(out.shape)} cannot "
                "be broadcast together."
            ) from None
    return out


__all__ = [
    "add",
    "allclose",
    "arctan2",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "clip",
    "divide",
    "divide_no_nan",
    "equal",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "gcd",
    "greater",
    "greater_equal",
    "heaviside",
    "hypot",
    "isclose",
    "lcm",
    "ldexp",
    "left_shift",
    "less",
    "less_equal",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nextafter",
    "not_equal",
    "power",
    "right_shift",
    "select",
    "subtract",
    "true_divide",
    "where",
]
