"""Runnable examples: `python -m lamina.examples.quickstart`."""
