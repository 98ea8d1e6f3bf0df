"""lamina.mixed_precision."""
