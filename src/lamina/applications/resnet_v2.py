"""ResNet50V2, ResNet101V2 and ResNet152V2: pre-activation ResNets (He et al., 2016)."""

from lamina.applications import imagenet_utils
from lamina.applications.resnet import variant

ResNet50V2 = variant("ResNet50V2", "resnet50v2", (3, 4, 6, 3), preact=True)
ResNet101V2 = variant("ResNet101V2", "resnet101v2", (3, 4, 23, 3), preact=True)
ResNet152V2 = variant("ResNet152V2", "resnet152v2", (3, 8, 36, 3), preact=True)


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
