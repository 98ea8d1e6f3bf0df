"""Xception (Chollet, 2016): depthwise separable convolutions with residual connections.

Example: `Xception(weights=None, input_shape=(71, 71, 3), classes=10)`
has output shape `(None, 10)`.
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/xception/"
                "xception_weights_tf_dim_ordering_tf_kernels")
# md5 of the published files: (with the classifier, without it).
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _bn(name=None):
    return layers.BatchNormalization(axis=_builder.channel_axis(), name=name)


def _sepconv_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return _bn(f"{name}_bn")(x)


def _relu(x, name):
    return layers.Activation("relu", name=name)(x)


def _downsampling_block(x, filters, block, first_relu=True):
    """Two separable convolutions and a strided max pool, plus a strided 1x1 shortcut."""
    out_filters = filters[-1]
    residual = layers.Conv2D(out_filters, (1, 1), strides=(2, 2), padding="same",
                             use_bias=False)(x)
    residual = _bn()(residual)
    for i, width in enumerate(filters, start=1):
        if i > 1 or first_relu:
            x = _relu(x, f"block{block}_sepconv{i}_act")
        x = _sepconv_bn(x, width, f"block{block}_sepconv{i}")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """Xception on 299x299 images (at least 71x71)."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=71, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(image)
    x = _relu(_bn("block1_conv1_bn")(x), "block1_conv1_act")
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = _relu(_bn("block1_conv2_bn")(x), "block1_conv2_act")
    x = _downsampling_block(x, (128, 128), 2, first_relu=False)
    x = _downsampling_block(x, (256, 256), 3)
    x = _downsampling_block(x, (728, 728), 4)
    for block in range(5, 13):
        residual = x
        for i in range(1, 4):
            x = _sepconv_bn(_relu(x, f"block{block}_sepconv{i}_act"), 728,
                            f"block{block}_sepconv{i}")
        x = layers.add([x, residual])
    x = _downsampling_block(x, (728, 1024), 13)
    x = _relu(_sepconv_bn(x, 1536, "block14_sepconv1"), "block14_sepconv1_act")
    x = _relu(_sepconv_bn(x, 2048, "block14_sepconv2"), "block14_sepconv2_act")
    x = _builder.classifier(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    imagenet_file = (f"{WEIGHTS_PATH}{suffix}.h5", WEIGHTS_HASHES[0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
