"""ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022): a ResNet modernized
with 7x7 depthwise convolutions, layer norm and GELU; the models normalize [0, 255]
inputs themselves.

Example: `ConvNeXtTiny(weights=None, input_shape=(32, 32, 3), classes=10)`
has output shape `(None, 10)`.
"""

import numpy as np

from lamina import initializers, layers, ops, random
from lamina.applications import _builder, imagenet_utils
from lamina.backend import config
from lamina.models.sequential import Sequential

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
# sha256 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768],
             "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768],
              "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024],
             "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536],
              "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}
_EPSILON = 1e-6


class StochasticDepth(layers.Layer):
    """Drops whole samples of a residual branch at `drop_path_rate` while training.

    >>> import torch
    >>> StochasticDepth(0.5)(torch.ones(2, 3)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + random.uniform(shape, 0, 1, dtype=x.dtype))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(layers.Layer):
    """Scales each channel by a learned factor that starts at `init_values`.

    >>> import torch
    >>> LayerScale(0.5, 2)(torch.ones(1, 2)).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)

    def call(self, x):
        return x * self.gamma

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6,
                  name=None):
    """A function applying one ConvNeXt block (depthwise 7x7, norm, MLP, residual)."""
    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same",
                          groups=projection_dim, name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim,
                           name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            drop = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            drop = layers.Activation("linear", name=f"{name}_identity")
        return inputs + drop(x)
    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
             default_size=224, name="convnext", include_preprocessing=True,
             include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax",
             weights_name=None):
    """A ConvNeXt with `depths[i]` blocks of width `projection_dims[i]` in stage `i`."""
    if config.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. "
                         "Switch to `channels_last` by editing your local config file at "
                         "~/.keras/keras.json")
    _builder.check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32,
        data_format=config.image_data_format(), require_flatten=include_top,
        weights=weights)
    if weights == "imagenet":
        expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
        if (list(depths) != expected["depths"]
                or list(projection_dims) != expected["projection_dims"]):
            raise ValueError(f"Architecture configuration does not match {weights_name} "
                             "variant: with pre-trained weights the architecture must match "
                             f"exactly. Expected depths: {expected['depths']}, got: "
                             f"{depths}. Expected projection_dims: "
                             f"{expected['projection_dims']}, got: {projection_dims}.")
    image = _builder.image_input(input_tensor, input_shape)
    x = image
    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=f"{name}_prestem_normalization")(x)
    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")
    downsampling = [stem] + [Sequential([
        layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_downsampling_layernorm_{i}"),
        layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                      name=f"{name}_downsampling_conv_{i}"),
    ], name=f"{name}_downsampling_block_{i}") for i in range(3)]
    drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    done = 0
    for stage, (count, width) in enumerate(zip(depths, projection_dims)):
        x = downsampling[stage](x)
        for j in range(count):
            x = ConvNeXtBlock(width, drop_rates[done + j], layer_scale_init_value,
                              name=f"{name}_stage_{stage}_block_{j}")(x)
        done += count
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation,
                         name=f"{name}_head_dense")(x)
    else:
        x = _builder.pool(x, pooling)
        x = layers.LayerNormalization(epsilon=_EPSILON)(x)
    imagenet_file = None
    if weights_name in WEIGHTS_HASHES:
        file_name = f"{weights_name}{'' if include_top else '_notop'}.h5"
        imagenet_file = (BASE_WEIGHTS_PATH + file_name,
                         WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _builder.build(input_tensor, image, x, name, weights, imagenet_file)


def _variant(size, public_name):
    settings = MODEL_CONFIGS[size]

    def build(include_top=True, include_preprocessing=True, weights="imagenet",
              input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=f"convnext_{size}"):
        return ConvNeXt(settings["depths"], settings["projection_dims"], drop_path_rate=0.0,
                        layer_scale_init_value=1e-6, default_size=settings["default_size"],
                        name=name, include_preprocessing=include_preprocessing,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation,
                        weights_name=f"convnext_{size}")
    return _builder.named(build, public_name,
                          f"{public_name}: stages of {settings['depths']} blocks, widths "
                          f"{settings['projection_dims']}.")


ConvNeXtTiny = _variant("tiny", "ConvNeXtTiny")
ConvNeXtSmall = _variant("small", "ConvNeXtSmall")
ConvNeXtBase = _variant("base", "ConvNeXtBase")
ConvNeXtLarge = _variant("large", "ConvNeXtLarge")
ConvNeXtXLarge = _variant("xlarge", "ConvNeXtXLarge")


def preprocess_input(x, data_format=None):
    """The identity: ConvNeXt models normalize their inputs themselves."""
    return x


decode_predictions = imagenet_utils.decode_predictions
