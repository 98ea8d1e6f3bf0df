"""Bad input to `lamina.ops.nn` ops raises errors that name the argument, what was expected
and what was received."""

import numpy as np
import pytest

from lamina import ops

X = np.ones((2, 4), "float32")
IMG = np.ones((1, 5, 5, 3), "float32")
K3 = np.ones((3, 3, 3, 4), "float32")

AXIS_CASES = [
    ("softmax", lambda: ops.softmax(X, axis=5)),
    ("softmax_tuple", lambda: ops.softmax(X, axis=(0, 5))),
    ("log_softmax", lambda: ops.log_softmax(X, axis=-3)),
    ("log_softmax_tuple", lambda: ops.log_softmax(X, axis=(2,))),
    ("sparsemax", lambda: ops.sparsemax(X, axis=4)),
    ("glu", lambda: ops.glu(X, axis=3)),
    ("moments", lambda: ops.moments(X, [3])),
    ("normalize", lambda: ops.normalize(X, axis=3)),
    ("batch_normalization", lambda: ops.batch_normalization(X, np.zeros(4), np.ones(4), 3)),
    ("layer_normalization", lambda: ops.layer_normalization(X, axis=2)),
    ("rms_normalization", lambda: ops.rms_normalization(X, axis=[0, 2])),
    ("categorical_crossentropy", lambda: ops.categorical_crossentropy(X, X, axis=3)),
    ("sparse_categorical_crossentropy",
     lambda: ops.sparse_categorical_crossentropy(np.zeros(2), X, axis=3)),
]


@pytest.mark.parametrize("name,call", AXIS_CASES, ids=[c[0] for c in AXIS_CASES])
def test_out_of_range_axis_names_axis_and_rank(name, call):
    with pytest.raises(ValueError, match=r"`axis`=.*out of bounds.*rank 2.*valid axes are -2 to 1"):
        call()


@pytest.mark.parametrize("name", ["one_hot", "multi_hot"])
def test_encoding_axis_names_output_rank(name):
    x = np.array([[0, 1]])
    with pytest.raises(ValueError, match=r"`axis`=4 is out of bounds for the rank-3 output"):
        getattr(ops, name)(x, 3, axis=4)


def test_even_glu_axis_required():
    with pytest.raises(ValueError, match=r"`glu`: axis -1 must have an even size.*\(2, 3\)"):
        ops.glu(np.ones((2, 3)))


CHANNEL_CASES = [
    ("conv", lambda: ops.conv(IMG, np.ones((3, 3, 2, 4), "float32")),
     r"`conv`: input channels \(3\).*kernel's input channels \(2\).*\(1, 5, 5, 3\).*"
     r"\(3, 3, 2, 4\)"),
    ("conv_channels_first", lambda: ops.conv(np.ones((1, 2, 5, 5)), K3,
                                             data_format="channels_first"),
     r"input channels \(2\).*\(1, 2, 5, 5\).*\(3, 3, 3, 4\)"),
    ("depthwise_conv", lambda: ops.depthwise_conv(IMG, np.ones((3, 3, 2, 2))),
     r"`depthwise_conv`: input channels \(3\).*\(2\).*\(1, 5, 5, 3\).*\(3, 3, 2, 2\)"),
    ("separable_conv", lambda: ops.separable_conv(IMG, np.ones((3, 3, 3, 2)),
                                                  np.ones((1, 1, 5, 2))),
     r"`separable_conv`: .*\(5\).*\(6\).*\(3, 3, 3, 2\).*\(1, 1, 5, 2\)"),
    ("conv_transpose", lambda: ops.conv_transpose(IMG, np.ones((3, 3, 2, 4))),
     r"`conv_transpose`: input channels \(3\).*\(1, 5, 5, 3\).*\(3, 3, 2, 4\)"),
    ("conv_rank", lambda: ops.conv(IMG, np.ones((3, 2, 4))),
     r"kernel rank \(3, shape \(3, 2, 4\)\).*input rank \(4, shape \(1, 5, 5, 3\)\)"),
    ("conv_strides", lambda: ops.conv(IMG, K3, strides=(1, 2, 3)),
     r"`strides` must be an int or a tuple of 2 ints; received \(1, 2, 3\)"),
    ("pool_rank", lambda: ops.max_pool(np.ones((5, 3)), 2),
     r"`max_pool` expects inputs of rank 3 to 5.*received shape \(5, 3\)"),
    ("attention_heads", lambda: ops.dot_product_attention(
        np.ones((1, 2, 3, 4)), np.ones((1, 2, 2, 4)), np.ones((1, 2, 2, 4))),
     r"query heads \(3\) must be a multiple of key/value heads \(2\)"),
    ("attention_rank", lambda: ops.dot_product_attention(X, X, X),
     r"3-D or 4-D.*Received query shape \(2, 4\)"),
    ("binary_crossentropy", lambda: ops.binary_crossentropy(np.ones((2, 3)), X),
     r"target.shape=\(2, 3\), output.shape=\(2, 4\)"),
    ("psnr", lambda: ops.psnr(np.ones((2, 3)), X, 1.0), r"same shape.*\(2, 3\) and \(2, 4\)"),
    ("ctc_loss", lambda: ops.ctc_loss(np.ones(2), np.ones((2, 3, 4)), [1, 1], [3, 3]),
     r"`ctc_loss` expects.*\(2, 3, 4\) and \(2,\)"),
    ("depth_to_space", lambda: ops.depth_to_space(np.ones((1, 2, 2, 6)), 2),
     r"channels \(6\) must be divisible by block_size\*\*2 \(4\)"),
    ("space_to_depth", lambda: ops.space_to_depth(np.ones((1, 3, 4, 1)), 2),
     r"height \(3\) and width \(4\) must be divisible by block_size \(2\)"),
]


