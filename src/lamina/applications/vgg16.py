"""VGG16 (Simonyan & Zisserman, 2014); `vgg19` reuses its builder with four convolutions in
the last three blocks.

>>> model = VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
>>> model.output_shape
(None, 1, 1, 512)
"""

from lamina import layers
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/"
# md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
}


def vgg(convs_per_block, weights_name, include_top, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name):
    """A VGG with `convs_per_block[i]` 3x3 convolutions in block `i + 1`."""
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=config.image_data_format(),
        require_flatten=include_top, weights=weights)
    image = _builder.image_input(input_tensor, input_shape)
    x = image
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block),
                                             start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _builder.pool(x, pooling)
    suffix = "" if include_top else "_notop"
    file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    imagenet_file = (f"{BASE_WEIGHTS_PATH}{weights_name}/{file_name}",
                     WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """VGG16: 13 3x3 convolutions in five blocks, then three dense layers."""
    return vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images to BGR with ImageNet's channel means subtracted ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
