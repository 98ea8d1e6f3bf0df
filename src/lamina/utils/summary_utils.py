"""`model.summary()`: Keras' table of layers, output shapes and parameter counts."""

import textwrap

import numpy as np


def readable_memory_size(num_bytes):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024 or unit == "TB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024


def _weights_size(weights):
    count = sum(int(np.prod(w.shape)) for w in weights)
    size = sum(int(np.prod(w.shape)) * w.element_size() for w in weights)
    return count, size


def _shape_text(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return "?"
    structure = nodes[0].output_structure
    from lamina import tree

    shapes = [t.shape for t in tree.flatten(structure) if hasattr(t, "shape")]
    if len(shapes) == 1:
        return str(shapes[0])
    return str(shapes)


def _connections(layer, model_nodes):
    parts = []
    for node in getattr(layer, "_inbound_nodes", []):
        if model_nodes is not None and id(node) not in model_nodes:
            continue
        for t in node.input_tensors:
            history = t._keras_history
            if history is not None:
                parts.append(f"{history.operation.name}[{history.node_index}]"
                             f"[{history.tensor_index}]")
    return ", ".join(parts) if parts else "-"


def _is_sequential_like(model):
    """Whether Keras prints this functional model like a Sequential one (no "Connected
    to" column): one output reached through a chain of single-input calls, no layer
    called twice."""
    from lamina.models.functional import _nodes_between

    if len(model._flat_outputs) != 1:
        return False
    nodes = _nodes_between(model._flat_inputs, model._flat_outputs)
    operations = {id(node.operation) for node in nodes}
    return len(operations) == len(nodes) and all(len(node.input_tensors) <= 1
                                                 for node in nodes)


def _render_row(cells, widths, aligns):
    wrapped = [textwrap.wrap(str(c), w - 2) or [""] for c, w in zip(cells, widths)]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = []
        for col, width, align in zip(wrapped, widths, aligns):
            text = col[i] if i < len(col) else ""
            text = text.rjust(width - 2) if align == "right" else text.ljust(width - 2)
            parts.append(f" {text} ")
        lines.append("│" + "│".join(parts) + "│")
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    print_fn = print_fn or (lambda line, **kwargs: print(line))
    from lamina.models.functional import Functional

    if not model.built:
        print_fn(
            f'Model: "{model.name}"\n'
            "This model has not yet been built. Build the model first by calling "
            "`build(input_shape)` or by calling it on a batch of data."
        )
        return
    functional = isinstance(model, Functional) and not _is_sequential_like(model)
    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 24, 15]
    aligns = ["left", "left", "right"]
    if functional:
        headers.append("Connected to")
        widths = [21, 19, 12, 19]
        aligns.append("left")
    if show_trainable:
        headers.append("Trainable")
        widths.append(11)
        aligns.append("left")
    if line_length:
        scale = line_length / (sum(widths) + len(widths) + 1)
        widths = [max(8, int(w * scale)) for w in widths]
    rows = []
    model_nodes = None
    if functional:
        model_nodes = set()
        for layer in model.layers:
            for node in layer._inbound_nodes:
                model_nodes.add(id(node))

    def add_rows(layers, depth):
        for layer in layers:
            name = ("  " * depth) + f"{layer.name} ({type(layer).__name__})"
            count = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            row = [name, _shape_text(layer), count]
            if functional:
                row.append(_connections(layer, model_nodes))
            if show_trainable:
                row.append("Y" if layer.trainable else "N")
            rows.append(row)
            if expand_nested and hasattr(layer, "layers") and layer is not model:
                add_rows(layer.layers, depth + 1)

    layers = model.layers
    if layer_range is not None:
        names = [l.name for l in layers]
        start, end = names.index(layer_range[0]), names.index(layer_range[1])
        layers = layers[start:end + 1]
    add_rows(layers, 0)

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━")]
    header_cells = [f" {h.rjust(w - 2) if a == 'right' else h.ljust(w - 2)} "
                    for h, w, a in zip(headers, widths, aligns)]
    lines.append("┃" + "┃".join(header_cells) + "┃")
    lines.append(rule("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        lines.extend(_render_row(row, widths, aligns))
        if i < len(rows) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))
    trainable_count, trainable_size = _weights_size(model.trainable_weights)
    non_trainable_count, non_trainable_size = _weights_size(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_built = optimizer is not None and getattr(optimizer, "built", False)
    opt_count, opt_size = _weights_size(optimizer.variables) if optimizer_built else (0, 0)
    # NOTE: Keras counts the optimizer's variables in the total.
    total_count = trainable_count + non_trainable_count + opt_count
    total_size = trainable_size + non_trainable_size + opt_size
    lines.append(f" Total params: {total_count:,} ({readable_memory_size(total_size)})")
    lines.append(f" Trainable params: {trainable_count:,} ({readable_memory_size(trainable_size)})")
    lines.append(f" Non-trainable params: {non_trainable_count:,} "
                 f"({readable_memory_size(non_trainable_size)})")
    if optimizer_built:
        lines.append(f" Optimizer params: {opt_count:,} ({readable_memory_size(opt_size)})")
    for line in lines:
        print_fn(line)
