import math

import numpy as np
import pytest
import torch

import lamina
from lamina import activations as A
from lamina.serialization import registry

X = torch.linspace(-5.0, 5.0, 41)


def _np(fn):
    return torch.from_numpy(np.vectorize(fn, otypes=[np.float64])(X.double().numpy())).float()


# Closed forms written independently of the implementation (numpy / math).
REFERENCES = {
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "leaky_relu": lambda v: v if v > 0 else 0.2 * v,
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * math.expm1(v)),
    "celu": lambda v: max(v, 0.0) + min(0.0, math.expm1(v)),
    "softplus": lambda v: math.log1p(math.exp(v)),
    "softsign": lambda v: v / (abs(v) + 1),
    "soft_shrink": lambda v: v - 0.5 if v > 0.5 else (v + 0.5 if v < -0.5 else 0.0),
    "hard_shrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "tanh_shrink": lambda v: v - math.tanh(v),
    "silu": lambda v: v / (1 + math.exp(-v)),
    "gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "hard_sigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    "hard_silu": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    "hard_tanh": lambda v: min(max(v, -1.0), 1.0),
    "linear": lambda v: v,
    "exponential": math.exp,
    "log_sigmoid": lambda v: -math.log1p(math.exp(-v)),
    "tanh": math.tanh,
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
    "squareplus": lambda v: (v + math.sqrt(v * v + 4)) / 2,
    "sparse_plus": lambda v: 0.0 if v <= -1 else (v if v >= 1 else (v + 1) ** 2 / 4),
    "sparse_sigmoid": lambda v: 0.0 if v <= -1 else (1.0 if v >= 1 else (v + 1) / 2),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_elementwise_activation_matches_closed_form(name):
    out = A.get(name)(X)
    assert out.dtype == torch.float32 and out.shape == X.shape
    torch.testing.assert_close(out, _np(REFERENCES[name]), atol=2e-6, rtol=1e-5)


def test_relu_arguments():
    x = torch.tensor([-3.0, -1.0, 0.5, 1.0, 2.0, 5.0])
    out = A.relu(x, negative_slope=0.1, max_value=3.0, threshold=1.0)
    torch.testing.assert_close(out, torch.tensor([-0.4, -0.2, -0.05, 0.0, 2.0, 3.0]))
    assert A.relu(x, threshold=-2.0).tolist() == [0.0, -1.0, 0.5, 1.0, 2.0, 5.0]
    assert A.relu(x, max_value=2.0).tolist() == [0.0, 0.0, 0.5, 1.0, 2.0, 2.0]


def test_relu_clips_before_the_leak_and_keeps_integers():
    # Keras' order: keep `x` above the threshold, clip to [0, max_value], then leak.
    x = torch.tensor([-2.0, -0.5, 0.5, 3.0])
    assert A.relu(x, threshold=-1.0, max_value=2.0).tolist() == [0.0, 0.0, 0.5, 2.0]
    out = A.relu(torch.tensor([-1, 2, 9]), max_value=6.5)
    assert out.dtype == torch.int64 and out.tolist() == [0, 2, 6]


def test_activations_follow_the_ops_dtype_rules():
    # Integer input computes in floatx (relu keeps integers), as in lamina.ops.
    x = torch.arange(-3, 3)
    assert A.relu(x).dtype == torch.int64
    assert A.silu(x).dtype == A.softmax(x).dtype == A.mish(x).dtype == torch.float32
    previous = lamina.backend.floatx()
    lamina.backend.set_floatx("float64")
    try:
        assert A.gelu(x).dtype == A.elu(x).dtype == torch.float64
    finally:
        lamina.backend.set_floatx(previous)


def test_symbolic_activations_record_ops_that_round_trip_through_a_config():
    inputs = lamina.Input((4,))
    outputs = A.relu(A.mish(inputs), negative_slope=0.1, max_value=2.0, threshold=0.5)
    model = lamina.Model(inputs, A.softmax(outputs))
    clone = lamina.Model.from_config(model.get_config())
    x = torch.randn(3, 4)
    expected = A.softmax(A.relu(A.mish(x), negative_slope=0.1, max_value=2.0, threshold=0.5))
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(clone(x), expected)


def test_gelu_approximate_uses_tanh_form():
    ref = 0.5 * X * (1 + torch.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X**3)))
    torch.testing.assert_close(A.gelu(X, approximate=True), ref)


