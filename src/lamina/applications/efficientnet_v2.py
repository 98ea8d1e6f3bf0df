"""EfficientNetV2 B0 to B3, S, M and L (Tan & Le, 2021): fused and depthwise MBConv
stages; the models rescale [0, 255] inputs themselves.

Example: `EfficientNetV2B0(weights=None, input_shape=(32, 32, 3), classes=10)`
has output shape `(None, 10)`.
"""

import math

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.applications.efficientnet import conv_initializer, head, residual, squeeze_excite
from lamina.backend import config

BASE_WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                     "efficientnet_v2/")
# md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
# Stages: (repeats, filters in, filters out, expansion, squeeze ratio, stride, fused);
# every kernel is 3x3.
_B = ((1, 32, 16, 1, 0, 1, True), (2, 16, 32, 4, 0, 2, True), (2, 32, 48, 4, 0, 2, True),
      (3, 48, 96, 4, 0.25, 2, False), (5, 96, 112, 6, 0.25, 1, False),
      (8, 112, 192, 6, 0.25, 2, False))
STAGES = {
    "b0": _B, "b1": _B, "b2": _B, "b3": _B,
    "s": ((2, 24, 24, 1, 0, 1, True), (4, 24, 48, 4, 0, 2, True),
          (4, 48, 64, 4, 0, 2, True), (6, 64, 128, 4, 0.25, 2, False),
          (9, 128, 160, 6, 0.25, 1, False), (15, 160, 256, 6, 0.25, 2, False)),
    "m": ((3, 24, 24, 1, 0, 1, True), (5, 24, 48, 4, 0, 2, True),
          (5, 48, 80, 4, 0, 2, True), (7, 80, 160, 4, 0.25, 2, False),
          (14, 160, 176, 6, 0.25, 1, False), (18, 176, 304, 6, 0.25, 2, False),
          (5, 304, 512, 6, 0.25, 1, False)),
    "l": ((4, 32, 32, 1, 0, 1, True), (7, 32, 64, 4, 0, 2, True),
          (7, 64, 96, 4, 0, 2, True), (10, 96, 192, 4, 0.25, 2, False),
          (19, 192, 224, 6, 0.25, 1, False), (25, 224, 384, 6, 0.25, 2, False),
          (7, 384, 640, 6, 0.25, 1, False)),
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    filters *= width_coefficient
    minimum = min_depth or depth_divisor
    return int(max(minimum, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def _conv_bn_act(x, filters, kernel_size, strides, bn_momentum, activation, name,
                 with_activation=True):
    x = layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                      kernel_initializer=conv_initializer(), padding="same", use_bias=False,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=_builder.channel_axis(), momentum=bn_momentum,
                                  name=f"{name}_bn")(x)
    if with_activation:
        x = layers.Activation(activation, name=f"{name}_activation")(x)
    return x


def mb_conv(inputs, input_filters, output_filters, expand_ratio, strides, se_ratio,
            bn_momentum, activation, survival_probability, name, fused):
    """An MBConv block; `fused` replaces its expansion and depthwise convolution by one
    3x3 convolution (and adds an activation after the projection when nothing expands)."""
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _conv_bn_act(x, filters, 3 if fused else 1, strides if fused else 1, bn_momentum,
                         activation, f"{name}expand")
    if not fused:
        x = layers.DepthwiseConv2D(kernel_size=3, strides=strides,
                                   depthwise_initializer=conv_initializer(), padding="same",
                                   use_bias=False, name=f"{name}dwconv2")(x)
        x = layers.BatchNormalization(axis=_builder.channel_axis(), momentum=bn_momentum,
                                      name=f"{name}bn")(x)
        x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, input_filters, filters, se_ratio, activation, name)
    one_conv = fused and expand_ratio == 1
    x = _conv_bn_act(x, output_filters, 3 if one_conv else 1, strides if one_conv else 1,
                     bn_momentum, activation, f"{name}project", with_activation=one_conv)
    if strides == 1 and input_filters == output_filters:
        # NOTE: Keras passes the drop rate as `survival_probability`; kept for the same
        # layers (a Dropout named `*drop` wherever the rate is non-zero).
        x = residual(x, inputs, survival_probability, name)
    return x


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                   drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9,
                   activation="swish", blocks_args="default", name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes=1000,
                   classifier_activation="softmax", include_preprocessing=True,
                   weights_name=None):
    """An EfficientNetV2 of the stages `STAGES[weights_name]` (or `blocks_args`)."""
    _builder.check_weights(weights, include_top, classes)
    stages = STAGES[weights_name] if blocks_args == "default" else blocks_args
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32,
        data_format=config.image_data_format(), require_flatten=include_top,
        weights=weights)
    axis = _builder.channel_axis()
    image = _builder.image_input(input_tensor, input_shape)
    x = image
    if include_preprocessing:
        channels = input_shape[0 if axis == 1 else -1]
        if weights_name.startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229**2, 0.224**2, 0.225**2], axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def width(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    def repeats(count):
        return int(math.ceil(depth_coefficient * count))

    x = _conv_bn_act(x, width(stages[0][1]), 3, 2, bn_momentum, activation, "stem")
    total = float(sum(stage[0] for stage in stages))
    done = 0
    for i, (count, filters_in, filters_out, expand, se_ratio, stride, fused) in enumerate(
            stages):
        if count <= 0:
            raise ValueError("The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={count}")
        filters_in, filters_out = width(filters_in), width(filters_out)
        for j in range(repeats(count)):
            x = mb_conv(x, filters_in if j == 0 else filters_out, filters_out, expand,
                        stride if j == 0 else 1, se_ratio, bn_momentum, activation,
                        drop_connect_rate * done / total, f"block{i + 1}{chr(j + 97)}_",
                        fused)
            done += 1
    x = _conv_bn_act(x, width(1280), 1, 1, bn_momentum, activation, "top")
    x = head(x, include_top, pooling, classes, classifier_activation, weights, dropout_rate)
    imagenet_file = None
    if weights_name in WEIGHTS_HASHES:
        file_name = f"efficientnetv2-{weights_name}{'' if include_top else '_notop'}.h5"
        imagenet_file = (BASE_WEIGHTS_PATH + file_name,
                         WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def _variant(key, width, depth, size):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True, name=f"efficientnetv2-{key}"):
        return EfficientNetV2(width, depth, size, name=name, include_top=include_top,
                              weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key)
    return _builder.named(build, f"EfficientNetV2{key.upper()}",
                          f"EfficientNetV2-{key.upper()}: {size}x{size} inputs.")


EfficientNetV2B0 = _variant("b0", 1.0, 1.0, 224)
EfficientNetV2B1 = _variant("b1", 1.0, 1.1, 240)
EfficientNetV2B2 = _variant("b2", 1.1, 1.2, 260)
EfficientNetV2B3 = _variant("b3", 1.2, 1.4, 300)
EfficientNetV2S = _variant("s", 1.0, 1.0, 384)
EfficientNetV2M = _variant("m", 1.0, 1.0, 480)
EfficientNetV2L = _variant("l", 1.0, 1.0, 480)


def preprocess_input(x, data_format=None):
    """The identity: EfficientNetV2 models rescale their inputs themselves."""
    return x


decode_predictions = imagenet_utils.decode_predictions
