"""Pooling layers: windowed, global and adaptive max/average pooling."""

from lamina.layers.pooling.adaptive_pooling import (
    AdaptiveAveragePooling1D as AdaptiveAveragePooling1D,
)
from lamina.layers.pooling.adaptive_pooling import (
    AdaptiveAveragePooling2D as AdaptiveAveragePooling2D,
)
from lamina.layers.pooling.adaptive_pooling import (
    AdaptiveAveragePooling3D as AdaptiveAveragePooling3D,
)
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
from lamina.layers.pooling.average_pooling import AveragePooling1D as AveragePooling1D
from lamina.layers.pooling.average_pooling import AveragePooling2D as AveragePooling2D
from lamina.layers.pooling.average_pooling import AveragePooling3D as AveragePooling3D
from lamina.layers.pooling.average_pooling import AvgPool1D as AvgPool1D
from lamina.layers.pooling.average_pooling import AvgPool2D as AvgPool2D
from lamina.layers.pooling.average_pooling import AvgPool3D as AvgPool3D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling1D as GlobalAveragePooling1D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling3D as GlobalAveragePooling3D
from lamina.layers.pooling.global_pooling import GlobalAvgPool1D as GlobalAvgPool1D
from lamina.layers.pooling.global_pooling import GlobalAvgPool2D as GlobalAvgPool2D
from lamina.layers.pooling.global_pooling import GlobalAvgPool3D as GlobalAvgPool3D
from lamina.layers.pooling.global_pooling import GlobalMaxPool1D as GlobalMaxPool1D
from lamina.layers.pooling.global_pooling import GlobalMaxPool2D as GlobalMaxPool2D
from lamina.layers.pooling.global_pooling import GlobalMaxPool3D as GlobalMaxPool3D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling1D as GlobalMaxPooling1D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling2D as GlobalMaxPooling2D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling3D as GlobalMaxPooling3D
from lamina.layers.pooling.max_pooling import MaxPool1D as MaxPool1D
from lamina.layers.pooling.max_pooling import MaxPool2D as MaxPool2D
from lamina.layers.pooling.max_pooling import MaxPool3D as MaxPool3D
from lamina.layers.pooling.max_pooling import MaxPooling1D as MaxPooling1D
from lamina.layers.pooling.max_pooling import MaxPooling2D as MaxPooling2D
from lamina.layers.pooling.max_pooling import MaxPooling3D as MaxPooling3D
