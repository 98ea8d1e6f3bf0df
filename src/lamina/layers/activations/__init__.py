"""Activation layers."""

from lamina.layers.activations.activation import Activation as Activation
