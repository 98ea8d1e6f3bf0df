"""Tracing a function of lamina layers into a `torch.export.ExportedProgram`.

Every format starts here: the `.pt2` file is this program, the ONNX and ExecuTorch
files are lowered from it. Tracing runs in inference mode (training flag False, modules
in eval mode), on sample tensors whose free dimensions are traced symbolically.
"""

import contextlib
import inspect
import io
import logging
import re
import sys
import warnings

import torch
from torch.fx.experimental.symbolic_shapes import is_concrete_int

from lamina.backend.context import training_scope
from lamina.export import signature as signatures
from lamina.layers.layer import Layer


class _Endpoint(torch.nn.Module):
    """`fn(*args)` as a module that owns the tracked `resources`, so their weights are
    the program's parameters and buffers (not constants folded into its graph)."""

    def __init__(self, fn, resources):
        super().__init__()
        self.resources = torch.nn.ModuleList(resources)
        self.__dict__["fn"] = fn

    def forward(self, *args):
        return self.fn(*args)


def model_endpoint(model):
    """The function a model's artifact serves: its inference call."""
    def serve(*args):
        return model(*args, training=False)

    return serve


def export_kwargs_for(kwargs, format):
    """The `torch.export.export` options among `kwargs`; anything else is an error."""
    supported = set(inspect.signature(torch.export.export).parameters) - {"mod", "args",
                                                                          "kwargs"}
    unknown = sorted(set(kwargs) - supported)
    if unknown:
        raise ValueError(
            f"Unsupported arguments for `format={format!r}`: {', '.join(unknown)}. "
            f"Supported arguments are: {', '.join(sorted(supported))}.")
    return dict(kwargs)


def trace(fn, signature, resources, export_kwargs=None, name="serve", max_batch_size=None):
    """`fn` traced on `signature` as an ExportedProgram with a dynamic batch axis (at most
    `max_batch_size` when given: ExecuTorch plans memory for the largest batch).

    `resources`: the torch modules whose weights `fn` reads. A failure inside a layer
    is re-raised as a RuntimeError that names that layer.
    """
    export_kwargs = dict(export_kwargs or {})
    if max_batch_size is not None and max_batch_size < 2:
        # NOTE: torch.export cannot keep a dynamic dim below 2: a batch of one is static.
        signature = signatures.with_batch_size(signature, max_batch_size)
    args = signatures.sample_arguments(signature)
    if "dynamic_shapes" in export_kwargs:
        given = export_kwargs["dynamic_shapes"]
        if len(args) == 1 and not (isinstance(given, (list, tuple)) and len(given) == 1):
            given = (given,)
        export_kwargs["dynamic_shapes"] = (tuple(given),)
    else:
        export_kwargs["dynamic_shapes"] = signatures.dynamic_shapes(
            signature, torch.export.Dim("batch", max=max_batch_size))
    module = _Endpoint(fn, resources)
    with _inference_mode(resources), quiet_torch_exporter(), _without_graph_dumps():
        try:
            program = torch.export.export(module, args, **export_kwargs)
        except Exception as error:  # noqa: BLE001 - re-raised with the layer that failed
            raise RuntimeError(_failure_message(error, name)) from error
    _check_free_dims_stayed_free(program, signature, name)
    _make_state_contiguous(program)
    # NOTE: the graph records module paths; a later conversion error names layers by them.
    program.__dict__["_lamina_layer_names"] = {
        f"resources.{i}.{path}".rstrip("."): module.name
        for i, resource in enumerate(resources)
        for path, module in resource.named_modules() if isinstance(module, Layer)}
    return program


def _make_state_contiguous(program):
    """Contiguous copies of weights kept as transposed views (lamina keeps some in torch's
    layout behind Keras' shape): the `.pt2` writer stores whole storages only."""
    for key, value in list(program.state_dict.items()):
        if not value.is_contiguous():
            data = value.detach().contiguous()
            program.state_dict[key] = (torch.nn.Parameter(data, value.requires_grad)
                                       if isinstance(value, torch.nn.Parameter) else data)


class _DropNotices(logging.Filter):
    def __init__(self, prefixes):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record):
        return not record.getMessage().startswith(self.prefixes)


# Log records from torch's export stack about its own installation, not the user's model.
_NOTICES = {
    # torch.onnx's op registry, once per torchvision op, when torchvision is not installed
    # (lamina emits no torchvision ops).
    "torch.onnx._internal.exporter._registration": ("torchvision is not installed",),
    # ExecuTorch imports torchao, whose optional CUDA/mxfp8 kernels do not load on CPU
    # builds, and which registers an Enum as a pytree constant (deprecated in torch 2.13).
    "torchao": ("Failed to load",),
    "torch.utils._pytree": ("<enum 'KernelPreference'>",),
}


@contextlib.contextmanager
def quiet_torch_exporter():
    """Silence notices about torch's own internals around every export step (tracing, ONNX
    conversion, ExecuTorch lowering), so users see only those about their model.

    torch 2.13 keeps pytree leaves as instances of its deprecated `LeafSpec` class, and
    `ExportedProgram.run_decompositions` (which `torch.onnx.export` and ExecuTorch's
    lowering call) deep-copies the module call graph: each copied leaf is re-created
    through `LeafSpec.__new__`, which warns (a FutureWarning attributed to `copyreg`). No
    argument avoids that copy, so the warning is filtered here, by its message, only while
    lamina runs the exporters. The log records in `_NOTICES` are dropped the same way.
    """
    filters = [(logging.getLogger(name), _DropNotices(prefixes))
               for name, prefixes in _NOTICES.items()]
    for logger, notice in filters:
        logger.addFilter(notice)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
            yield
    finally:
        for logger, notice in filters:
            logger.removeFilter(notice)


