"""`torch.autograd.gradcheck` of every differentiable `lamina.ops.nn` op on small float64
inputs, placed away from kinks (0, +-0.5, +-1, +-3, 6)."""

import numpy as np
import pytest
import torch

from lamina import ops

RNG = np.random.default_rng(3)
# Activation inputs at least 0.15 away from every kink of the piecewise activations.
X = torch.tensor([[-2.3, -1.7, -0.8, -0.3], [0.2, 0.7, 1.4, 2.6]], dtype=torch.float64)


def t(*shape, low=-1.0, high=1.0):
    return torch.tensor(RNG.uniform(low, high, shape), dtype=torch.float64)


ACTIVATIONS = [
    "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "selu",
    "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "tanh_shrink", "hard_tanh",
    "gelu", "elu", "celu", "leaky_relu", "hard_shrink", "soft_shrink", "sparse_plus",
    "sparse_sigmoid", "squareplus", "softmax", "log_softmax", "glu",
]

LABELS = torch.tensor(np.eye(4)[[0, 2, 3]], dtype=torch.float64)
TARGET = torch.tensor([[1, 2, 0], [3, 3, 1]])


def _cases():
    for name in ACTIVATIONS:
        yield name, getattr(ops, name), (X,)
    yield from [
        ("gelu_exact", lambda x: ops.gelu(x, approximate=False), (X,)),
        ("threshold", lambda x: ops.threshold(x, 0.0, -1.0), (X,)),
        ("sparsemax", lambda x: ops.sparsemax(x * 0.4), (X,)),  # away from support changes
        ("softmax_axes", lambda x: ops.softmax(x, axis=(0, 1)), (X,)),
        ("conv1d", lambda x, k: ops.conv(x, k, 2, "same"), (t(2, 5, 2), t(3, 2, 3))),
        ("conv2d", lambda x, k: ops.conv(x, k, dilation_rate=2), (t(1, 5, 5, 2), t(2, 2, 2, 2))),
        ("conv3d", lambda x, k: ops.conv(x, k, data_format="channels_first"),
         (t(1, 2, 3, 3, 3), t(2, 2, 2, 2, 1))),
        ("conv_grouped", lambda x, k: ops.conv(x, k), (t(1, 4, 4), t(2, 2, 4))),
        ("conv_transpose1d", lambda x, k: ops.conv_transpose(x, k, 2, "same", 1),
         (t(1, 3, 2), t(3, 2, 2))),
        ("conv_transpose2d", lambda x, k: ops.conv_transpose(x, k, 2),
         (t(1, 3, 3, 2), t(2, 2, 1, 2))),
        ("depthwise_conv", lambda x, k: ops.depthwise_conv(x, k, padding="same"),
         (t(1, 4, 4, 2), t(2, 2, 2, 2))),
        ("separable_conv", lambda x, d, p: ops.separable_conv(x, d, p),
         (t(1, 4, 4, 2), t(2, 2, 2, 1), t(1, 1, 2, 2))),
        ("max_pool", lambda x: ops.max_pool(x, 2, 1, "same"), (t(1, 4, 4, 1),)),
        ("average_pool", lambda x: ops.average_pool(x, 3, 2, "same"), (t(1, 5, 4, 1),)),
        ("average_pool3d", lambda x: ops.average_pool(x, 2), (t(1, 2, 2, 2, 1),)),
        ("adaptive_average_pool", lambda x: ops.adaptive_average_pool(x, 2), (t(1, 5, 5, 1),)),
        ("adaptive_max_pool", lambda x: ops.adaptive_max_pool(x, 2), (t(1, 4, 2),)),
        ("batch_normalization",
         lambda x, m, v, s, o: ops.batch_normalization(x, m, v, -1, o, s),
         (t(2, 3), t(3), t(3, low=0.5), t(3), t(3))),
        ("layer_normalization", lambda x, g, b: ops.layer_normalization(x, g, b),
         (t(2, 4), t(4), t(4))),
        ("rms_normalization", lambda x, s: ops.rms_normalization(x, s), (t(2, 4), t(4))),
        ("moments", lambda x: ops.moments(x, [0, 1]), (t(2, 3),)),
        ("normalize", lambda x: ops.normalize(x, order=2), (t(2, 3),)),
        ("binary_crossentropy", lambda y: ops.binary_crossentropy(LABELS, y),
         (t(3, 4, low=0.1, high=0.9),)),
        ("binary_crossentropy_logits",
         lambda y: ops.binary_crossentropy(LABELS, y, from_logits=True), (t(3, 4),)),
        ("categorical_crossentropy", lambda y: ops.categorical_crossentropy(LABELS, y),
         (t(3, 4, low=0.1, high=0.9),)),
        ("sparse_categorical_crossentropy",
         lambda y: ops.sparse_categorical_crossentropy(np.array([0, 2, 3]), y, True),
         (t(3, 4),)),
        ("psnr", lambda a, b: ops.psnr(a, b, 1.0), (t(2, 3), t(2, 3))),
        ("dot_product_attention",
         lambda q, k, v, b: ops.dot_product_attention(q, k, v, bias=b, is_causal=True),
         (t(1, 3, 2, 2), t(1, 3, 2, 2), t(1, 3, 2, 2), t(1, 2, 3, 3))),
        ("dot_product_attention_soft_cap",
         lambda q, k, v: ops.dot_product_attention(q, k, v, attn_logits_soft_cap=2.0),
         (t(1, 3, 1, 2), t(1, 2, 1, 2), t(1, 2, 1, 2))),
        ("depth_to_space", lambda x: ops.depth_to_space(x, 2), (t(1, 2, 2, 4),)),
        ("space_to_depth", lambda x: ops.space_to_depth(x, 2, "channels_first"),
         (t(1, 1, 4, 2),)),
        ("unfold", lambda x: ops.unfold(x, 2), (t(1, 1, 3, 3),)),
        ("fold", lambda x: ops.fold(x, (3, 3), 2), (t(1, 4, 4),)),
        ("polar", lambda r, a: torch.view_as_real(ops.polar(r, a)), (t(3, low=0.5), t(3))),
    ]


