"""lamina.datasets."""
