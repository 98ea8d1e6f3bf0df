"""DenseNet121, DenseNet169 and DenseNet201 (Huang et al., 2016): every layer of a dense
block sees the concatenated features of all layers before it.

Example: `DenseNet121(weights=None, input_shape=(32, 32, 3), classes=10)`
has output shape `(None, 10)`.
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

BASE_WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                     "densenet/")
# md5 of each published file, by blocks per dense block: (with the classifier, without).
WEIGHTS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                      "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b",
                      "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                      "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
_EPSILON = 1.001e-5


def _bn_relu(x, name):
    x = layers.BatchNormalization(axis=_builder.channel_axis(), epsilon=_EPSILON,
                                  name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x, growth_rate, name):
    """One layer of a dense block: its `growth_rate` new channels appended to `x`."""
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                      name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=_builder.channel_axis(), name=f"{name}_concat")([x, y])


def dense_block(x, blocks, name):
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """Shrink the channels by `reduction` and halve the spatial size."""
    x = _bn_relu(x, name)
    channels = int(x.shape[_builder.channel_axis()] * reduction)
    x = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
             name="densenet"):
    """A DenseNet with `blocks[i]` layers in dense block `i + 1`."""
    if config.image_data_format() == "channels_first":
        raise ValueError("DenseNet does not support the `channels_first` image data format. "
                         "Switch to `channels_last` by editing your local config file at "
                         "~/.keras/keras.json")
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(image)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=_builder.channel_axis(), epsilon=_EPSILON,
                                  name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _builder.classifier(x, include_top, pooling, classes, classifier_activation, weights,
                            ("avg_pool", "max_pool"))
    imagenet_file = None
    if weights == "imagenet":
        if tuple(blocks) not in WEIGHTS:
            raise ValueError(f"Keras publishes no ImageNet weights for a DenseNet with blocks "
                             f"{list(blocks)}: pass `weights=None` or a weights file.")
        stem, top_hash, notop_hash = WEIGHTS[tuple(blocks)]
        file_name = f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
        imagenet_file = (BASE_WEIGHTS_PATH + file_name, top_hash if include_top else notop_hash)
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def _variant(blocks, default_name, public_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=default_name):
        return DenseNet(list(blocks), include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, name=name)
    return _builder.named(build, public_name,
                          f"{public_name}: dense blocks of {', '.join(map(str, blocks))} layers.")


DenseNet121 = _variant((6, 12, 24, 16), "densenet121", "DenseNet121")
DenseNet169 = _variant((6, 12, 32, 32), "densenet169", "DenseNet169")
DenseNet201 = _variant((6, 12, 48, 32), "densenet201", "DenseNet201")


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [0, 1], then normalized by ImageNet's channel mean and
    standard deviation ("torch")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions
