"""lamina.metrics."""
