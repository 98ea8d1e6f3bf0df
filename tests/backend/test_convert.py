"""`convert_to_tensor`'s errors name the public callable, the argument and what it got;
`tensor_unless_symbolic` and `accepting_arrays` convert only array-likes."""

import numpy as np
import pytest
import torch

import lamina
from lamina.backend.convert import accepting_arrays, convert_to_tensor, tensor_unless_symbolic
from lamina.backend.symbolic import KerasTensor


@pytest.mark.parametrize("value, error, received", [
    ("abc", TypeError, r"x='abc', a str$"),
    ([[1, 2], [3]], ValueError, r"a ragged nested list: its rows at depth 1 have lengths \[1, 2\]"),
    ([1, [2]], ValueError, r"it mixes lists and numbers at depth 1"),
    ([[1.0, "x"]], TypeError, r"a list holding str$"),
    ({"a": 1}, TypeError, r"a dict$"),
    (None, TypeError, r"x=None, a NoneType$"),
    (np.array(["a", "b"]), TypeError, r"an array of dtype <U1$"),
])
def test_convert_to_tensor_error_says_what_it_received(value, error, received):
    with pytest.raises(error, match=r"^convert_to_tensor: `x` must be a tensor, a numpy array, "
                                    r"a number or a \(nested\) list of numbers\. Received: "
                                    + ".*" + received):
        convert_to_tensor(value)


def test_error_names_the_entry_point_the_caller_used():
    with pytest.raises(TypeError, match=r"^relu: `x` must be .* Received: x='abc', a str"):
        lamina.activations.relu("abc")
    with pytest.raises(ValueError, match=r"^add: `x2` must be .* Received: x2=\[\[1\.0\], "):
        lamina.ops.add(np.ones(2), [[1.0], [2.0, 3.0]])
    with pytest.raises(TypeError, match=r"^MeanSquaredError\.__call__: `y_pred` must be"):
        lamina.losses.MeanSquaredError()([1.0], "abc")


def test_error_stops_at_user_code_inside_a_layer():
    # The Lambda's function is the caller's code: the op it calls is the entry point, and
    # torch's `nn.Module.__call__` frames between lamina frames are looked through.
    layer = lamina.layers.Lambda(lambda x: lamina.ops.add(x, [[1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"^add: `x2` must be .* a ragged nested list"):
        layer(np.ones((2, 1), "float32"))


def test_tensor_unless_symbolic_converts_array_likes_only():
    symbolic = KerasTensor((None, 3))
    assert tensor_unless_symbolic(symbolic) is symbolic
    assert tensor_unless_symbolic(None) is None
    tensor = torch.ones(2)
    assert tensor_unless_symbolic(tensor) is tensor
    converted = tensor_unless_symbolic(np.array([1.0, 2.0], "float32"))
    assert isinstance(converted, torch.Tensor) and converted.tolist() == [1.0, 2.0]
    assert tensor_unless_symbolic([True, False]).dtype == torch.bool


def test_accepting_arrays_hands_a_user_subclass_tensors():
    class Total(lamina.regularizers.Regularizer):
        def __call__(self, x):
            assert isinstance(x, torch.Tensor)
            return x.sum()

    assert float(Total()(np.array([1.0, 2.0], "float32"))) == 3.0
    assert float(Total()([1.0, 2.0])) == 3.0
    variable = lamina.Variable(np.ones(2, "float32"))
    assert Total()(variable).item() == 2.0  # a Variable is a tensor: passed as it is
    assert accepting_arrays(Total.__call__) is Total.__call__  # wrapped once only
    with pytest.raises(TypeError, match=r"^Total\.__call__: `x` must be .* Received: x='w'"):
        Total()("w")