@contextlib.contextmanager
def _without_graph_dumps():
    """torch.export prints the partial graph of a data-dependent failure to stderr (once
    per nested wrapper) before raising; lamina's error names the layer instead, and the
    graph stays on torch's error (`error.__cause__.partial_fx_graph`). Anything else
    written to stderr meanwhile is passed on."""
    captured = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stderr(captured):
            yield
    except BaseException as raised:
        error = raised
        raise
    finally:
        text = captured.getvalue()
        cause = getattr(error, "__cause__", None)
        graph = getattr(cause, "partial_fx_graph", None)
        if graph:
            text = text.replace(str(graph) + "\n", "")
        if text:
            sys.stderr.write(text)


@contextlib.contextmanager
def _inference_mode(resources):
    # NOTE: the ContextVar sets the flag for non-strict tracing; strict tracing (Dynamo)
    # reads module mode instead, so both are set and module mode is restored after.
    modes = [(m, m.training) for r in resources for m in r.modules()]
    for module, _ in modes:
        module.training = False
    try:
        with training_scope(False):
            yield
    finally:
        for module, mode in modes:
            module.training = mode


def _failing_layer(error):
    """The innermost lamina layer whose code was running when `error` was raised."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, Layer):
            found = candidate
        tb = tb.tb_next
    return found


def _failure_message(error, name):
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = f"{type(error).__name__}: {first_line}"
    layer = _failing_layer(error)
    where = (f"in layer '{layer.name}' ({type(layer).__name__})" if layer is not None
             else f"in endpoint '{name}'")
    message = f"Could not export {where}: torch.export cannot trace it. {reason}"
    if "datadependent" in (type(error).__name__ + str(error)).lower().replace("-", ""):
        message += (
            "\nExporting needs tensor code with no Python decisions on tensor values (no "
            "`.item()`, `.numpy()`, `if tensor:`), no string tensors and no host-side "
            "preprocessing. Move such steps out of the model (run them before calling the "
            "exported artifact), or rewrite them with `lamina.ops` (e.g. `ops.where`).")
    return message


def conversion_failure(error, program, target):
    """The message for a failure converting `program` to `target` (e.g. an op that
    format has no translation for), naming the lamina layer that used the op."""
    chain, cause = [], error
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = "\n".join(str(e) for e in chain)
    ops = re.findall(r"aten\.(\w+?)\.\w+['>]|ops\.aten\.(\w+)\.", text)
    failing = next((a or b for a, b in ops), None)
    summary = next((line.strip() for e in chain[1:] + chain[:1]
                    for line in str(e).splitlines() if line.strip()), type(error).__name__)
    where = ""
    if failing is not None:
        layer = _layer_using(program, failing)
        where = f" in layer {layer}" if layer else ""
        summary = f"no {target} translation for the op aten.{failing}"
    return (f"Could not convert the traced model to {target}{where}: {summary}. The "
            "`format='torch'` export keeps every op; for this format, replace the op "
            "in that layer's `call`.")


def _layer_using(program, op_name):
    """`'name' (Class)` of the innermost lamina layer whose call emitted `op_name` (ops may be
    decomposed on the way: `linalg_cholesky` becomes `linalg_cholesky_ex`)."""
    for node in program.graph.nodes:
        base = getattr(node.target, "__name__", "").split(".")[0]
        if node.op != "call_function" or not base:
            continue
        if op_name == base or op_name.startswith(base + "_") or base.startswith(op_name):
            names = program.__dict__.get("_lamina_layer_names", {})
            stack = node.meta.get("nn_module_stack") or {}
            for path, type_name in reversed(list(stack.values())):
                if path in names:
                    kind = type_name if isinstance(type_name, str) else type_name.__qualname__
                    return f"'{names[path]}' ({kind.rsplit('.', 1)[-1]})"
    return None


def _check_free_dims_stayed_free(program, signature, name):
    """A free (`None`) axis the model fixes while tracing would give an artifact that
    accepts only the trace size; say so instead of writing it."""
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
    user_inputs = placeholders[len(placeholders) - len(program.graph_signature.user_inputs):]
    specs = signatures.program_order(signature)
    for spec, node in zip(specs, user_inputs):
        shape = node.meta["val"].shape
        for axis, size in enumerate(spec.shape):
            if size is None and is_concrete_int(shape[axis]):
                label = "batch axis" if axis == 0 else f"axis {axis}"
                raise ValueError(
                    f"Endpoint '{name}': the {label} of input '{spec.name or node.name}' "
                    f"(shape {spec.shape}) is free in the input signature, but the model's "
                    f"code fixes it (it traced as {shape[axis]}). Pass an "
                    "`input_signature` with that axis set, e.g. "
                    f"`InputSpec(shape={_fixed(spec.shape, axis)}, dtype='{spec.dtype}')`.")


def _fixed(shape, axis):
    return tuple(16 if (i == axis and d is None) else d for i, d in enumerate(shape))
