"""lamina.models."""
