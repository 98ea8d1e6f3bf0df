"""lamina.constraints."""
