"""`keras_op` dispatch: the eager fast path and the symbolic path pick the right route."""

import collections
import inspect

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from lamina.backend.symbolic import KerasTensor
from lamina.ops.operation import EAGER_CLASSES, keras_op


def test_dispatcher_keeps_the_op_signature():
    for op in (ops.sum, ops.add, ops.reshape, ops.concatenate, ops.softmax, ops.image.resize):
        assert inspect.signature(op) == inspect.signature(op.__wrapped__), op.__name__


def test_eager_arguments_of_every_registered_class_run_the_function():
    calls = []

    @keras_op("Probe", module="numpy")
    def probe(x, y=None, *, flag=False):
        calls.append((type(x), type(y), flag))
        return x

    for value in (torch.ones(2), np.ones(2), 1, 1.5, True, "s", None, torch.float32):
        assert type(value) in EAGER_CLASSES
        assert probe(value, y=value, flag=True) is value
    assert len(calls) == 8 and all(flag for *_, flag in calls)


def test_keyword_only_and_default_arguments_pass_through():
    @keras_op("Scaled", module="numpy")
    def scaled(x, factor=2.0, *, offset=0.0):
        return x * factor + offset

    assert scaled(torch.tensor(1.0)).item() == 2.0
    assert scaled(torch.tensor(1.0), 3.0, offset=1.0).item() == 4.0
    assert scaled.keras_class_name == "Scaled"


def test_symbolic_values_are_found_at_any_depth():
    x = lamina.Input((3,))
    Pair = collections.namedtuple("Pair", "a b")
    for out in (
        ops.add(x, 1.0),
        ops.add(1.0, x),
        ops.concatenate([x, x]),
        ops.concatenate(((x,), x)[0] + (x,)),
        ops.stack(Pair(x, x)),
        ops.sum(x, axis=1),
        ops.reshape(x, (-1, 3, 1)),
    ):
        assert isinstance(out, KerasTensor)
    assert ops.concatenate([x, x], axis=-1).shape == (None, 6)
    assert ops.stack(Pair(x, x)).shape == (2, None, 3)


def test_variables_and_tensor_subclasses_give_the_same_values():
    v = lamina.Variable(np.arange(6.0).reshape(2, 3), dtype="float32")

    class Sub(torch.Tensor):
        pass

    s = torch.arange(6.0).reshape(2, 3).as_subclass(Sub)
    expected = torch.arange(6.0).reshape(2, 3).sum(1)
    torch.testing.assert_close(ops.sum(v, axis=1).detach(), expected)
    torch.testing.assert_close(ops.sum(s, axis=1).as_subclass(torch.Tensor), expected)
    torch.testing.assert_close(ops.reshape(v, [3, 2]).detach(), expected.new_tensor(
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))


def test_bound_function_runs_only_where_its_guard_admits_the_input():
    calls = []

    def bound(x, scale):
        calls.append("bound")
        return x * scale

    @keras_op("Scale", module="numpy", bound=bound,
              guard="x.__class__ is Tensor and x.dtype in FLOAT_DTYPES")
    def scale(x, scale=2.0):
        calls.append("fn")
        return torch.as_tensor(x, dtype=torch.float32) * scale

    assert scale(torch.ones(2)).tolist() == [2.0, 2.0] and calls == ["bound"]
    calls.clear()
    assert scale(torch.ones(2, dtype=torch.int32)).tolist() == [2.0, 2.0]
    assert calls == ["fn"]  # the guard refused it: only the op's own code ran
    calls.clear()
    assert scale(np.ones(2)).tolist() == [2.0, 2.0] and calls == ["fn"]
    assert isinstance(scale(lamina.Input((2,))), KerasTensor)
    assert "_bound_(x, scale)" in scale.__keras_source__


