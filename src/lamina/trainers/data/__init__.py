"""lamina.trainers.data."""
