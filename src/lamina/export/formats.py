"""Writing an ExportedProgram in each format, and `Model.export`.

| format | file | runs in |
|---|---|---|
| `"onnx"` | `.onnx` (torch.onnx, dynamo exporter) | onnxruntime (Python, C++, web, mobile) |
| `"torch"` | `.pt2` (`torch.export.save`) | `torch.export.load(path).module()`, no lamina needed |
| `"executorch"` | `.pte` (XNNPACK delegate by default) | the ExecuTorch runtime |
"""

import io
import os
import re
import warnings

import torch

from lamina import tree
from lamina.export import signature as signatures
from lamina.export import tracing
from lamina.utils import io_utils
from lamina.utils.file_utils import atomic_path

FORMATS = ("onnx", "torch", "executorch")

# NOTE: Keras' formats that go through TensorFlow (or OpenVINO): the error says what to
# use instead, since lamina has no TensorFlow engine to write them with.
_ELSEWHERE = {
    "tf_saved_model": (
        "a TensorFlow SavedModel needs TensorFlow, and lamina runs on PyTorch only. Use "
        "format='onnx' (onnxruntime serves it, and TensorFlow Serving-style servers such as "
        "Triton take it) or format='torch' (.pt2); or save the model as `.keras` and export "
        "it with Keras 3 on the TensorFlow backend."),
    "litert": (
        "LiteRT (TFLite) files are written by TensorFlow or `litert_torch`, which lamina "
        "does not use. For phones and embedded devices use format='executorch' (.pte), or "
        "format='onnx' with onnxruntime-mobile."),
    "openvino": (
        "lamina does not write OpenVINO IR. Export format='onnx': OpenVINO reads ONNX files "
        "directly (`openvino.Core().read_model('model.onnx')`)."),
}

# NOTE: ExecuTorch plans its memory for the largest input; a phone serves small batches.
EXECUTORCH_MAX_BATCH = 32

# Large models keep their weights beside the .onnx file (protobuf's 2 GB limit).
_ONNX_SINGLE_FILE_LIMIT = 1 << 30


def export_model(model, filepath, format="tf_saved_model", verbose=None,
                 input_signature=None, **kwargs):
    """`Model.export`: write `model`'s inference call as one file in `format`."""
    check_format(format)
    filepath = os.fspath(filepath)
    if format == "torch" and not filepath.endswith(".pt2"):
        raise ValueError(
            f"format='torch' writes a torch.export program, whose file name must end with "
            f"'.pt2'. Received: filepath={filepath!r}")
    if format == "executorch" and not filepath.endswith(".pte"):
        raise ValueError(
            f"format='executorch' writes an ExecuTorch program, whose file name must end "
            f"with '.pte'. Received: filepath={filepath!r}")
    options = _format_options(format, kwargs)
    signature = signatures.normalize_signature(model, input_signature)
    program = tracing.trace(tracing.model_endpoint(model), signature, [model],
                            options.pop("export_kwargs"), name=model.name,
                            max_batch_size=options.pop("max_batch_size", None))
    write(program, filepath, format, signature=signature,
          output_names=_output_names(model), **options)
    if verbose is None or verbose:
        io_utils.print_msg(f"Saved artifact at '{filepath}'.")
    return filepath


def check_format(format):
    if format in _ELSEWHERE:
        raise ValueError(f"format={format!r} is not available in lamina: {_ELSEWHERE[format]}")
    if format not in FORMATS:
        raise ValueError(
            f"Unrecognized format={format!r}. Supported formats are: {list(FORMATS)} "
            f"(Keras' {sorted(_ELSEWHERE)} need TensorFlow or OpenVINO).")


def _format_options(format, kwargs):
    """Split `kwargs` into the writer's options and `torch.export` options."""
    kwargs = dict(kwargs)
    options = {}
    if format == "onnx":
        options["opset_version"] = kwargs.pop("opset_version", None)
    if format == "executorch":
        options["backend"] = kwargs.pop("backend", "xnnpack")
        options["max_batch_size"] = kwargs.pop("max_batch_size", EXECUTORCH_MAX_BATCH)
    options["export_kwargs"] = tracing.export_kwargs_for(kwargs, format)
    return options


def write(program, filepath, format, signature, output_names=None, **options):
    """Write `program` to `filepath` in `format`."""
    if format == "onnx":
        write_onnx(program, filepath, signatures.flat_names(signature), output_names,
                   **options)
    elif format == "torch":
        write_torch(program, filepath)
    else:
        write_executorch(program, filepath, **options)


def write_torch(program, filepath):
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    write_bytes(filepath, buffer.getvalue())


