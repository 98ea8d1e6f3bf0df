"""lamina.initializers."""
