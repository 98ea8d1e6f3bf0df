import numpy as np
import pytest
import torch

from lamina.layers.core import EinsumDense
from lamina.testing import run_layer_test

CASES = [
    # equation, output_shape, bias_axes, input_shape, kernel, bias, output
    ("ab,bc->ac", 4, None, (2, 3), (3, 4), None, (2, 4)),
    ("ab,bc->ac", 4, "c", (2, 3), (3, 4), (4,), (2, 4)),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 3), (3, 4), (4,), (2, 5, 4)),
    ("abc,cd->abd", (5, 4), "bd", (2, 5, 3), (3, 4), (5, 4), (2, 5, 4)),
    ("abc,cde->abde", (None, 4, 6), "de", (2, 5, 3), (3, 4, 6), (4, 6), (2, 5, 4, 6)),
    ("abc,cde->abde", (None, 4, 6), "d", (2, 5, 3), (3, 4, 6), (4, 1), (2, 5, 4, 6)),
    ("abc,cde->abde", (None, 4, 6), "e", (2, 5, 3), (3, 4, 6), (6,), (2, 5, 4, 6)),
    ("abcd,cde->abe", (None, 6), None, (2, 5, 3, 4), (3, 4, 6), None, (2, 5, 6)),
    ("abc,dc->abd", (None, 6), None, (2, 5, 3), (6, 3), None, (2, 5, 6)),
    ("...b,bc->...c", 4, "c", (2, 7, 3), (3, 4), (4,), (2, 7, 4)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape,kernel,bias,out", CASES)
def test_einsum_dense_shapes_and_layer_test(equation, output_shape, bias_axes, input_shape,
                                            kernel, bias, out):
    layer = EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)
    layer(torch.ones(input_shape))
    shapes = [tuple(w.shape) for w in layer.weights]
    assert shapes == [kernel] + ([bias] if bias else [])
    run_layer_test(EinsumDense, {"equation": equation, "output_shape": output_shape,
                                 "bias_axes": bias_axes}, input_shape=input_shape,
                   expected_output_shape=out,
                   expected_num_trainable_weights=2 if bias else 1, supports_masking=False)


def test_einsum_dense_matches_numpy_einsum():
    layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 6), bias_axes="d",
                        activation="tanh")
    x = np.random.randn(2, 5, 3).astype("float32")
    layer(x)
    layer.bias.assign(torch.randn(4, 1))
    kernel, bias = layer.get_weights()
    expected = np.tanh(np.einsum("abc,cde->abde", x, kernel) + bias)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, atol=1e-5)


def test_einsum_dense_config_stores_output_shape_as_tuple():
    config = EinsumDense("ab,bc->ac", output_shape=4).get_config()
    assert config["output_shape"] == (4,)
    assert config["activity_regularizer"] is None
    assert config["quantization_config"] is None


def test_einsum_dense_compute_output_shape_keeps_unknown_axes():
    layer = EinsumDense("abc,cd->abd", output_shape=(None, 4))
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 4)


def test_einsum_dense_rejects_bias_axis_not_in_output():
    with pytest.raises(ValueError, match="Bias dimension 'x' was requested, but is not part "
                                         "of the output spec 'ac'"):
        EinsumDense("ab,bc->ac", output_shape=4, bias_axes="x")


@pytest.mark.parametrize("equation", ["ab,bc", "ab->ac", "...ab,bc->ac", "a1,bc->ac"])
def test_einsum_dense_rejects_malformed_equation(equation):
    with pytest.raises(ValueError, match="Invalid einsum equation for EinsumDense"):
        EinsumDense(equation, output_shape=4)


def test_einsum_dense_rejects_mismatched_shared_dimension():
    with pytest.raises(ValueError, match="do not match at shared dimension 'b'. Input shape "
                                         "is 5, and output shape is 7"):
        EinsumDense("abc,cd->abd", output_shape=(7, 4)).build((None, 5, 3))


def test_einsum_dense_rejects_kernel_axis_without_size():
    with pytest.raises(ValueError, match="weight dimension 'e' did not have a match"):
        EinsumDense("abc,ce->abd", output_shape=(None, 4)).build((None, 5, 3))


def test_einsum_dense_rejects_wrong_rank_and_feature_size_naming_layer():
    layer = EinsumDense("abc,cd->abd", output_shape=(None, 4), name="proj")
    layer(torch.ones(2, 5, 3))
    with pytest.raises(ValueError, match=r"'proj' \(EinsumDense\).*expected ndim=3, "
                                         r"found ndim=2"):
        layer(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"'proj' \(EinsumDense\).*axis -1 of input shape to "
                                         r"have value 3, but received input with shape"):
        layer(torch.ones(2, 5, 6))


def test_einsum_dense_lora_adds_factors():
    layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 6), lora_rank=2)
    layer(torch.ones(2, 5, 3))
    assert [(w.name, tuple(w.shape), w.trainable) for w in layer.weights] == [
        ("kernel", (3, 4, 6), False), ("lora_kernel_a", (3, 4, 2), True),
        ("lora_kernel_b", (2, 6), True)]
