import pytest
import torch

from lamina.layers.convolutional.conv import Conv2D
from lamina.layers.convolutional.depthwise_conv import DepthwiseConv2D
from lamina.layers.convolutional.separable_conv import SeparableConv1D, SeparableConv2D
from lamina.serialization.registry import CustomObjectScope
from lamina.testing import run_layer_test


def layer_test(cls, init_kwargs, **kwargs):
    """`run_layer_test`, with the class resolvable by name for the JSON config round trip
    (whether or not `lamina.layers` re-exports it yet)."""
    with CustomObjectScope({cls.__name__: cls}):
        return run_layer_test(cls, init_kwargs, **kwargs)



@pytest.mark.parametrize(("cls", "kwargs", "shape", "expected"), [
    (SeparableConv1D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 7, 3),
     (2, 7, 4)),
    (SeparableConv2D, {"filters": 3, "kernel_size": 2, "strides": 2, "depth_multiplier": 2,
                       "data_format": "channels_first", "pointwise_regularizer": "l1"},
     (2, 2, 5, 5), (2, 3, 2, 2)),
])
def test_separable_conv_passes_layer_test(cls, kwargs, shape, expected):
    layer_test(cls, kwargs, input_shape=shape, expected_output_shape=expected,
               expected_num_trainable_weights=3)


def test_separable_conv2d_equals_depthwise_then_pointwise():
    kwargs = {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}
    layer = SeparableConv2D(4, activation="relu", bias_initializer="random_normal", **kwargs)
    depthwise = DepthwiseConv2D(use_bias=False, **kwargs)
    pointwise = Conv2D(4, 1, activation="relu")
    x = torch.randn(2, 7, 6, 3)
    out = layer(x)
    pointwise(depthwise(x))
    dw, pw, bias = layer.get_weights()
    depthwise.set_weights([dw])
    pointwise.set_weights([pw, bias])
    torch.testing.assert_close(out, pointwise(depthwise(x)))


def test_separable_conv_weights_have_keras_names_and_order():
    layer = SeparableConv1D(5, 3, depth_multiplier=2, name="sep")
    layer(torch.ones(1, 6, 3))
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("sep/depthwise_kernel", (3, 3, 2)), ("sep/pointwise_kernel", (1, 6, 5)),
        ("sep/bias", (5,))]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"filters": 0}, "SeparableConv2D 'separable_conv2d': argument `filters` must be a "
                     "positive integer"),
    ({"depth_multiplier": -1}, "`depth_multiplier` must be a positive integer"),
    ({"data_format": "NCHW"}, "`data_format` must be 'channels_last' or 'channels_first'"),
])
def test_separable_conv_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SeparableConv2D(**{"filters": 2, "kernel_size": 3, **kwargs})


def test_separable_conv1d_rejects_causal_like_keras():
    with pytest.raises(ValueError, match=r"`padding` must be one of \('valid', 'same'\)"):
        SeparableConv1D(2, 3, padding="causal")
