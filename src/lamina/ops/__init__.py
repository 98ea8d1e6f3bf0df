"""lamina.ops."""
