import numpy as np
import pytest
import torch

from lamina.layers.convolutional.conv import Conv1D
from lamina.layers.convolutional.conv_transpose import (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
from lamina.serialization.registry import CustomObjectScope
from lamina.testing import run_layer_test


def layer_test(cls, init_kwargs, **kwargs):
    """`run_layer_test`, with the class resolvable by name for the JSON config round trip
    (whether or not `lamina.layers` re-exports it yet)."""
    with CustomObjectScope({cls.__name__: cls}):
        return run_layer_test(cls, init_kwargs, **kwargs)



def numpy_conv1d_transpose_full(x, kernel, stride, dilation=1):
    """Scatter form: input step i adds `x[i] @ kernel[j].T` at output step i*stride + j*d."""
    steps, (k, out, _) = x.shape[1], kernel.shape
    y = np.zeros((x.shape[0], (steps - 1) * stride + (k - 1) * dilation + 1, out))
    for i in range(steps):
        for j in range(k):
            y[:, i * stride + j * dilation] += x[:, i] @ kernel[j].T
    return y


@pytest.mark.parametrize(("cls", "kwargs", "shape", "expected"), [
    (Conv1DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 2), (2, 10, 3)),
    (Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1,
                       "data_format": "channels_first", "activation": "relu"},
     (2, 3, 4, 5), (2, 2, 10, 12)),
    (Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2, "use_bias": False},
     (1, 2, 3, 2, 2), (1, 4, 6, 4, 2)),
])
def test_conv_transpose_passes_layer_test(cls, kwargs, shape, expected):
    layer_test(cls, kwargs, input_shape=shape, expected_output_shape=expected,
               expected_num_trainable_weights=1 + kwargs.get("use_bias", True))


@pytest.mark.parametrize(("stride", "dilation", "output_padding"), [
    (1, 1, None), (2, 1, None), (3, 1, 2), (1, 2, None)])
def test_conv1d_transpose_valid_matches_numpy_scatter(stride, dilation, output_padding):
    layer = Conv1DTranspose(2, 3, strides=stride, dilation_rate=dilation,
                            output_padding=output_padding, bias_initializer="ones")
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    got = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    full = numpy_conv1d_transpose_full(x, kernel, stride, dilation)
    extra = got.shape[1] - full.shape[1]
    assert extra == (output_padding or 0)
    want = np.concatenate([full, np.zeros((2, extra, 2))], axis=1) + bias
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_conv1d_transpose_is_the_adjoint_of_conv1d():
    # <conv(u), v> == <u, conv_transpose(v)> with the same kernel (valid, stride 2, no bias).
    conv = Conv1D(3, 4, strides=2, use_bias=False)
    u = torch.randn(2, 11, 2)
    v = torch.randn(2, 4, 3)
    transpose = Conv1DTranspose(2, 4, strides=2, use_bias=False, output_padding=1)
    conv(u)
    transpose(v)
    transpose.set_weights(conv.get_weights())  # (k, in=2, out=3) is (k, filters, in) here
    lhs = (conv(u) * v).sum()
    rhs = (u * transpose(v)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)


def test_conv_transpose_weights_have_keras_layout():
    layer = Conv2DTranspose(5, (3, 2), name="up")
    layer(torch.ones(1, 4, 4, 2))
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("up/kernel", (3, 2, 5, 2)), ("up/bias", (5,))]


def test_conv_transpose_output_shape_with_unknown_sizes():
    layer = Conv2DTranspose(4, 3, strides=2, padding="same")
    assert layer.compute_output_shape((None, None, 7, 1)) == (None, None, 14, 4)
    layer = Conv1DTranspose(4, 3, strides=3, padding="same", output_padding=1)
    assert layer.compute_output_shape((None, 5, 1)) == (None, 14, 4)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"strides": 2, "output_padding": 2}, r"`output_padding` must be smaller than `strides` "
                                          r"on every axis; on axis 0 it is 2 with stride 2"),
    ({"output_padding": -1}, "`output_padding` must be an int or a tuple of 2 non-negative"),
    ({"filters": 0}, "`filters` must be a positive integer"),
    ({"padding": "causal"}, r"`padding` must be one of \('valid', 'same'\)"),
    ({"strides": 2, "dilation_rate": 2}, "`strides > 1` cannot be combined"),
])
def test_conv_transpose_rejects_bad_arguments(kwargs, match):
    args = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        Conv2DTranspose(**args)


def test_conv_transpose_rejects_groups_like_keras():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to "
                                        "Conv2DTranspose"):
        Conv2DTranspose(2, 3, groups=2)


def test_conv_transpose_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(Conv1DTranspose\).*expected ndim=3, found ndim=4"):
        Conv1DTranspose(2, 3)(torch.ones(1, 4, 4, 2))
