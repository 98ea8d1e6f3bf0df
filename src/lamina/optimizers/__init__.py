"""lamina.optimizers."""
