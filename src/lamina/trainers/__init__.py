"""lamina.trainers."""
