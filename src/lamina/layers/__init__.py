"""lamina.layers."""
