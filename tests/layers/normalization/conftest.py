import pytest

import lamina.layers.normalization as normalization
from lamina.saving.registry import custom_object_scope


@pytest.fixture(autouse=True)
def _normalization_layers_resolvable():
    """Deserialization finds these classes by name even before `lamina.layers` re-exports
    them."""
    names = {n: getattr(normalization, n) for n in dir(normalization) if n[0].isupper()}
    with custom_object_scope(names):
        yield