@pytest.mark.parametrize("name,call,match", CHANNEL_CASES, ids=[c[0] for c in CHANNEL_CASES])
def test_shape_mismatch_names_both_shapes(name, call, match):
    with pytest.raises(ValueError, match=match):
        call()


STRING_CASES = [
    ("conv_padding", lambda: ops.conv(IMG, K3, padding="full")),
    ("conv_padding_int", lambda: ops.conv(IMG, K3, padding=1)),
    ("conv_transpose_padding", lambda: ops.conv_transpose(IMG, np.ones((3, 3, 4, 3)),
                                                          padding="causal")),
    ("depthwise_padding", lambda: ops.depthwise_conv(IMG, np.ones((3, 3, 3, 1)),
                                                     padding="full")),
    ("max_pool_padding", lambda: ops.max_pool(IMG, 2, padding="causal")),
    ("average_pool_padding", lambda: ops.average_pool(IMG, 2, padding="Full")),
]
FORMAT_CASES = [
    ("conv", lambda: ops.conv(IMG, K3, data_format="NHWC")),
    ("conv_transpose", lambda: ops.conv_transpose(IMG, np.ones((3, 3, 4, 3)),
                                                  data_format="nhwc")),
    ("separable_conv", lambda: ops.separable_conv(IMG, np.ones((3, 3, 3, 1)),
                                                  np.ones((1, 1, 3, 2)), data_format="x")),
    ("average_pool", lambda: ops.average_pool(IMG, 2, data_format="nhwc")),
    ("adaptive_max_pool", lambda: ops.adaptive_max_pool(IMG, 2, data_format="channels")),
    ("depth_to_space", lambda: ops.depth_to_space(np.ones((1, 2, 2, 4)), 2, data_format="x")),
    ("space_to_depth", lambda: ops.space_to_depth(np.ones((1, 2, 2, 4)), 2, data_format="x")),
]


@pytest.mark.parametrize("name,call", STRING_CASES, ids=[c[0] for c in STRING_CASES])
def test_bad_padding_lists_the_choices(name, call):
    with pytest.raises(ValueError, match=r"`padding` must be 'valid' or 'same'; received"):
        call()


@pytest.mark.parametrize("name,call", FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES])
def test_bad_data_format_lists_the_choices(name, call):
    with pytest.raises(ValueError, match=r"`data_format` must be 'channels_last' or "
                                         r"'channels_first'; received"):
        call()


def test_ctc_decode_options():
    logits = np.ones((1, 3, 4), "float32")
    with pytest.raises(ValueError, match=r"`strategy` must be 'greedy' or 'beam_search'; "
                                         r"received 'beam'"):
        ops.ctc_decode(logits, np.array([3]), strategy="beam")
    with pytest.raises(ValueError, match=r"`top_paths` \(3\) must be at most `beam_width` \(2\)"):
        ops.ctc_decode(logits, np.array([3]), strategy="beam_search", beam_width=2, top_paths=3)


@pytest.mark.parametrize("name", ["relu6", "hard_tanh"])
def test_bool_activation_input_is_refused(name):
    with pytest.raises(TypeError, match=rf"`{name}` does not accept bool input.*dtype bool"):
        getattr(ops, name)(np.array([True, False]))


@pytest.mark.parametrize("name", ["conv", "depthwise_conv"])
def test_complex_convolution_is_refused(name):
    kernel = np.ones((3, 3, 3, 1), "complex64")
    with pytest.raises(TypeError, match=rf"`{name}`: complex kernel are not supported.*complex64"):
        getattr(ops, name)(IMG, kernel)


def test_unsupported_options():
    with pytest.raises(ValueError, match="sparse=False"):
        ops.one_hot(np.array([0]), 3, sparse=True)
    with pytest.raises(ValueError, match="sparse=False"):
        ops.multi_hot(np.array([[0]]), 3, sparse=True)
    with pytest.raises(ValueError, match="`multi_hot`: `num_classes` is required"):
        ops.multi_hot(np.array([[0]]))
    q = np.ones((1, 2, 1, 4), "float32")
    with pytest.raises(ValueError, match="flash_attention=True is not supported"):
        ops.dot_product_attention(q, q, q, flash_attention=True)
