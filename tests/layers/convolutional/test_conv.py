import numpy as np
import pytest
import torch

import lamina
from lamina.backend import config as backend_config
from lamina.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from lamina.serialization.registry import CustomObjectScope
from lamina.testing import run_layer_test


def layer_test(cls, init_kwargs, **kwargs):
    """`run_layer_test`, with the class resolvable by name for the JSON config round trip
    (whether or not `lamina.layers` re-exports it yet)."""
    with CustomObjectScope({cls.__name__: cls}):
        return run_layer_test(cls, init_kwargs, **kwargs)



def numpy_conv2d(x, kernel, bias, strides, padding, dilation=(1, 1), groups=1):
    """Direct-loop NHWC convolution; `same` pads TensorFlow-style (odd unit after)."""
    kh, kw, cin_g, out = kernel.shape
    pads = []
    for n, k, s, d in zip(x.shape[1:3], (kh, kw), strides, dilation):
        span = (k - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    oh = (xp.shape[1] - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    ow = (xp.shape[2] - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    y = np.zeros((x.shape[0], oh, ow, out))
    per_group = out // groups
    for o in range(out):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                rows = i * strides[0] + np.arange(kh) * dilation[0]
                cols = j * strides[1] + np.arange(kw) * dilation[1]
                patch = xp[:, rows][:, :, cols][..., g * cin_g:(g + 1) * cin_g]
                y[:, i, j, o] = np.einsum("nabc,abc->n", patch, kernel[..., o])
    return y + (bias if bias is not None else 0)


@pytest.mark.parametrize(("cls", "kwargs", "shape", "expected"), [
    (Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal"}, (2, 7, 2), (2, 7, 3)),
    (Conv2D, {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 5, 5, 2),
     (2, 3, 3, 3)),
    (Conv2D, {"filters": 4, "kernel_size": 3, "groups": 2, "data_format": "channels_first",
              "kernel_regularizer": "l2", "activation": "relu"}, (2, 4, 6, 5), (2, 4, 4, 3)),
    (Conv3D, {"filters": 2, "kernel_size": 2, "use_bias": False}, (1, 3, 4, 3, 2),
     (1, 2, 3, 2, 2)),
])
def test_conv_passes_layer_test(cls, kwargs, shape, expected):
    layer_test(cls, kwargs, input_shape=shape, expected_output_shape=expected,
               expected_num_trainable_weights=1 + kwargs.get("use_bias", True),
               expected_num_non_trainable_weights=0)


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({"kernel_size": 4, "strides": 2, "padding": "same"}, (2, 7, 6, 3)),
    ({"kernel_size": (2, 3), "strides": (3, 1), "padding": "same"}, (1, 8, 5, 2)),
    ({"kernel_size": 3, "dilation_rate": 2, "padding": "same", "groups": 2}, (1, 6, 7, 4)),
    ({"kernel_size": 3, "strides": 2}, (2, 7, 7, 2)),
    ({"kernel_size": 1, "strides": 2, "padding": "same"}, (2, 6, 7, 3)),
    ({"kernel_size": 1, "strides": (3, 2)}, (1, 7, 6, 2)),
])
def test_conv2d_matches_numpy_direct_loop(kwargs, shape):
    layer = Conv2D(filters=4, bias_initializer="random_normal", **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    got = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    want = numpy_conv2d(x, kernel, bias, layer.strides, layer.padding, layer.dilation_rate,
                        layer.groups)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_conv2d_channels_first_equals_transposed_channels_last():
    last = Conv2D(3, 3, strides=2, padding="same")
    first = Conv2D(3, 3, strides=2, padding="same", data_format="channels_first")
    x = torch.randn(2, 6, 7, 2)
    want = last(x)
    first(x.permute(0, 3, 1, 2))
    first.set_weights(last.get_weights())
    torch.testing.assert_close(first(x.permute(0, 3, 1, 2)), want.permute(0, 3, 1, 2))


def test_conv1d_causal_output_never_sees_the_future():
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = torch.randn(1, 10, 3)
    base = layer(x)
    changed = x.clone()
    changed[:, 6:] += 1.0
    after = layer(changed)
    torch.testing.assert_close(after[:, :6], base[:, :6])
    assert not torch.allclose(after[:, 6:], base[:, 6:])


def test_conv_weights_have_keras_names_shapes_and_order():
    layer = Conv2D(4, (3, 2), groups=2, name="c")
    layer(torch.ones(1, 5, 5, 6))
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("c/kernel", (3, 2, 3, 4)), ("c/bias", (4,))]
    assert list(layer.state_dict()) == ["kernel", "bias"]
    assert layer.count_params() == 3 * 2 * 3 * 4 + 4


def test_conv_gradients_reach_the_keras_layout_kernel():
    layer = Conv2D(3, 2, strides=2, padding="same")
    x = torch.randn(2, 5, 5, 2, requires_grad=True)
    layer(x).square().sum().backward()
    assert layer.kernel.grad.shape == (2, 2, 2, 3)
    assert layer.bias.grad.shape == (3,)
    assert x.grad.shape == x.shape


def test_pointwise_strided_conv_trains_on_large_channels_last_images():
    # torch 2.13's oneDNN kernel for this case (1x1, stride 2, channels-last view)
    # segfaults in the weight gradient at this size; the layer must not reach it.
    layer = Conv2D(16, 1, strides=2, padding="same")
    x = torch.rand(2, 100, 100, 3, requires_grad=True)
    y = layer(x)
    y.square().sum().backward()
    kernel = layer.kernel.detach().reshape(3, 16)
    reference = x.detach()[:, ::2, ::2] @ kernel + layer.bias.detach()
    torch.testing.assert_close(y.detach(), reference, atol=1e-5, rtol=1e-5)
    assert layer.kernel.grad.shape == (1, 1, 3, 16) and x.grad.shape == x.shape


def test_conv_sees_assigned_kernel_immediately():
    # The torch-layout kernel is a view of the Variable: no stale cached copy.
    layer = Conv2D(1, 1, use_bias=False)
    x = torch.randn(1, 3, 3, 2)
    layer(x)
    with torch.no_grad():
        before = layer(x)
        layer.kernel.assign(2 * layer.kernel.detach())
        torch.testing.assert_close(layer(x), 2 * before)
    layer.set_weights([np.ones((1, 1, 2, 1), "float32")])
    torch.testing.assert_close(layer(x), x.sum(-1, keepdim=True))


def test_conv_channels_last_output_is_contiguous():
    out = Conv2D(4, 3, padding="same")(torch.randn(2, 6, 6, 3))
    assert out.is_contiguous()


def test_conv_data_format_none_reads_backend_setting():
    previous = backend_config.image_data_format()
    try:
        backend_config.set_image_data_format("channels_first")
        layer = Conv2D(2, 3)
        assert layer.data_format == "channels_first"
        assert layer(torch.ones(1, 3, 5, 5)).shape == (1, 2, 3, 3)
    finally:
        backend_config.set_image_data_format(previous)
    assert Conv2D(2, 3).get_config()["data_format"] == "channels_last"


def test_conv_normalizes_arguments_like_keras():
    config = Conv2D(2.0, [3, 2], strides=2, padding="SAME",
                    data_format="Channels_First").get_config()
    assert (config["filters"], config["kernel_size"], config["strides"]) == (2, (3, 2), (2, 2))
    assert (config["padding"], config["data_format"]) == ("same", "channels_first")


def test_conv_compute_output_shape_handles_unknown_sizes():
    layer = Conv2D(4, 3, strides=2, padding="same")
    assert layer.compute_output_shape((None, None, 7, 1)) == (None, None, 4, 4)
    assert Conv1D(2, 3, padding="causal").compute_output_shape((None, 9, 1)) == (None, 9, 2)


def test_conv_in_functional_model_with_unknown_spatial_size():
    inputs = lamina.Input((None, None, 3))
    outputs = Conv2D(4, 3, strides=2, padding="same")(inputs)
    assert tuple(outputs.shape) == (None, None, None, 4)
    model = lamina.Model(inputs, outputs)
    assert model(torch.ones(1, 9, 6, 3)).shape == (1, 5, 3, 4)


def test_conv_mixed_precision_computes_in_bfloat16_with_float32_kernel():
    layer = Conv2D(2, 3, dtype="mixed_bfloat16")
    out = layer(torch.randn(1, 5, 5, 2))
    assert out.dtype == torch.bfloat16 and layer.kernel.dtype == torch.float32


# -- bad input ---------------------------------------------------------------------------
def test_conv_rejects_wrong_input_rank_naming_layer_and_shape():
    with pytest.raises(ValueError, match=r"layer 'c' \(Conv2D\).*expected ndim=4, found "
                                         r"ndim=3. Full shape received: \(1, 5, 5\)"):
        Conv2D(2, 3, name="c")(torch.ones(1, 5, 5))


def test_conv_rejects_changed_channel_count():
    layer = Conv2D(2, 3, name="c")
    layer(torch.ones(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"'c' \(Conv2D\).*axis -1 of input shape to have "
                                         r"value 3"):
        layer(torch.ones(1, 5, 5, 2))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"filters": 0}, r"Conv2D 'conv2d': argument `filters` must be a positive integer. "
                     r"Received: filters=0"),
    ({"filters": -2}, "`filters` must be a positive integer"),
    ({"filters": 2.5}, "`filters` must be a positive integer"),
    ({"kernel_size": 0}, r"`kernel_size` must be an int or a tuple of 2 positive ints. "
                         r"Received: kernel_size=0"),
    ({"kernel_size": (3,)}, r"Received: kernel_size=\(3,\)"),
    ({"kernel_size": None}, "Received: kernel_size=None"),
    ({"strides": (1, 0)}, "`strides` must be an int or a tuple of 2 positive ints"),
    ({"dilation_rate": -1}, "`dilation_rate` must be an int or a tuple of 2 positive"),
    ({"padding": "full"}, r"`padding` must be one of \('valid', 'same'\). "
                          "Received: padding='full'"),
    ({"padding": "causal"}, r"`padding` must be one of \('valid', 'same'\)"),
    ({"data_format": "nhwc"}, "`data_format` must be 'channels_last' or 'channels_first'. "
                              "Received: data_format='nhwc'"),
    ({"filters": 3, "groups": 2}, "`filters` must be divisible by `groups`. Received: "
                                  "filters=3, groups=2"),
    ({"groups": 0}, "`groups` must be a positive integer"),
    ({"strides": 2, "dilation_rate": 2}, "`strides > 1` cannot be combined with "
                                         "`dilation_rate > 1`"),
])
def test_conv2d_rejects_bad_arguments(kwargs, match):
    args = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        Conv2D(**args)


