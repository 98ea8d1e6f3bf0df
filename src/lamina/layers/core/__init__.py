"""Core layers."""

from lamina.layers.core.dense import Dense as Dense
from lamina.layers.core.einsum_dense import EinsumDense as EinsumDense
from lamina.layers.core.identity import Identity as Identity
from lamina.layers.core.lambda_layer import Lambda as Lambda