CASES = list(_cases())


# NOTE: Keras computes attention on float64 input in float32, so finite steps are coarser.
FLOAT32_OUTPUT = {"dot_product_attention", "dot_product_attention_soft_cap"}
# Grouped float64 convolutions and attention are slow on CPU: check a random projection.
FAST = {"depthwise_conv", "separable_conv", "conv_grouped", *FLOAT32_OUTPUT}


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name, fn, inputs):
    inputs = tuple(x.clone().requires_grad_(True) for x in inputs)
    tol = dict(eps=1e-3, atol=2e-3, rtol=1e-2) if name in FLOAT32_OUTPUT else dict(
        eps=1e-6, atol=1e-5)
    assert torch.autograd.gradcheck(fn, inputs, fast_mode=name in FAST, **tol)


def test_ctc_loss_gradient():
    # NOTE: Keras returns CTC losses in float32, so the finite differences are coarser.
    logits = t(2, 5, 4).requires_grad_(True)

    def loss(x):
        return ops.ctc_loss(TARGET, x, np.array([2, 3]), np.array([5, 4]))

    assert loss(logits).dtype == torch.float32
    assert torch.autograd.gradcheck(loss, (logits,), eps=1e-3, atol=2e-3, rtol=1e-2,
                                    fast_mode=True)


def test_every_differentiable_nn_op_is_checked():
    # Not differentiable: integer encodings and decoding.
    skip = {"one_hot", "multi_hot", "ctc_decode", "ctc_loss"}
    checked = {name.split("_exact")[0] for name, _, _ in CASES}
    checked |= {"conv", "conv_transpose", "sparse_categorical_crossentropy"}
    missing = set(ops.nn.__all__) - skip - checked
    missing -= {"binary_crossentropy", "categorical_crossentropy"}  # covered above
    assert missing == set()
