"""`keras.applications.resnet50`: ResNet50 with its preprocessing, as in `resnet`."""

from lamina.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
