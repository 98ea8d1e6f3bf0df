"""ResNet50V2, ResNet101V2 and ResNet152V2: pre-activation ResNets (He et al., 2016)."""

from lamina.applications import _builder, imagenet_utils
from lamina.applications.resnet import ResNet, stack_residual_blocks_v2, stages


def _resnet_v2(depths, default_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=default_name):
        return ResNet(stages(stack_residual_blocks_v2, depths, 2, 1), True, True,
                      include_top=include_top, weights=weights, input_tensor=input_tensor,
                      input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation, name=name,
                      weights_name=default_name)
    return build


ResNet50V2 = _builder.named(_resnet_v2((3, 4, 6, 3), "resnet50v2"), "ResNet50V2",
                            "The 50-layer pre-activation ResNet.")
ResNet101V2 = _builder.named(_resnet_v2((3, 4, 23, 3), "resnet101v2"), "ResNet101V2",
                             "The 101-layer pre-activation ResNet.")
ResNet152V2 = _builder.named(_resnet_v2((3, 8, 36, 3), "resnet152v2"), "ResNet152V2",
                             "The 152-layer pre-activation ResNet.")


def preprocess_input(x, data_format=None):
    """RGB [0, 255] images scaled to [-1, 1] ("tf")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
