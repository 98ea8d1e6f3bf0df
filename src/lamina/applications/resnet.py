"""ResNet50, ResNet101 and ResNet152 (He et al., 2015), the layouts of Keras' ImageNet
weights; `resnet_v2` builds the pre-activation variants on the same stem.

Example: `ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)`
has output shape `(None, 10)`.
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# (with the classifier, without it): the md5 of each published file.
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_EPSILON = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=_builder.channel_axis(), epsilon=_EPSILON, name=name)


def ResNet(stack_fn, preact, use_bias, include_top=True, weights="imagenet",
           input_tensor=None, input_shape=None, pooling=None, classes=1000,
           classifier_activation="softmax", name="resnet", weights_name=None):
    """A ResNet whose stages `stack_fn(x)` builds; `preact` selects the V2 layout."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(image)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = _builder.classifier(x, include_top, pooling, classes, classifier_activation, weights,
                            ("avg_pool", "max_pool"))
    imagenet_file = None
    if weights_name in WEIGHTS_HASHES:
        suffix = "" if include_top else "_notop"
        file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
        imagenet_file = (BASE_WEIGHTS_PATH + file_name,
                         WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def residual_block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """A bottleneck block (1x1, kxk, 1x1 convolutions) with batch norm after each."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    convs = ((filters, 1, stride), (filters, kernel_size, 1), (4 * filters, 1, 1))
    for i, (width, size, step) in enumerate(convs, start=1):
        x = layers.Conv2D(width, size, strides=step, padding="same" if i == 2 else "valid",
                          name=f"{name}_{i}_conv")(x)
        x = _bn(f"{name}_{i}_bn")(x)
        if i < 3:
            x = layers.Activation("relu", name=f"{name}_{i}_relu")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` V1 blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """A pre-activation bottleneck block (batch norm and ReLU before the convolutions)."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride,
                                 name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` V2 blocks; the first projects the shortcut, the last strides."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def stages(stack, depths, first_stride, last_stride):
    """`stack_fn` for four stages of widths 64..512 with `depths` blocks each."""
    def stack_fn(x):
        for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths)):
            stride = first_stride if stage == 0 else last_stride if stage == 3 else 2
            x = stack(x, filters, blocks, stride1=stride, name=f"conv{stage + 2}")
        return x
    return stack_fn


def variant(public_name, key, depths, preact):
    """The public constructor of one ResNet: V1 (`preact=False`, the first stage keeps the
    resolution) or V2 (pre-activation, the last stage keeps it)."""
    stack = stack_residual_blocks_v2 if preact else stack_residual_blocks_v1
    strides = (2, 1) if preact else (1, 2)

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=key):
        return ResNet(stages(stack, depths, *strides), preact, True, include_top=include_top,
                      weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                      pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation, name=name,
                      weights_name=key)
    kind = "pre-activation ResNet" if preact else "ResNet"
    return _builder.named(build, public_name, f"{public_name}: a {kind} of "
                          f"{', '.join(map(str, depths))} bottleneck blocks per stage.")


ResNet50 = variant("ResNet50", "resnet50", (3, 4, 6, 3), preact=False)
ResNet101 = variant("ResNet101", "resnet101", (3, 4, 23, 3), preact=False)
ResNet152 = variant("ResNet152", "resnet152", (3, 8, 36, 3), preact=False)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images to BGR with ImageNet's channel means subtracted ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
