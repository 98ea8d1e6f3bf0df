"""lamina.export."""
