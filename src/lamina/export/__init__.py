"""`lamina.export`: not implemented yet (Keras 3's `ExportArchive`, `export_saved_model`).

Meanwhile a lamina model is a `torch.nn.Module`: export it with torch. Any name asked of
this module raises an AttributeError that says so.

>>> import lamina
>>> lamina.export.ExportArchive  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AttributeError: `lamina.export.ExportArchive` is not implemented yet...
"""


def __getattr__(name):
    # An AttributeError (not NotImplementedError), so `hasattr` and `getattr(m, n, default)`
    # still see a missing name.
    if name.startswith("__"):
        raise AttributeError(f"module 'lamina.export' has no attribute {name!r}")
    raise AttributeError(
        f"`lamina.export.{name}` is not implemented yet. A lamina model is a "
        "torch.nn.Module: export it with `torch.export.export(model, (x,))` or "
        "`torch.onnx.export(model, (x,), dynamo=True)`."
    )
