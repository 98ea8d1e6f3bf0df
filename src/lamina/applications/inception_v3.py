"""InceptionV3 (Szegedy et al., 2015): factorized Inception blocks on 299x299 inputs.

Example: `InceptionV3(weights=None, input_shape=(75, 75, 3), classes=10)`
has output shape `(None, 10)`.
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                "inception_v3_weights_tf_dim_ordering_tf_kernels")
# md5 of the published files: (with the classifier, without it).
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Convolution (no bias), batch norm without scale, ReLU."""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding,
                      use_bias=False, name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=_builder.channel_axis(), scale=False,
                                  name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _chain(x, convs):
    """`conv2d_bn` applied for each `(filters, rows, cols)` or `(..., strides, padding)`."""
    for spec in convs:
        filters, rows, cols, *rest = spec
        strides, padding = rest if rest else ((1, 1), "same")
        x = conv2d_bn(x, filters, rows, cols, padding=padding, strides=strides)
    return x


def _average_branch(x, filters):
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _concat(branches, name=None):
    return layers.concatenate(branches, axis=_builder.channel_axis(), name=name)


def _block_a(x, pool_filters, name):
    return _concat([_chain(x, [(64, 1, 1)]),
                    _chain(x, [(48, 1, 1), (64, 5, 5)]),
                    _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]),
                    _average_branch(x, pool_filters)], name)


def _block_c(x, width, name):
    return _concat([_chain(x, [(192, 1, 1)]),
                    _chain(x, [(width, 1, 1), (width, 1, 7), (192, 7, 1)]),
                    _chain(x, [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1),
                               (192, 1, 7)]),
                    _average_branch(x, 192)], name)


def _block_e(x, index):
    branch1x1 = _chain(x, [(320, 1, 1)])
    branch3x3 = _chain(x, [(384, 1, 1)])
    branch3x3 = _concat([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)],
                        f"mixed9_{index}")
    double = _chain(x, [(448, 1, 1), (384, 3, 3)])
    double = _concat([conv2d_bn(double, 384, 1, 3), conv2d_bn(double, 384, 3, 1)])
    return _concat([branch1x1, branch3x3, double, _average_branch(x, 192)],
                   f"mixed{9 + index}")


def _max_pool(x):
    return layers.MaxPooling2D((3, 3), strides=(2, 2))(x)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    """InceptionV3 on 299x299 images (at least 75x75)."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=75, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    valid = ((1, 1), "valid")
    x = _chain(image, [(32, 3, 3, (2, 2), "valid"), (32, 3, 3, *valid), (64, 3, 3)])
    x = _max_pool(x)
    x = _chain(x, [(80, 1, 1, *valid), (192, 3, 3, *valid)])
    x = _max_pool(x)
    x = _block_a(x, 32, "mixed0")
    x = _block_a(x, 64, "mixed1")
    x = _block_a(x, 64, "mixed2")
    x = _concat([_chain(x, [(384, 3, 3, (2, 2), "valid")]),
                 _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3, (2, 2), "valid")]),
                 _max_pool(x)], "mixed3")
    for name, width in (("mixed4", 128), ("mixed5", 160), ("mixed6", 160), ("mixed7", 192)):
        x = _block_c(x, width, name)
    x = _concat([_chain(x, [(192, 1, 1), (320, 3, 3, (2, 2), "valid")]),
                 _chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1),
                            (192, 3, 3, (2, 2), "valid")]),
                 _max_pool(x)], "mixed8")
    for index in range(2):
        x = _block_e(x, index)
    x = _builder.classifier(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    imagenet_file = (f"{WEIGHTS_PATH}{suffix}.h5", WEIGHTS_HASHES[0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
