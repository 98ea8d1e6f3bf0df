import copy
import pickle

import numpy as np
import pytest
import torch

import lamina
from lamina.variables import Variable


def test_variable_is_a_parameter_usable_in_torch_ops():
    v = lamina.Variable(np.ones((2, 3), dtype="float32"), name="w")
    assert isinstance(v, torch.nn.Parameter)
    out = torch.matmul(torch.ones(1, 2), v)
    assert type(out) is torch.Tensor
    assert out.tolist() == [[2.0, 2.0, 2.0]]


def test_variable_keras_api():
    v = lamina.Variable([1.0, 2.0], name="v")
    assert v.name == "v" and v.path == "v"
    assert v.trainable and v.requires_grad
    v.assign([3.0, 4.0])
    v.assign_add(np.array([1.0, 1.0], dtype="float32"))
    v.assign_sub(torch.tensor([0.5, 0.5]))
    np.testing.assert_allclose(v.numpy(), [3.5, 4.5])
    assert v.value is v
    assert tuple(v.shape) == (2,)


def test_variable_from_callable_initializer_needs_shape():
    with pytest.raises(ValueError, match="pass `shape`"):
        Variable(lambda shape, dtype=None: torch.zeros(shape))
    v = Variable(lambda shape, dtype=None: torch.zeros(shape), shape=(2, 2))
    assert v.dtype == torch.float32 and tuple(v.shape) == (2, 2)


def test_variable_assign_rejects_wrong_shape_naming_the_variable():
    v = Variable(np.zeros((2, 2), "float32"), name="kernel")
    with pytest.raises(ValueError, match=r"kernel.*\(3,\).*\(2, 2\)"):
        v.assign(np.zeros(3, "float32"))


def test_non_trainable_and_integer_variables():
    v = Variable(0, dtype="int64", trainable=False, name="iterations")
    v.assign_add(2)
    assert v.numpy() == 2 and not v.requires_grad and not v.trainable
    w = Variable([1.0], trainable=True)
    w.trainable = False
    assert not w.requires_grad


def test_variable_deepcopy_and_pickle_keep_type_and_metadata():
    v = Variable([1.0, 2.0], name="bias")
    for clone in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert isinstance(clone, Variable)
        assert clone.name == "bias"
        np.testing.assert_array_equal(clone.numpy(), v.numpy())
        assert clone.data_ptr() != v.data_ptr()


def test_variable_repr_is_keras_like():
    v = Variable([1.0], name="x")
    assert repr(v).startswith("<Variable path=x, shape=(1,), dtype=float32")


@pytest.mark.parametrize("shape", [("", 2), (float("inf"), 2), ([1], 2)])
def test_variable_shape_that_is_not_integers_is_a_clear_error(shape):
    with pytest.raises(ValueError, match="shape must be a tuple of integers"):
        lamina.Variable("zeros", shape=shape)


def test_dtype_policy_config_that_is_not_a_dict_is_a_clear_error():
    from lamina import dtype_policies

    with pytest.raises(ValueError, match="config must be a dict"):
        dtype_policies.DTypePolicy.from_config(["float32"])
