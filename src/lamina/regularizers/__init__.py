"""lamina.regularizers."""