def test_an_error_in_the_bound_path_is_raised_once_and_never_retried():
    calls = []

    def bound(x):
        calls.append("bound")
        raise RuntimeError("bound failed")

    @keras_op("Fails", module="numpy", bound=bound, guard="x.__class__ is Tensor")
    def fails(x):
        calls.append("fn")
        return x

    with pytest.raises(RuntimeError, match="bound failed") as info:
        fails(torch.ones(2))
    assert calls == ["bound"]
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_explain_reports_a_bound_error_once_and_the_op_never_runs():
    calls = []

    def explain(error, x):
        calls.append("explain")
        if x.ndim:
            raise ValueError("`probe`: the op's own words") from None

    def bound(x):
        calls.append("bound")
        raise RuntimeError("torch's words")

    @keras_op("Probe", module="numpy", bound=bound, guard="x.__class__ is Tensor",
              explain=explain)
    def probe(x):
        calls.append("fn")
        return x

    with pytest.raises(ValueError, match="the op's own words"):
        probe(torch.ones(1))
    assert calls == ["bound", "explain"]
    calls.clear()
    with pytest.raises(RuntimeError, match="torch's words"):  # explain let it through
        probe(torch.tensor(1.0))
    assert calls == ["bound", "explain"]


def test_an_op_error_is_raised_once_in_the_ops_own_words():
    shapes = r"`add`: operands of shapes \(2, 3\) and \(4, 2\) cannot be broadcast"
    with pytest.raises(ValueError, match=shapes) as info:
        ops.add(torch.ones(2, 3), torch.ones(4, 2))
    # Raised once by the op's body below the one `<keras_op add>` dispatcher frame; the
    # torch error it explains is suppressed context, not an exception the dispatcher hid.
    assert info.value.__suppress_context__
    files = [str(entry.path) for entry in info.traceback]
    assert files.count("<keras_op add>") == 1
    assert files.index("<keras_op add>") < len(files) - 1
    assert files[-1].endswith(("_helpers.py", "operands.py"))


def test_keras_op_rejects_a_bound_without_a_guard_and_unknown_identities():
    with pytest.raises(TypeError, match="`bound` and `guard` go together"):
        keras_op("X", module="numpy", bound=torch.relu)
    with pytest.raises(ValueError, match="unknown Keras op module 'numpyy'"):
        keras_op("X", module="numpyy")
    with pytest.raises(TypeError, match=r"init_args \['axis'\] are not parameters"):
        keras_op("X", module="numpy", init_args=("axis",))(lambda x: x)


def test_guarded_list_ops_take_the_bound_path_only_for_one_dtype():
    a, b = torch.ones(2, dtype=torch.int8), torch.ones(2, dtype=torch.uint8)
    assert ops.concatenate([a, a]).dtype == torch.int8
    assert ops.concatenate([a, b]).dtype == torch.int16  # Keras' promotion, not torch.cat's
    assert ops.stack((a, b), axis=1).shape == (2, 2)
    with pytest.raises(ValueError, match=r"shapes \[\(2, 1\), \(3, 2\)\]"):
        ops.concatenate([torch.ones(2, 1), torch.ones(3, 2)], axis=1)


def test_weak_float_fast_path_follows_floatx():
    i = torch.tensor([1, 2], dtype=torch.int32)
    h = torch.tensor([1.0, 2.0], dtype=torch.float16)
    assert ops.add(i, 0.5).dtype == torch.float32
    assert ops.multiply(0.5, h).dtype == torch.float16
    assert ops.subtract(1.5, i).tolist() == [0.5, -0.5]
    try:
        lamina.config.set_floatx("float16")
        assert ops.add(i, 0.5).dtype == torch.float16  # Keras: int + weak float -> floatx
        assert ops.multiply(0.5, i).dtype == torch.float16
    finally:
        lamina.config.set_floatx("float32")


# Python numbers next to tensors: the `weak_operands` fast paths must give exactly what the
# op's own body gives (dtype, values with NaN and the sign of zero, or the same error).
WEAK_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int8,
               torch.uint8, torch.int32, torch.int64, torch.bool]
NUMBERS = [0, 3, -2, 300, 2**40, 2**70, 0.1, -1.5, 1e6, 1e39, -0.0, float("nan"),
           float("-inf"), True]