def write_onnx(program, filepath, input_names, output_names=None, opset_version=None):
    try:
        import onnx  # noqa: F401 - torch.onnx's dynamo exporter needs both
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "format='onnx' needs the `onnx` and `onnxscript` packages: "
            "`pip install 'lamina[export]'` (onnxruntime runs the file).") from error
    outputs = [s for s in program.graph_signature.user_outputs]
    if output_names is not None and len(output_names) != len(outputs):
        output_names = None
    try:
        with tracing.quiet_torch_exporter():
            onnx_program = torch.onnx.export(
                program, (), dynamo=True, input_names=input_names,
                output_names=output_names or [f"output_{i}" for i in range(len(outputs))],
                opset_version=opset_version, verbose=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the layer that failed
        raise RuntimeError(tracing.conversion_failure(error, program, "ONNX")) from error
    _name_batch_axis(onnx_program.model)
    size = sum(t.numel() * t.element_size() for t in program.state_dict.values())
    if size > _ONNX_SINGLE_FILE_LIMIT:
        onnx_program.save(filepath, external_data=True)
        return
    write_bytes(filepath, onnx_program.model_proto.SerializeToString())


def _name_batch_axis(model, name="batch"):
    """Call the inputs' shared dynamic batch axis `name` in the ONNX graph (torch names it
    after an internal symbol, e.g. `s33`), in every value's shape that uses it."""
    import onnx_ir as ir

    symbols = {str(v.shape[0]) for v in model.graph.inputs
               if v.shape is not None and v.shape.rank() and
               isinstance(v.shape[0], ir.SymbolicDim) and v.shape[0].value}
    if len(symbols) != 1:
        return
    pattern = re.compile(rf"\b{re.escape(symbols.pop())}\b")
    values = [*model.graph.inputs, *model.graph.outputs,
              *(out for node in model.graph.all_nodes() for out in node.outputs)]
    for value in values:
        if value.shape is None or not any(
                isinstance(d, ir.SymbolicDim) and d.value and pattern.search(d.value)
                for d in value.shape):
            continue
        value.shape = ir.Shape([
            ir.SymbolicDim(pattern.sub(name, d.value))
            if isinstance(d, ir.SymbolicDim) and d.value else d for d in value.shape])


def write_executorch(program, filepath, backend="xnnpack"):
    if backend not in ("xnnpack", None):
        raise ValueError(
            f"Unknown ExecuTorch backend={backend!r}: use 'xnnpack' (CPU, the default) or "
            "None (portable kernels only).")
    with tracing.quiet_torch_exporter(), warnings.catch_warnings():
        # NOTE: ExecuTorch 1.5 warns about its own code (its batch-norm pass reads `.grad`
        # of non-leaf tensors; its serializer uses deprecated importlib.resources calls;
        # its imports use `torch.jit.script_method`).
        warnings.filterwarnings("ignore", r"The \.grad attribute of a Tensor that is not a leaf",
                                UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        # The folded weights (below) are detached by torch.export when ExecuTorch unlifts
        # them, as it says: they are constants in the `.pte` file anyway.
        warnings.filterwarnings("ignore", r"A model attribute `_prop_tensor_constant\d*` "
                                "requires gradient", UserWarning)
        try:
            from executorch.exir import to_edge_transform_and_lower
        except ImportError as error:
            raise ImportError(
                "format='executorch' needs the `executorch` package (ExecuTorch 1.5 runs "
                "with torch 2.13): `pip install 'lamina[executorch]'`.") from error
        partitioners = []
        if backend == "xnnpack":
            from executorch.backends.xnnpack.partition.xnnpack_partitioner import (
                XnnpackPartitioner,
            )

            partitioners.append(XnnpackPartitioner())
        from executorch.exir.passes.constant_prop_pass import constant_prop_pass

        wanted = _batch_bound(program)  # before lowering, which can narrow it
        try:
            # NOTE: lamina keeps kernels in Keras' layout and permutes them in the graph;
            # XNNPACK takes a conv only when its weight is a constant, so computations on
            # weights alone are folded first (about 50x faster convs than the portable
            # kernels). On a copy: the pass edits its program, and `program` may be written
            # again (ExportArchive).
            with torch.no_grad():
                folded = constant_prop_pass(program.run_decompositions({}))
                lowered = to_edge_transform_and_lower(folded, partitioner=partitioners)
                buffer = lowered.to_executorch().buffer
        except Exception as error:  # noqa: BLE001 - re-raised with the layer that failed
            raise RuntimeError(
                tracing.conversion_failure(error, program, "ExecuTorch")) from error
    _warn_if_batch_bound_shrank(wanted, lowered.exported_program())
    write_bytes(filepath, buffer)


def _batch_bound(program):
    """The largest batch `program` takes: its first input's axis-0 size or upper bound."""
    inputs = [n for n in program.graph.nodes if n.op == "placeholder"]
    inputs = inputs[len(inputs) - len(program.graph_signature.user_inputs):]
    value = inputs[0].meta.get("val") if inputs else None
    if value is None or not value.ndim:
        return None
    size = value.shape[0]
    if isinstance(size, int):
        return size
    if size.node.expr.is_number:  # specialized while lowering
        return int(size.node.expr)
    bound = program.range_constraints.get(size.node.expr)
    try:
        return int(bound.upper)
    except (AttributeError, TypeError, ValueError, OverflowError):  # none, or unbounded
        return None


def _warn_if_batch_bound_shrank(wanted, lowered):
    """ExecuTorch's lowering can narrow the batch range torch.export gave it (torch 2.13's
    conv shape function guards on `batch < 16` when choosing a memory format; ExecuTorch
    1.5's argument check pins masked RNNs to the trace size), and the runtime then
    refuses larger batches. Say so when the file is written rather than when it is run."""
    got = _batch_bound(lowered)
    if wanted is None or got is None or got >= wanted:
        return
    warnings.warn(
        f"The ExecuTorch program accepts batches of at most {got} samples, not "
        f"{wanted}: ExecuTorch's lowering narrowed the batch axis. Run larger batches in "
        f"chunks of {got}, or export format='onnx' / 'torch' for any batch size.",
        UserWarning, stacklevel=6)  # the caller of `Model.export`


def write_bytes(filepath, data):
    with atomic_path(filepath) as tmp, open(tmp, "wb") as f:
        f.write(data)


def _output_names(model):
    """ONNX output names: a functional model's output layer names when unique."""
    outputs = model.__dict__.get("_outputs_struct")
    if isinstance(outputs, dict):
        return [str(k) for k in signatures.program_order({k: k for k in outputs})]
    names = getattr(model, "output_names", None)
    if not names or len(set(names)) != len(names):
        return None
    if outputs is not None and len(tree.flatten(outputs)) != len(names):
        return None
    return list(names)
