"""`lamina.testing`: shared test helpers (Keras' layer-test harness)."""

from lamina.testing.layer_test import run_layer_test as run_layer_test
