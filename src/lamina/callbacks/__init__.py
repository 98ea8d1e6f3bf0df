"""lamina.callbacks."""
