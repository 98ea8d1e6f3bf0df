"""torch's fused recurrent kernels (`torch._VF.lstm/gru/rnn_tanh/rnn_relu`) behind
Keras-layout weights.

The Keras weights stay the source of truth (they are what optimizers update and files
store). Each call re-lays them into torch's layout: transposes, plus for GRU a swap of
the z and r gate blocks (Keras: z, r, h; torch: r, z, n). When gradients are needed the
re-layout runs inside autograd, a handful of views and one `cat` per weight, so
gradients land on the Keras Variables; in inference it is cached per cell and rebuilt
only when a weight's `_version` (bumped by every in-place write: `assign`, optimizer
steps, `set_weights`) or storage changes.

Used when the configuration is one torch's kernel computes exactly (Keras' own criteria
for its cuDNN path): default activations (tanh, sigmoid), no recurrent dropout, no
`unroll`, GRU with `reset_after=True`, and no mask or a right-padded one (not combined
with `go_backwards`). `run` returns None otherwise and the layer loops over steps.

Under `torch.compile` (so `compile(jit_compile=True)`) the kernel is one eager call
between graphs: traced, Inductor decomposes it into per-step ops unrolled over the
sequence (the benchmark LSTM, length 80: minutes of compiling, then steps slower than
eager). The graph break is allowed only where the tracer allows breaks: `torch.export`
and `fullgraph=True` still trace the kernel into their one graph.
"""

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lamina import activations
from lamina.backend.symbolic import in_symbolic_run, is_fake


def _eligible(layer):
    """Whether `layer`'s configuration (fixed after construction) suits the fused kernel;
    decided once per layer."""
    cached = layer.__dict__.get("_fused_eligible")
    if cached is not None:
        return cached
    cell, kind = layer.cell, layer._fused_kind
    ok = (layer.use_cudnn is not False and not layer.unroll and not cell.recurrent_dropout
          and type(cell) is layer._cell_class)
    if kind == "rnn":
        ok = ok and cell.activation in (activations.tanh, activations.relu)
    else:
        ok = ok and (cell.activation is activations.tanh
                     and cell.recurrent_activation is activations.sigmoid)
    if kind == "gru":
        ok = ok and cell.reset_after
    if layer.use_cudnn is True and not ok:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) was created with use_cudnn=True, "
            "but its configuration has no fused kernel: that needs activation='tanh', "
            "recurrent_activation='sigmoid', recurrent_dropout=0, unroll=False"
            + (", reset_after=True" if kind == "gru" else "") + ". Use use_cudnn='auto'."
        )
    layer.__dict__["_fused_eligible"] = ok
    return ok


def _relayout(cell, kind, dtype):
    """The cell's weights in torch's order `[w_ih, w_hh, b_ih, b_hh]` (or two without bias)."""
    kernel, recurrent, bias = cell.kernel, cell.recurrent_kernel, cell.bias
    if kernel.dtype != dtype:
        kernel, recurrent = kernel.to(dtype), recurrent.to(dtype)
        bias = bias.to(dtype) if bias is not None else None
    if kind == "gru":
        u = cell.units

        def swap_zr(w):  # Keras z, r, h -> torch r, z, n along the last axis
            return torch.cat((w[..., u:2 * u], w[..., :u], w[..., 2 * u:]), dim=-1)

        weights = [swap_zr(kernel).T, swap_zr(recurrent).T]
        if bias is not None:
            bias = swap_zr(bias)
            weights += [bias[0], bias[1]]
        return weights
    weights = [kernel.T, recurrent.T]
    if bias is not None:
        # NOTE: Keras has one bias, torch two; the recurrent one is a constant zero.
        weights += [bias, torch.zeros_like(bias)]
    return weights


def torch_weights(cell, kind, dtype):
    """The re-laid weights: fresh (inside autograd) when gradients are needed, else from
    the cell's cache, rebuilt when a weight changed."""
    variables = [v for v in (cell.kernel, cell.recurrent_kernel, cell.bias) if v is not None]
    if torch.is_grad_enabled() and any(v.requires_grad for v in variables):
        return _relayout(cell, kind, dtype)
    key = (dtype, *[(v._version, v.data_ptr(), v.device) for v in variables])
    cached = cell.__dict__.get("_torch_weights")
    if cached is None or cached[0] != key:
        with torch.no_grad():
            weights = [w.contiguous() for w in _relayout(cell, kind, dtype)]
        cached = cell.__dict__["_torch_weights"] = (key, weights)
    return cached[1]


def _kernel(kind, cell):
    if kind == "rnn":
        return torch._VF.rnn_tanh if cell.activation is activations.tanh else torch._VF.rnn_relu
    return torch._VF.lstm if kind == "lstm" else torch._VF.gru


