"""`no_host_reads()`: fail on any tensor -> Python conversion (a host-device sync)."""

import contextlib

import torch


@contextlib.contextmanager
def no_host_reads():
    """Within the block, `item()`, `bool()`, `float()`, `int()` and `tolist()` of a tensor
    raise, so a test can show that a step never waits for the device."""
    def refuse(*args, **kwargs):
        raise AssertionError("host read of a tensor during the step")

    patched = {name: getattr(torch.Tensor, name)
               for name in ("item", "__bool__", "__float__", "__int__", "tolist")}
    for name in patched:
        setattr(torch.Tensor, name, refuse)
    try:
        yield
    finally:
        for name, method in patched.items():
            setattr(torch.Tensor, name, method)
