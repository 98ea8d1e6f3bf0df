import contextlib
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


# Every way a tensor's value reaches the host (and so waits for the device).
_HOST_READS = ("item", "__bool__", "__float__", "__int__", "tolist", "numpy", "cpu")


@contextlib.contextmanager
def _refusing_host_reads():
    def refuse(*args, **kwargs):
        raise AssertionError("host read of a tensor during the step")

    originals = {name: getattr(torch.Tensor, name) for name in _HOST_READS}
    for name in originals:
        setattr(torch.Tensor, name, refuse)
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)


@pytest.fixture
def no_host_reads():
    """`with no_host_reads(): ...`: within the block, reading a tensor's value on the host
    (`item()`, `bool()`, `float()`, `int()`, `tolist()`, `numpy()`, `cpu()`) raises, so a
    test can show that a step never waits for the device."""
    return _refusing_host_reads


def pytest_ignore_collect(collection_path):
    """conftest.py files hold fixtures, not doctests. NOTE: `--doctest-modules` would import
    each one again as a module named "conftest" (pytest's prepend mode), which clashes with
    the conftest.py of another folder loaded before it."""
    if collection_path.name == "conftest.py":
        return True
    return None
