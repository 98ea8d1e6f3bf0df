"""Bad input to `lamina.ops.numpy` element-wise ops: out-of-range axes,
shapes that do not broadcast, invalid dtype strings and wrong operand kinds."""

import numpy as np
import pytest

from lamina import ops

X = np.ones((2, 3), "float32")
I = np.ones((2, 3), "int32")

AXIS_OPS = ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "argmax",
            "argmin", "cumsum", "cumprod", "count_nonzero", "sort", "argsort", "diff",
            "trapezoid"]
TUPLE_AXIS_OPS = ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any",
                  "count_nonzero"]


@pytest.mark.parametrize("name", AXIS_OPS)
@pytest.mark.parametrize("axis", [2, -3])
def test_out_of_range_axis_names_axis_and_rank(name, axis):
    with pytest.raises(ValueError, match=rf"`axis`={axis} .*rank 2"):
        getattr(ops, name)(X, axis=axis)


@pytest.mark.parametrize("name", TUPLE_AXIS_OPS)
def test_out_of_range_axis_in_tuple(name):
    with pytest.raises(ValueError, match=r"`axis`=\(0, 5\) .*rank 2"):
        getattr(ops, name)(X, axis=(0, 5))


@pytest.mark.parametrize("kwargs", [{"axis": 3}, {"axisa": -4}, {"axisb": 2}, {"axisc": 5}])
def test_cross_axis_out_of_range(kwargs):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=rf"`axis`={value} .*rank 2"):
        ops.cross(X, X, **kwargs)


BROADCAST_OPS = [
    "add", "subtract", "multiply", "divide", "true_divide", "mod", "power", "floor_divide",
    "maximum", "minimum", "arctan2", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift",
    "fmax", "fmin", "fmod", "gcd", "lcm", "heaviside", "hypot", "nextafter", "ldexp",
    "logaddexp", "logaddexp2", "divide_no_nan", "isclose", "allclose",
]


@pytest.mark.parametrize("name", BROADCAST_OPS)
def test_incompatible_shapes_name_both_shapes(name):
    with pytest.raises(ValueError, match=rf"`{name}`.*\(2, 3\) and \(4,\)"):
        getattr(ops, name)(I, np.ones((4,), "int32"))


def test_where_and_clip_name_all_shapes():
    with pytest.raises(ValueError, match=r"`where`.*\(2, 3\), \(2, 3\), \(4,\)"):
        ops.where(I > 0, I, np.ones(4, "int32"))
    with pytest.raises(ValueError, match=r"`clip`.*\(2, 3\), \(4,\)"):
        ops.clip(X, np.zeros(4, "float32"), 1.0)


@pytest.mark.parametrize("name,x2,match", [
    ("matmul", np.ones((4, 2)), r"`matmul`.*\(2, 3\) and \(4, 2\)"),
    ("dot", np.ones((4, 2)), r"`dot`.*\(2, 3\) and \(4, 2\)"),
    ("tensordot", np.ones((4, 2)), r"`tensordot`.*\(2, 3\) and \(4, 2\)"),
    ("inner", np.ones((4, 2)), r"`inner`.*\(2, 3\) and \(4, 2\)"),
    ("vdot", np.ones((4, 2)), r"`vdot`.*\(2, 3\) and \(4, 2\)"),
    ("cross", np.ones((2, 4)), r"`cross`.*size 2 or 3.*\(2, 4\)"),
    ("cross", np.ones((4, 3)), r"`cross`.*\(2, 3\) and \(4, 3\)"),
])
def test_product_shape_mismatch(name, x2, match):
    with pytest.raises(ValueError, match=match):
        getattr(ops, name)(X, x2.astype("float32"))


def test_einsum_mismatch_names_subscripts_and_shapes():
    with pytest.raises(ValueError, match=r"`einsum`.*'ij,jk'.*\(2, 3\), \(2, 3\)"):
        ops.einsum("ij,jk", X, X)


@pytest.mark.parametrize("name,dtype", [("prod", "int33"), ("cumsum", "float8"),
                                        ("cumprod", "int33")])
def test_invalid_dtype_string(name, dtype):
    with pytest.raises(ValueError, match=rf"Invalid dtype: '{dtype}'"):
        getattr(ops, name)(I, dtype=dtype)


@pytest.mark.parametrize("name", ["bitwise_and", "gcd", "lcm", "left_shift", "right_shift"])
def test_integer_ops_reject_floats(name):
    with pytest.raises(TypeError, match=r"`\w+` expects integer.*float32"):
        getattr(ops, name)(X, X)


@pytest.mark.parametrize("name", ["gcd", "lcm", "left_shift", "bitwise_right_shift"])
def test_integer_only_ops_reject_bool(name):
    b = np.ones((2,), bool)
    with pytest.raises(TypeError, match=r"expects integer tensors; received dtype torch.bool"):
        getattr(ops, name)(b, b)


def test_bitwise_invert_rejects_float():
    with pytest.raises(TypeError, match="`bitwise_invert` expects an integer"):
        ops.bitwise_invert(X)


@pytest.mark.parametrize("x2", [X, np.ones((2, 3), bool)])
def test_ldexp_rejects_non_integer_exponent(x2):
    with pytest.raises(TypeError, match=r"`ldexp` expects an integer exponent `x2`"):
        ops.ldexp(X, x2)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="`where` needs both `x1` and `x2`"):
        ops.where(I > 0, I)
    with pytest.raises(ValueError, match="`subtract` does not accept two bool"):
        ops.subtract(np.ones(2, bool), np.ones(2, bool))
    with pytest.raises(ValueError, match="`round` does not accept bool"):
        ops.round(np.ones(2, bool))
    with pytest.raises(ValueError, match=r"`correlate`: `mode` must be .*received 'bad'"):
        ops.correlate(X[0], X[0], mode="bad")
    with pytest.raises(ValueError, match=r"`correlate` expects 1-D inputs.*\(2, 3\)"):
        ops.correlate(X, X[0])


@pytest.mark.parametrize("name", ["power", "floor_divide"])
def test_two_bool_operands_get_a_clear_type_error(name):
    b = np.array([True, False])
    with pytest.raises(TypeError, match=f"`{name}` does not support operands of dtype "
                       "torch.bool and torch.bool"):
        getattr(ops, name)(b, b)
