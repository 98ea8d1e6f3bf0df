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
