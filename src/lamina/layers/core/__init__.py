"""lamina.layers.core."""
