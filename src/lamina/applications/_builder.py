"""What every application shares: argument checks, the image input, the pooling/classifier
head, and fetching Keras' published weight files.

Weights are downloaded from the URL Keras 3 uses, checked against Keras' hash, into the
`models` cache folder (`~/.keras/models`), so a file Keras downloaded is reused here.
`LAMINA_APPLICATIONS_ORIGIN` (an environment variable, read on every download) replaces
the folder part of each URL: set to `http://127.0.0.1:8000/w`, `vgg16_weights.h5` comes
from `http://127.0.0.1:8000/w/vgg16_weights.h5`. It is meant for mirrors and tests; file
names and hashes stay Keras'.
"""

import os

from lamina import activations, layers
from lamina.backend import config
from lamina.backend.symbolic import is_keras_tensor
from lamina.models.functional import Functional
from lamina.utils.download_utils import get_file
from lamina.utils.operation_utils import get_source_inputs

ORIGIN_ENV = "LAMINA_APPLICATIONS_ORIGIN"


def fetch(url, file_hash=None, fname=None):
    """`get_file` for one of Keras' published files (cached as `fname`, by default the
    remote name); returns the cached path."""
    folder, name = url.rsplit("/", 1)
    override = os.environ.get(ORIGIN_ENV)
    if override:
        folder = override.rstrip("/")
    return get_file(fname or name, f"{folder}/{name}", cache_subdir="models",
                    file_hash=file_hash)


def check_weights(weights, include_top, classes):
    """Keras' checks of `weights` and `classes`, before anything is built."""
    is_file = isinstance(weights, (str, os.PathLike)) and os.path.exists(weights)
    if not (weights in {"imagenet", None} or is_file):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the "
                         f"path to the weights file to be loaded.  Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` "
                         f"should be 1000.  Received classes={classes}")


def channel_axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def image_input(input_tensor, input_shape):
    """The model's input: a new `Input`, or the caller's `input_tensor`."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def pool(x, pooling, avg_name=None, max_name=None):
    """The feature head of `include_top=False`: none, global average or global max."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


ACTIVATION_ERROR = ("Only `None` and `softmax` activations are allowed for the "
                    "`classifier_activation` argument when using pretrained weights, with "
                    "`include_top=True`; Received: classifier_activation={}")


def check_activation(classifier_activation, weights):
    """Pretrained classifiers end in softmax or nothing: refuse any other activation."""
    if weights is not None and activations.get(classifier_activation) not in {
            activations.get("softmax"), activations.get(None)}:
        raise ValueError(ACTIVATION_ERROR.format(classifier_activation))


def classifier(x, include_top, pooling, classes, classifier_activation, weights,
               pool_names=(None, None)):
    """The usual head: average pool and a dense `predictions` layer, or with
    `include_top=False` the `pooling` of features (`pool_names`: its layer names)."""
    if not include_top:
        return pool(x, pooling, *pool_names)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    check_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def build(input_tensor, image, outputs, name, weights, imagenet_file=None):
    """The finished `Functional`, with `weights` loaded.

    Args:
        input_tensor: the caller's `input_tensor` (None when the model made its input).
        image: the model's own input (used when `input_tensor` is None).
        outputs: the model's output tensor.
        name: the model's name.
        weights: `"imagenet"`, None, or a path to a weights file.
        imagenet_file: `(url, file_hash[, cached name])` of the published file for this
            configuration (None when Keras publishes none: ImageNet weights then stay unloaded).
    """
    inputs = get_source_inputs(input_tensor) if input_tensor is not None else image
    model = Functional(inputs, outputs, name=name)
    if weights == "imagenet":
        if imagenet_file is not None:
            model.load_weights(fetch(*imagenet_file))
    elif weights is not None:
        model.load_weights(weights)
    return model


def named(function, name, doc):
    """`function` under its public name (the architectures are made by factories)."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function
