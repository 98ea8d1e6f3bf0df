"""lamina.optimizers.schedules."""
