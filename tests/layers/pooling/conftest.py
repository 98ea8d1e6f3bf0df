import pytest

import lamina.layers.pooling as pooling
from lamina.saving.registry import custom_object_scope


@pytest.fixture(autouse=True)
def _pooling_layers_resolvable():
    """Deserialization finds these classes by name even before `lamina.layers` re-exports
    them."""
    names = {n: getattr(pooling, n) for n in dir(pooling) if n[0].isupper()}
    with custom_object_scope(names):
        yield
