"""InceptionResNetV2 (Szegedy et al., 2016): Inception blocks with scaled residual
connections.

Example: `InceptionResNetV2(weights=None, input_shape=(75, 75, 3), classes=10)`
has output shape `(None, 10)`.
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

BASE_WEIGHT_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                   "inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels")
# md5 of the published files: (with the classifier, without it).
WEIGHTS_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")


class CustomScaleLayer(layers.Layer):
    """`inputs[0] + inputs[1] * scale`: a residual branch added at a fixed scale.

    >>> import torch
    >>> CustomScaleLayer(0.5)([torch.ones(2), torch.ones(2)]).tolist()
    [1.5, 1.5]
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu",
              use_bias=False, name=None):
    """Convolution, batch norm without scale (unless the convolution has a bias), and
    `activation`."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_builder.channel_axis(), scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def _chain(x, convs):
    """`conv2d_bn` for each `(filters, kernel)` or `(filters, kernel, strides, padding)`."""
    for filters, kernel, *rest in convs:
        x = conv2d_bn(x, filters, kernel, *rest)
    return x


# The branches of each residual block type, as `_chain` specs.
_BLOCK_BRANCHES = {
    "block35": ([(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]),
    "block17": ([(192, 1)], [(128, 1), (160, [1, 7]), (192, [7, 1])]),
    "block8": ([(192, 1)], [(192, 1), (224, [1, 3]), (256, [3, 1])]),
}


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """`x` plus `scale` times a projection of its concatenated Inception branches."""
    if block_type not in _BLOCK_BRANCHES:
        raise ValueError('Unknown Inception-ResNet block type. Expects "block35", "block17" '
                         f'or "block8", but got: {block_type}')
    name = f"{block_type}_{block_idx}"
    axis = _builder.channel_axis()
    branches = [_chain(x, spec) for spec in _BLOCK_BRANCHES[block_type]]
    mixed = layers.Concatenate(axis=axis, name=f"{name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True,
                   name=f"{name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_ac")(x)
    return x


def _reduction(x, branches, name):
    pool = layers.MaxPooling2D(3, strides=2, padding="valid")
    built = [_chain(x, spec) for spec in branches]
    return layers.Concatenate(axis=_builder.channel_axis(), name=name)([*built, pool(x)])


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    """InceptionResNetV2 on 299x299 images (at least 75x75)."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=75, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    x = _chain(image, [(32, 3, 2, "valid"), (32, 3, 1, "valid"), (64, 3)])
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = _chain(x, [(80, 1, 1, "valid"), (192, 3, 1, "valid")])
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [_chain(x, [(96, 1)]), _chain(x, [(48, 1), (64, 5)]),
                _chain(x, [(64, 1), (96, 3), (96, 3)])]
    pooled = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branches.append(conv2d_bn(pooled, 64, 1))
    x = layers.Concatenate(axis=_builder.channel_axis(), name="mixed_5b")(branches)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    x = _reduction(x, [[(384, 3, 2, "valid")], [(256, 1), (256, 3), (384, 3, 2, "valid")]],
                   "mixed_6a")
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    x = _reduction(x, [[(256, 1), (384, 3, 2, "valid")], [(256, 1), (288, 3, 2, "valid")],
                       [(256, 1), (288, 3), (320, 3, 2, "valid")]], "mixed_7a")
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8",
                               block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    x = _builder.classifier(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    imagenet_file = (f"{BASE_WEIGHT_URL}{suffix}.h5", WEIGHTS_HASHES[0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
