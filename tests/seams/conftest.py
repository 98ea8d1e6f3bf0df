"""Seam tests: each test is one small Keras program run on lamina and on Keras 3."""

import os

import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("keras")