WEAK_BINARY = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
               "maximum", "minimum", "subtract"]


def _weak_input(dtype):
    x = torch.tensor([-3.0, -0.0, 0.0, 0.1, 2.5, 500.0, float("nan"), float("inf"), 6e4])
    if dtype == torch.bool:
        return x > 0
    if not dtype.is_floating_point:
        x = torch.nan_to_num(x).clamp(-100, 100).abs()
    return x.to(dtype)


def _outcome(fn, *args):
    try:
        out = fn(*args)
    except Exception as error:  # noqa: BLE001 (the error is the outcome compared)
        return type(error).__name__, str(error)
    if out.dtype.is_floating_point:
        return out.dtype, out.nan_to_num().tolist(), out.isnan().tolist(), out.signbit().tolist()
    return out.dtype, out.tolist()


def _assert_fast_path_is_the_op(op, *args):
    assert _outcome(op, *args) == _outcome(op.__wrapped__, *args), (op.__name__, args)


@pytest.mark.parametrize("name", WEAK_BINARY)
@pytest.mark.parametrize("dtype", WEAK_DTYPES, ids=str)
def test_binary_ops_with_python_numbers_give_what_the_op_gives(name, dtype):
    op, x = getattr(ops, name), _weak_input(dtype)
    for number in NUMBERS:
        _assert_fast_path_is_the_op(op, x, number)
        _assert_fast_path_is_the_op(op, number, x)
    _assert_fast_path_is_the_op(op, x, x)
    _assert_fast_path_is_the_op(op, x, x[:2])  # the op's own broadcast error


@pytest.mark.parametrize("dtype", WEAK_DTYPES, ids=str)
def test_where_and_clip_with_python_numbers_give_what_the_op_gives(dtype):
    x = _weak_input(dtype)
    condition = torch.arange(x.numel()) % 2 == 0
    for number in NUMBERS:
        _assert_fast_path_is_the_op(ops.where, condition, x, number)
        _assert_fast_path_is_the_op(ops.where, condition, number, x)
        for high in (3, 2.5, 1e6, float("nan")):
            _assert_fast_path_is_the_op(ops.clip, x, number, high)
    _assert_fast_path_is_the_op(ops.where, condition, x, x)
    _assert_fast_path_is_the_op(ops.where, condition[:2], x, x)


def test_weak_operands_admits_only_what_torch_promotes_as_keras():
    from lamina.ops.operation import weak_bounds, weak_operands

    f, h, i = torch.ones(2), torch.ones(2, dtype=torch.float16), torch.ones(2, dtype=torch.int32)
    assert weak_operands(f, 3) and weak_operands(0.5, h) and weak_operands(h, h)
    assert weak_operands(i, 0.5) and weak_bounds(f, 0, 6.0)
    assert not weak_operands(i, 3)  # torch wraps an int its dtype cannot hold
    assert not weak_operands(f, 2**70) and not weak_operands(f, 1e39)
    assert not weak_operands(torch.ones(2, dtype=torch.float64), 0.5)
    assert not weak_operands(f, h) and not weak_operands(f, [1.0])
    assert not weak_bounds(h, 0, 1e6)  # clamp refuses a bound float16 cannot hold
    try:
        lamina.config.set_floatx("float16")
        assert not weak_operands(i, 0.5)
        assert ops.greater(i, 0.5).tolist() == [True, True]
        assert ops.where(torch.tensor([True, False]), i, 0.5).dtype == torch.float16
    finally:
        lamina.config.set_floatx("float32")


def test_maximum_with_a_number_splits_the_gradient_at_ties_as_torch_maximum():
    x = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    (grad,) = torch.autograd.grad(ops.maximum(x, 0.0).sum(), x)
    assert grad.tolist() == [0.5, 1.0, 0.0]
    (grad,) = torch.autograd.grad(ops.minimum(1.0, x).sum(), x)
    assert grad.tolist() == [1.0, 0.5, 1.0]
