"""VGG19: VGG16 with four convolutions in each of the last three blocks."""

from lamina.applications.vgg16 import decode_predictions, preprocess_input, vgg


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """VGG19: 16 3x3 convolutions in five blocks, then three dense layers."""
    return vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation, name)


__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
