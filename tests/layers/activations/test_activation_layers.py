import numpy as np
import pytest
import torch

import lamina
from lamina.layers.activations.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.testing import run_layer_test

CLASSES = (ELU, PReLU, ReLU, LeakyReLU, Softmax)


@pytest.fixture(autouse=True)
def _exported(monkeypatch):
    # NOTE: deserialization resolves classes through `lamina.layers`; until it re-exports
    # these layers, expose them there for the duration of each test.
    for cls in CLASSES:
        monkeypatch.setattr(lamina.layers, cls.__name__, cls, raising=False)


X = np.array([[-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 5.0, 7.0]], dtype="float32")


def np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x >= threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


@pytest.mark.parametrize("kwargs", [
    {},
    {"max_value": 6.0},
    {"negative_slope": 0.1},
    {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.7},
])
def test_relu_matches_formula(kwargs):
    run_layer_test(ReLU, kwargs, input_data=X, expected_output=np_relu(X, **kwargs),
                   supports_masking=True)


@pytest.mark.parametrize("kwargs,match", [
    ({"max_value": -1}, "max_value of a ReLU layer cannot be a negative value"),
    ({"negative_slope": -1}, "negative_slope of a ReLU layer cannot be None or a negative"),
    ({"threshold": None}, "threshold of a ReLU layer cannot be None or a negative"),
])
def test_relu_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReLU(**kwargs)


def test_leaky_relu():
    run_layer_test(LeakyReLU, {}, input_data=X, expected_output=np.where(X > 0, X, 0.3 * X))
    with pytest.raises(ValueError, match="cannot be None or negative value. Expected a float"):
        LeakyReLU(negative_slope=-1)


def test_leaky_relu_accepts_deprecated_alpha_with_warning():
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.get_config()["negative_slope"] == 0.1


def test_elu():
    run_layer_test(ELU, {"alpha": 0.5}, input_data=X,
                   expected_output=np.where(X > 0, X, 0.5 * (np.exp(X) - 1)), atol=1e-6)


def test_prelu_learns_a_slope_per_unshared_entry():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")
    layer = PReLU(alpha_initializer="ones", shared_axes=[1, 2])
    out = run_layer_test(PReLU, {"alpha_initializer": "ones", "shared_axes": [1, 2]},
                         input_data=x, expected_output=x, expected_num_trainable_weights=1)
    assert out.shape == x.shape
    layer(x)
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [("p_re_lu/alpha", (1, 1, 5))]
    alpha = np.random.default_rng(1).standard_normal((1, 1, 5)).astype("float32")
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x).detach().numpy(), np.where(x > 0, x, alpha * x),
                               rtol=1e-6)


def test_prelu_shared_axes_int_and_regularizer():
    layer = PReLU(shared_axes=2, alpha_regularizer="l2")
    layer(torch.ones(2, 3, 4, 5))
    assert tuple(layer.alpha.shape) == (3, 1, 5)
    assert layer.get_config()["shared_axes"] == [2]
    assert len(layer.losses) == 1
    with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 3"):
        layer(torch.ones(2, 4, 4, 5))


def test_prelu_needs_known_unshared_sizes():
    with pytest.raises(ValueError, match="needs known sizes"):
        PReLU()(lamina.Input((None, 4)))
    assert PReLU(shared_axes=[1])(lamina.Input((None, 4))).shape == (None, None, 4)


def test_softmax_axes():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    run_layer_test(Softmax, {"axis": (1, 2)}, input_data=x,
                   expected_output=e / e.sum(axis=(1, 2), keepdims=True), atol=1e-6)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    run_layer_test(Softmax, {"axis": 1}, input_data=x,
                   expected_output=e / e.sum(axis=1, keepdims=True), atol=1e-6)


def test_softmax_one_axis_in_a_list_is_that_axis_and_layers_share_the_activations():
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(Softmax(axis=[0])(x), torch.softmax(x, dim=0))
    assert Softmax(axis=[0]).get_config()["axis"] == [0]
    # Integer input computes in floatx, as lamina.activations (and Keras' layers) do.
    ints = torch.tensor([[-2, 3]])
    assert LeakyReLU(0.5)(ints).tolist() == [[-1.0, 3.0]]
    assert ELU()(ints).dtype == torch.float32
    assert Softmax()(ints).tolist() == lamina.activations.softmax(ints).tolist()


def test_softmax_mask_zeroes_masked_entries():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [2e9, 0.0, 1.0, 1.0]])
    mask = torch.tensor([[True, False, True, False], [False, True, False, False]])
    out = Softmax()(x, mask=mask)
    e = np.exp([1.0, 3.0])
    np.testing.assert_allclose(out[0].numpy(), [e[0] / e.sum(), 0, e[1] / e.sum(), 0],
                               rtol=1e-6)
    assert out[1].tolist() == [0.0, 1.0, 0.0, 0.0]  # a huge masked logit does not matter


def test_softmax_fully_masked_row_is_zero_and_mask_propagates():
    x = torch.ones(1, 3)
    x._keras_mask = torch.tensor([[False, False, False]])
    out = Softmax()(x)
    assert out.tolist() == [[0.0, 0.0, 0.0]]
    assert out._keras_mask.tolist() == [[False, False, False]]


def test_softmax_mask_broadcasts_and_rejects_bad_shapes():
    x = torch.randn(2, 3, 4)
    out = Softmax()(x, mask=torch.tensor([True, True, False, True]))
    assert torch.all(out[..., 2] == 0)
    with pytest.raises(ValueError, match="Each mask dimension must be 1 or match"):
        Softmax()(x, mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="must not have more dimensions"):
        Softmax()(x, mask=torch.ones(2, 3, 4, 1, dtype=torch.bool))
