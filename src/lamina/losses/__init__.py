"""lamina.losses."""
