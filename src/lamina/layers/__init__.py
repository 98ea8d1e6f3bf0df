"""`lamina.layers`: every layer, as `keras.layers`."""

from lamina.layers.activations import Activation as Activation
from lamina.layers.core import Dense as Dense
from lamina.layers.core import EinsumDense as EinsumDense
from lamina.layers.core import Identity as Identity
from lamina.layers.core import Lambda as Lambda
from lamina.layers.input_layer import Input as Input
from lamina.layers.input_layer import InputLayer as InputLayer
from lamina.layers.input_spec import InputSpec as InputSpec
from lamina.layers.layer import Layer as Layer
from lamina.layers.regularization import Dropout as Dropout
from lamina.layers.reshaping import Flatten as Flatten
from lamina.layers.reshaping import Permute as Permute
from lamina.layers.reshaping import RepeatVector as RepeatVector
from lamina.layers.reshaping import Reshape as Reshape
from lamina.layers.torch_module_wrapper import TorchModuleWrapper as TorchModuleWrapper
