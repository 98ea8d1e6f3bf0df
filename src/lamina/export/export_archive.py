"""`ExportArchive`: several inference functions of tracked layers, written together."""

import io
import os

import torch

from lamina import tree
from lamina.export import formats, tracing
from lamina.export import signature as signatures
from lamina.layers.layer import Layer
from lamina.utils import io_utils


class ExportArchive:
    """Endpoints (traced inference functions) and variable collections, written as a
    folder with one file per endpoint.

    `track` the layers or models the endpoints use, `add_endpoint` each function with its
    input signature, then `write_out`. With the default `format="torch"` each endpoint is
    `<name>.pt2`, loadable by `torch.export.load` without lamina; `"onnx"` and
    `"executorch"` write `<name>.onnx` / `<name>.pte`. Variable collections go to
    `variables.pt` (`torch.load(..., weights_only=True)` gives `{name: [tensors]}`).

    >>> import os, tempfile, torch, lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    >>> archive = ExportArchive()
    >>> archive.track(model)
    >>> serve = archive.add_endpoint(
    ...     "serve", model.call, [lamina.InputSpec(shape=(None, 3), dtype="float32")])
    >>> path = os.path.join(tempfile.mkdtemp(), "archive")
    >>> archive.write_out(path, verbose=False)
    >>> loaded = torch.export.load(os.path.join(path, "serve.pt2")).module()
    >>> tuple(loaded(torch.ones(5, 3)).shape)
    (5, 2)
    """

    def __init__(self):
        self._tracked = []
        self._endpoints = {}  # name -> (ExportedProgram, signature)
        self._variable_collections = {}

    @property
    def endpoint_names(self):
        return list(self._endpoints)

    def track(self, resource):
        """Track a layer or model (any built `torch.nn.Module`) whose weights the
        endpoints read; they become the exported programs' parameters and buffers."""
        if not isinstance(resource, torch.nn.Module):
            raise ValueError(
                "Invalid resource type. Expected a lamina Layer or Model (a torch.nn.Module)"
                f". Received: {resource!r} of type {type(resource).__name__}.")
        if isinstance(resource, Layer) and not resource.built:
            raise ValueError(
                f"The layer provided has not yet been built. It must be built before export. "
                f"Received: '{resource.name}' ({type(resource).__name__}); call it on data or "
                "`build(input_shape)` first.")
        if not any(resource is r for r in self._tracked):
            self._tracked.append(resource)

    def add_endpoint(self, name, fn, input_signature=None, **kwargs):
        """Trace `fn` on `input_signature` (one entry per positional argument; `None`
        axes stay free, the batch axis shared) and keep it as endpoint `name`.

        `kwargs` go to `torch.export.export` (`strict`, `dynamic_shapes`, ...). Returns the
        traced program as a callable module.
        """
        if name in self._endpoints:
            raise ValueError(f"Endpoint name '{name}' is already taken.")
        if not name.isidentifier():
            raise ValueError(
                f"Endpoint name {name!r} must be a Python identifier (it names a file and a "
                "method), e.g. 'serve'.")
        if input_signature is None:
            raise ValueError(
                f"You must provide an `input_signature` for endpoint '{name}', e.g. "
                "`[lamina.InputSpec(shape=(None, 784), dtype='float32')]`.")
        if not self._tracked:
            raise ValueError(
                f"No resource is tracked: call `track(model)` before adding endpoint "
                f"'{name}', so the endpoint's weights are part of the archive.")
        signature = signatures.normalize_signature(None, input_signature)
        export_kwargs = tracing.export_kwargs_for(kwargs, "torch")
        tracked = list(self._tracked)

        def retrace(max_batch_size=None):
            return tracing.trace(fn, signature, tracked, export_kwargs, name=name,
                                 max_batch_size=max_batch_size)

        program = retrace()
        self._endpoints[name] = (program, signature, retrace)
        return program.module()

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """`track(resource)`, then its inference call as endpoint `name`."""
        self.track(resource)
        fn = (tracing.model_endpoint(resource) if isinstance(resource, Layer)
              else resource.__call__)
        return self.add_endpoint(name, fn, input_signature, **kwargs)

    def add_variable_collection(self, name, variables):
        """Save `variables` (a list, tuple or set of Variables/tensors) with the archive,
        under `name` in `variables.pt`."""
        if not isinstance(variables, (list, tuple, set)):
            raise ValueError(
                "Expected `variables` to be a list/tuple/set of Variables. "
                f"Received: {variables!r} of type {type(variables).__name__}.")
        bad = [v for v in variables if not isinstance(v, torch.Tensor)]
        if bad:
            raise ValueError(
                f"Expected all elements in `variables` to be Variables or tensors. "
                f"Received: {bad[0]!r} of type {type(bad[0]).__name__}.")
        if not name.isidentifier():
            raise ValueError(f"Variable collection name {name!r} must be a Python identifier.")
        self._variable_collections[name] = list(variables)

    def write_out(self, filepath, options=None, verbose=True, format="torch"):
        """Write the archive as a folder at `filepath`: one `<endpoint>.<ext>` per
        endpoint (format `"torch"`, `"onnx"` or `"executorch"`), plus `variables.pt`."""
        if options is not None:
            raise ValueError(
                "`options` configures a TensorFlow SavedModel; lamina writes torch files and "
                f"takes none. Received: options={options!r}")
        if not self._endpoints:
            raise ValueError("No endpoints have been set yet. Call add_endpoint().")
        formats.check_format(format)
        extension = {"onnx": ".onnx", "torch": ".pt2", "executorch": ".pte"}[format]
        filepath = os.fspath(filepath)
        os.makedirs(filepath, exist_ok=True)
        for name, (program, signature, retrace) in self._endpoints.items():
            if format == "executorch":
                # NOTE: a fresh trace with a bounded batch: ExecuTorch plans memory for the
                # largest batch, and its lowering can specialize the traced program's
                # shapes, which must not leak into later writes of `program`.
                program = retrace(formats.EXECUTORCH_MAX_BATCH)
            formats.write(program, os.path.join(filepath, name + extension), format,
                          signature=signature)
        if self._variable_collections:
            buffer = io.BytesIO()
            torch.save({name: [v.detach().clone().as_subclass(torch.Tensor) for v in collection]
                        for name, collection in self._variable_collections.items()}, buffer)
            formats.write_bytes(os.path.join(filepath, "variables.pt"), buffer.getvalue())
        if verbose:
            lines = [f"Saved artifact at '{filepath}'. The following endpoints are available:"]
            for name, (_, signature, _) in self._endpoints.items():
                specs = ", ".join(f"{s.shape} {s.dtype}" for s in tree.flatten(signature))
                lines.append(f"* Endpoint '{name}{extension}': inputs {specs}")
            io_utils.print_msg("\n".join(lines))
