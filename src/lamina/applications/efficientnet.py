"""EfficientNetB0 to B7 (Tan & Le, 2019): MBConv blocks scaled in width, depth and input
size; the models normalize [0, 255] inputs themselves.

Example: `EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=10)`
has output shape `(None, 10)`.
"""

import math

from lamina import initializers, layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
# md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# The seven stages of B0: (kernel, repeats, filters in, filters out, expansion, stride);
# every block squeezes and excites with ratio 0.25.
BLOCKS = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
          (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
          (3, 1, 192, 320, 6, 1))
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def conv_initializer():
    return initializers.VarianceScaling(scale=2.0, mode="fan_out",
                                        distribution="truncated_normal")


def dense_initializer():
    return initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_out",
                                        distribution="uniform")


def squeeze_excite(x, filters_in, filters, se_ratio, activation, name):
    """Scale `x`'s channels by a gate computed from their global average."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    shape = (filters, 1, 1) if _builder.channel_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(filters_in * se_ratio)), 1, padding="same",
                       activation=activation, kernel_initializer=conv_initializer(),
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=conv_initializer(), name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def residual(x, inputs, drop_rate, name):
    """`x + inputs`, with `x` dropped per sample at `drop_rate` (stochastic depth)."""
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32,
          filters_out=16, kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.0,
          id_skip=True):
    """An MBConv block: expand, depthwise convolution, squeeze-excite, project."""
    axis = _builder.channel_axis()
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=conv_initializer(), name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=conv_initializer(),
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters_in, filters, se_ratio, activation, name)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=conv_initializer(), name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def head(x, include_top, pooling, classes, classifier_activation, weights, dropout_rate,
         bias_initializer="zeros"):
    """The classifier (average pool, dropout, dense) or the `pooling` of features."""
    if not include_top:
        return _builder.pool(x, pooling, "avg_pool", "max_pool")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name="top_dropout")(x)
    imagenet_utils.validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation,
                        kernel_initializer=dense_initializer(),
                        bias_initializer=bias_initializer, name="predictions")(x)


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                 drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 blocks_args="default", name="efficientnet", include_top=True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", weights_name=None):
    """An EfficientNet: B0's stages (`BLOCKS`, or `blocks_args` in Keras' dict form) with
    widths scaled by `width_coefficient` and repeats by `depth_coefficient`."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32,
        data_format=config.image_data_format(), require_flatten=include_top,
        weights=weights)
    axis = _builder.channel_axis()
    if blocks_args == "default":
        blocks_args = [dict(kernel_size=k, repeats=r, filters_in=i, filters_out=o,
                            expand_ratio=e, strides=s, se_ratio=0.25, id_skip=True)
                       for k, r, i, o, e, s in BLOCKS]

    def round_filters(filters):
        filters *= width_coefficient
        rounded = max(depth_divisor,
                      int(filters + depth_divisor / 2) // depth_divisor * depth_divisor)
        return int(rounded + depth_divisor if rounded < 0.9 * filters else rounded)

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    image = _builder.image_input(input_tensor, input_shape)
    x = layers.Rescaling(1.0 / 255.0)(image)
    x = layers.Normalization(axis=axis)(x)
    if weights == "imagenet":
        # NOTE: the published weights hold the variance where the standard deviation
        # belongs, so dividing once more by the square root of the stddev corrects it.
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3),
                             name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=conv_initializer(), name="stem_conv")(x)
    x = layers.BatchNormalization(axis=axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)
    total = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    done = 0
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ValueError("The number of repeats in `EfficientNet` must be > 0. "
                             f"Received: repeats={args['repeats']}")
        args = {**args, "filters_in": round_filters(args["filters_in"]),
                "filters_out": round_filters(args["filters_out"])}
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args.update(strides=1, filters_in=args["filters_out"])
            x = block(x, activation, drop_connect_rate * done / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            done += 1
    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=conv_initializer(), name="top_conv")(x)
    x = layers.BatchNormalization(axis=axis, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    x = head(x, include_top, pooling, classes, classifier_activation, weights, dropout_rate)
    imagenet_file = None
    if weights_name in WEIGHTS_HASHES:
        file_name = f"efficientnet{weights_name}{'' if include_top else '_notop'}.h5"
        imagenet_file = (BASE_WEIGHTS_PATH + file_name,
                         WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def _variant(key, width, depth, size, dropout):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=f"efficientnet{key}"):
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top,
                            weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=key)
    return _builder.named(build, f"EfficientNet{key.upper()}",
                          f"EfficientNet{key.upper()}: width x{width}, depth x{depth}, "
                          f"{size}x{size} inputs.")


EfficientNetB0 = _variant("b0", 1.0, 1.0, 224, 0.2)
EfficientNetB1 = _variant("b1", 1.0, 1.1, 240, 0.2)
EfficientNetB2 = _variant("b2", 1.1, 1.2, 260, 0.3)
EfficientNetB3 = _variant("b3", 1.2, 1.4, 300, 0.3)
EfficientNetB4 = _variant("b4", 1.4, 1.8, 380, 0.4)
EfficientNetB5 = _variant("b5", 1.6, 2.2, 456, 0.4)
EfficientNetB6 = _variant("b6", 1.8, 2.6, 528, 0.5)
EfficientNetB7 = _variant("b7", 2.0, 3.1, 600, 0.5)


def preprocess_input(x, data_format=None):
    """The identity: EfficientNet models normalize their inputs themselves."""
    return x


decode_predictions = imagenet_utils.decode_predictions
