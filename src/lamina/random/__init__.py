"""lamina.random."""