def test_conv_rejects_groups_not_dividing_input_channels():
    with pytest.raises(ValueError, match=r"input channels must be divisible by `groups`. "
                                         r"Received: groups=2, input channels=3"):
        Conv2D(4, 3, groups=2)(torch.ones(1, 5, 5, 3))


def test_conv_rejects_kernel_larger_than_valid_input():
    with pytest.raises(ValueError, match=r"Conv2D 'c': the kernel .* is larger than the "
                                         r"spatial size .* input_shape=\(1, 3, 3, 1\)"):
        Conv2D(2, 5, name="c")(torch.ones(1, 3, 3, 1))
    with pytest.raises(ValueError, match="is larger than the spatial size"):
        Conv1D(2, 3, dilation_rate=3).compute_output_shape((None, 6, 1))
    assert Conv2D(2, 5, padding="same")(torch.ones(1, 3, 3, 1)).shape == (1, 3, 3, 2)


def test_conv_rejects_kernel_larger_than_a_later_smaller_input():
    layer = Conv2D(2, 3, name="c")
    layer(torch.ones(1, 5, 5, 1))
    with pytest.raises(ValueError, match=r"'c': the kernel .* input_shape=\(1, 2, 5, 1\)"):
        layer(torch.ones(1, 2, 5, 1))


