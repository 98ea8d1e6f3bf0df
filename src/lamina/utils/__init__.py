"""lamina.utils."""
