"""lamina.saving."""