def test_conv_rejects_unknown_channel_size():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d' needs a known channel size"):
        Conv2D(2, 3).build((None, 5, 5, None))


def test_conv_inference_after_optimizer_step_uses_updated_kernel():
    # Inference reuses a cached torch-layout kernel; in-place updates must refresh it.
    layer = Conv2D(2, 3, padding="same")
    x = torch.randn(2, 5, 5, 3)
    with torch.no_grad():
        before = layer(x)
        torch.testing.assert_close(layer(x), before)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    layer(x).square().sum().backward()
    opt.step()
    with torch.no_grad():
        after = layer(x)
    kernel, bias = layer.get_weights()
    want = numpy_conv2d(x.numpy(), kernel, bias, (1, 1), "same")
    assert not torch.allclose(after, before)
    # Outputs reach ~100 after the large step: compare at float32 relative precision.
    np.testing.assert_allclose(after.numpy(), want, rtol=1e-5, atol=1e-5)


def test_conv_built_symbolically_under_no_grad_then_runs_eagerly():
    with torch.no_grad():
        inputs = lamina.Input((6, 6, 2))
        model = lamina.Model(inputs, Conv2D(3, 3)(inputs))
        out = model(torch.ones(1, 6, 6, 2))
    assert out.shape == (1, 4, 4, 3) and type(out) is torch.Tensor