def test_threshold_and_glu():
    assert A.threshold(torch.tensor([0.1, 0.6]), 0.5, -1.0).tolist() == [-1.0, pytest.approx(0.6)]
    x = torch.tensor([[1.0, 2.0, 0.0, 3.0]])
    torch.testing.assert_close(A.glu(x), torch.tensor([[1.0, 2.0]]) * torch.sigmoid(
        torch.tensor([[0.0, 3.0]])))
    with pytest.raises(ValueError, match="even size"):
        A.glu(torch.ones(2, 3))


def test_softmax_family_over_int_and_tuple_axes():
    x = torch.randn(2, 3, 4)
    s = A.softmax(x, axis=1)
    torch.testing.assert_close(s.sum(1), torch.ones(2, 4))
    s2 = A.softmax(x, axis=(1, 2))
    torch.testing.assert_close(s2.sum((1, 2)), torch.ones(2))
    torch.testing.assert_close(A.log_softmax(x, axis=(1, 2)).exp(), s2)
    torch.testing.assert_close(A.log_softmax(x), torch.log(A.softmax(x)))


def _sparsemax_reference(z):
    # Projection onto the simplex by sorting (Martins & Astudillo, 2016), in numpy.
    z_sorted = np.sort(z)[::-1]
    cumulative = np.cumsum(z_sorted)
    k = np.arange(1, len(z) + 1)
    support = k[1 + k * z_sorted > cumulative].max()
    tau = (cumulative[support - 1] - 1) / support
    return np.maximum(z - tau, 0)


def test_sparsemax_is_a_projection_onto_the_simplex():
    x = torch.randn(5, 7)
    out = A.sparsemax(x)
    expected = np.stack([_sparsemax_reference(row) for row in x.double().numpy()])
    torch.testing.assert_close(out, torch.from_numpy(expected).float())
    torch.testing.assert_close(out.sum(-1), torch.ones(5))
    torch.testing.assert_close(A.sparsemax(x.T, axis=0), out.T)


def test_activations_accept_numpy_and_lists():
    assert A.relu(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]
    assert A.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]


def test_aliases_are_the_same_functions():
    assert A.swish is A.silu and A.hard_swish is A.hard_silu


def test_get_resolves_names_none_callables_and_configs():
    assert A.get("relu") is A.relu
    assert A.get("swish") is A.silu
    assert A.get(None) is A.linear
    fn = lambda x: x  # noqa: E731
    assert A.get(fn) is fn
    config = {"module": "keras.activations", "class_name": "function", "config": "gelu",
              "registered_name": "gelu"}
    assert A.get(config) is A.gelu


def test_get_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match="Unknown activation function: 'rleu'.*'relu'"):
        A.get("rleu")
    with pytest.raises(ValueError, match="Could not interpret activation function"):
        A.get(3)


def test_serialize_round_trip_names_canonical_functions():
    for name, fn in A.ALL_OBJECTS_DICT.items():
        assert A.deserialize(A.serialize(fn)) is fn, name
    assert A.serialize(A.swish) == "silu" and A.serialize(A.hard_swish) == "hard_silu"
    with pytest.raises(TypeError, match="expects an activation function"):
        A.serialize(3)


def test_registered_custom_activation_round_trips():
    @registry.register_keras_serializable(package="ActTest")
    def double(x):
        return 2 * x

    try:
        config = A.serialize(double)
        # Keras' layout: the registered name in `config`, `registered_name` "function".
        assert config["config"] == "ActTest>double"
        assert config["registered_name"] == "function"
        assert A.deserialize(config) is double
        assert A.get("ActTest>double") is double
    finally:
        registry.GLOBAL_CUSTOM_OBJECTS.pop("ActTest>double")
        registry.GLOBAL_CUSTOM_NAMES.pop(double)


def test_deserialize_unknown_function_config_fails():
    with pytest.raises(ValueError, match="Could not locate function 'nope'"):
        A.deserialize({"module": "keras.activations", "class_name": "function",
                       "config": "nope", "registered_name": None})


def test_every_keras_activation_name_is_present():
    names = {
        "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid",
        "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid",
        "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink",
        "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax",
        "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
    }
    assert names == set(A.ALL_OBJECTS_DICT)


def test_gradients_flow():
    x = torch.randn(4, 6, requires_grad=True)
    for name, fn in A.ALL_OBJECTS_DICT.items():
        args = (0.0, 0.0) if name == "threshold" else ()
        fn(x, *args).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all(), name
        x.grad = None
