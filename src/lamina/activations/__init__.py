"""lamina.activations."""
