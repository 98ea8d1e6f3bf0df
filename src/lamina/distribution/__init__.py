"""lamina.distribution."""
