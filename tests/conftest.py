import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_names_and_seed():
    """Each test starts with fresh automatic names and a fixed seed."""
    from lamina.backend import naming

    naming.reset_uids()
    torch.manual_seed(0)
    np.random.seed(0)
    yield