@torch.compiler.disable
def _opaque_call(kernel, *args):
    """`kernel(*args)`, run eagerly where Dynamo traces (see the module docstring)."""
    return kernel(*args)


def _may_break_graph():
    """Whether the tracer now tracing may split its graph around `_opaque_call`: Dynamo
    under `torch.compile` without `fullgraph` (nor `error_on_graph_break`). Not under
    `torch.export` (strict export is Dynamo with one graph; non-strict runs this in Python)
    nor `fullgraph=True`: there the kernel is traced as before.

    Dynamo calls this at trace time and bakes the result into the graph (it is marked as
    `torch._dynamo.assume_constant_result` marks, without importing Dynamo here)."""
    if torch.compiler.is_exporting():
        return False
    try:
        from torch._dynamo.symbolic_convert import InstructionTranslator

        tracer = InstructionTranslator.current_tx()
    except (ImportError, AttributeError):  # not Dynamo (or a torch without this API)
        return False
    return not (getattr(tracer, "one_graph", True)
                or getattr(tracer, "error_on_graph_break", True))


_may_break_graph._dynamo_marked_constant = True


def _right_padded_lengths(mask):
    """Per-sequence lengths when `mask` is right-padded with no empty row, else None.

    NOTE: one host transfer per masked call: deciding the path (and packing, which takes
    lengths on the CPU) depends on the mask's values."""
    steps = mask.shape[1]
    lengths = mask.sum(dim=1)
    positions = torch.arange(steps, device=mask.device)
    ok = ((mask == (positions < lengths.unsqueeze(1))).all() & (lengths > 0).all())
    host = torch.cat((ok.view(1).to(lengths.dtype), lengths)).cpu()
    if not bool(host[0]):
        return None
    return host[1:]


def run(layer, sequences, states, mask, training):
    """Run `layer` (SimpleRNN/LSTM/GRU) on torch's fused kernel; None if it does not
    apply. Returns `(last_output, outputs, final_states)` like `RNN._loop`."""
    if not _eligible(layer):
        return None
    lengths = None
    if mask is not None and is_fake(sequences) and not in_symbolic_run():
        # NOTE: a tracer (torch.export, ONNX) cannot read the mask's values to choose the
        # packed path; the per-step loop applies any mask with tensor ops.
        return None
    if mask is not None and not is_fake(sequences):
        if layer.go_backwards:
            return None
        lengths = _right_padded_lengths(mask)
        if lengths is None:
            return None
        if int(lengths.min()) == sequences.shape[1]:
            lengths = None  # nothing is masked
    cell, kind = layer.cell, layer._fused_kind
    x = sequences
    if training and cell.dropout:
        x = x * cell.get_dropout_mask(x[:, 0]).unsqueeze(1)
    if layer.go_backwards:
        x = x.flip(1)
    weights = torch_weights(cell, kind, x.dtype)
    has_bias = cell.bias is not None
    kernel = _kernel(kind, cell)
    hx = (states[0].unsqueeze(0), states[1].unsqueeze(0)) if kind == "lstm" else (
        states[0].unsqueeze(0))
    opaque = torch.compiler.is_compiling() and _may_break_graph()
    if lengths is None:
        args = (x, hx, weights, has_bias, 1, 0.0, training, False, True)
        result = _opaque_call(kernel, *args) if opaque else kernel(*args)
        outputs, final = result[0], result[1:]
    else:
        args = (kernel, x, hx, weights, has_bias, training, lengths)
        outputs, final = _opaque_call(_run_packed, *args) if opaque else _run_packed(*args)
    new_states = [s.squeeze(0) for s in final]
    return new_states[0], outputs, new_states


def _run_packed(kernel, x, hx, weights, has_bias, training, lengths):
    """Right-padded sequences: run only the valid steps, then (as Keras' masking does)
    repeat each sequence's last valid output over its padded steps."""
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    if isinstance(hx, tuple):
        hx = tuple(h.index_select(1, order) for h in hx)
    else:
        hx = hx.index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, hx, weights, has_bias, 1, 0.0, training,
                    False)
    out_packed = PackedSequence(result[0], packed.batch_sizes, order, unorder)
    steps = x.shape[1]
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=steps)
    last_index = (lengths.to(x.device) - 1).unsqueeze(1)
    positions = torch.arange(steps, device=x.device).unsqueeze(0)
    index = torch.minimum(positions, last_index).unsqueeze(-1).expand(-1, -1, outputs.shape[-1])
    outputs = outputs.gather(1, index)
    final = [h.index_select(1, unorder) for h in result[1:]]
    return outputs, final
