"""`lamina.distribution`: not implemented yet (Keras 3's `DataParallel`, `ModelParallel`,
`DeviceMesh`...).

Meanwhile train a lamina model (a `torch.nn.Module`) on several devices with torch's
`DistributedDataParallel` in your own loop. Any name asked of this module raises an
AttributeError that says so.

>>> import lamina
>>> lamina.distribution.DataParallel  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AttributeError: `lamina.distribution.DataParallel` is not implemented yet...
"""


def __getattr__(name):
    # An AttributeError (not NotImplementedError), so `hasattr` and `getattr(m, n, default)`
    # still see a missing name.
    if name.startswith("__"):
        raise AttributeError(f"module 'lamina.distribution' has no attribute {name!r}")
    raise AttributeError(
        f"`lamina.distribution.{name}` is not implemented yet: `fit` runs on one device. A "
        "lamina model is a torch.nn.Module: wrap it in "
        "`torch.nn.parallel.DistributedDataParallel` and train it in your own loop."
    )
