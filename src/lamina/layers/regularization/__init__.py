"""Regularization layers."""

from lamina.layers.regularization.dropout import Dropout as Dropout
