import pytest

from lamina.saving.registry import CustomObjectScope
from lamina.testing import run_layer_test


@pytest.fixture
def layer_test():
    """`run_layer_test`, with the class resolvable by name for the JSON config round trip
    (whether or not `lamina.layers` re-exports it yet)."""

    def run(cls, init_kwargs, **kwargs):
        with CustomObjectScope({cls.__name__: cls}):
            return run_layer_test(cls, init_kwargs, **kwargs)

    return run
