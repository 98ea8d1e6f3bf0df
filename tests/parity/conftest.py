"""Parity tests use Keras 3 (torch backend) as a black-box oracle."""

import os

import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")


@pytest.fixture
def K():
    """The keras module (the oracle), with fresh automatic names."""
    keras.backend.clear_session(free_memory=False)  # the gc pass costs ~1 s per test
    return keras
