"""`model.summary()`: Keras' table of layers, output shapes and parameter counts.

Keras draws the table with `rich`; lamina draws the same characters itself: columns
sized from `positions` x `line_length` and shrunk evenly to fit, cells wrapped at
spaces, a word longer than its column cut short with "…", lines cropped to the
terminal's width.
"""

import os
import re
import shutil
import sys

import numpy as np

from lamina.layers.layer import Layer
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.utils import io_utils


def readable_memory_size(num_bytes):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _weights_size(weights):
    unique = {id(w): w for w in weights}.values()
    count = sum(int(np.prod(w.shape)) for w in weights)
    size = sum(int(np.prod(w.shape)) * w.element_size() for w in unique)
    return count, size


def _console_width():
    """The width `rich` would print at: $COLUMNS, else the terminal's, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


# -- cells ---------------------------------------------------------------------------------
def _format_shape(shape):
    # NOTE: Keras joins the dimensions itself: a rank-1 shape reads "(None)", not "(None,)".
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value)


def _format_shapes(structure):
    if _is_shape(structure):
        return _format_shape(structure)
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k}: {_format_shapes(v)}" for k, v in structure.items()) + "}"
    items = [_format_shapes(v) for v in structure]
    if isinstance(structure, tuple):
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return "[" + ", ".join(items) + "]"


def _declares_output_shape(layer):
    """Whether Keras could compute this layer's output shape without a graph: its class
    (or a built-in base) implements `compute_output_shape`. lamina's base `Layer` infers
    one for any layer; Keras' raises, and the summary then shows "?"."""
    cls = type(layer)
    owner = next(k for k in cls.__mro__ if "compute_output_shape" in vars(k))
    return owner not in (Layer, Model) or cls.__module__.startswith("lamina.")


def _shape_text(layer):
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if nodes:
        # NOTE: Keras shows the layer's last call, even one made outside this model.
        shapes = [_format_shape(t.shape) for t in nodes[-1].outputs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    build_shapes = getattr(layer, "_build_shapes", None)
    if not build_shapes:
        return "?"
    try:
        output_shape = layer.output_shape
    except (AttributeError, ValueError):
        output_shape = None
    if output_shape is not None:
        return _format_shape(output_shape)
    if not _declares_output_shape(layer):
        return "?"
    try:
        return _format_shapes(layer.compute_output_shape(**build_shapes))
    except NotImplementedError:
        return "?"


def _params_text(layer):
    if not hasattr(layer, "built"):  # an op (`ops.add`): no weights
        return "0"
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _class_name(operation):
    return getattr(operation, "class_name", None) or type(operation).__name__


def _connections(layer, model_nodes):
    parts = []
    for node in getattr(layer, "_inbound_nodes", None) or []:
        if model_nodes and id(node) not in model_nodes:
            continue
        for t in node.input_tensors:
            history = t._keras_history
            parts.append(f"{history.operation.name}[{history.node_index}]"
                         f"[{history.tensor_index}]")
    return ", ".join(parts) or "-"


# -- what the table lists ------------------------------------------------------------------
def _rows_and_nodes(model):
    """`(operations, model_nodes)`: the rows of the table and, for a graph that is not a
    plain chain, the ids of its nodes (the table then has a "Connected to" column)."""
    if not isinstance(model, Functional):  # Sequential and subclassed models
        return list(model.layers), None
    graph = model._graph
    by_depth = {}
    for node in graph.nodes:
        by_depth.setdefault(graph.node_depth[id(node)], []).append(node)
    # NOTE: Keras' rule for a chain: one node per depth, each with at most one input
    # tensor, and no layer called twice.
    chain = all(len(same) == 1 and len(same[0].input_tensors) <= 1
                for same in by_depth.values())
    if chain:
        calls = [id(node.operation) for node in graph.nodes]
        chain = len(calls) == len(set(calls))
    return list(graph.operations), (None if chain else {id(node) for node in graph.nodes})


def _layer_range_bounds(operations, layer_range):
    if layer_range is None:
        return 0, len(operations)
    if len(layer_range) != 2:
        raise ValueError("layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, op in enumerate(operations) if re.match(layer_range[0], op.name)]
    upper = [i for i, op in enumerate(operations) if re.match(layer_range[1], op.name)]
    if not lower or not upper:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


# -- layout --------------------------------------------------------------------------------
def _column_widths(positions, line_length):
    """Text widths of the columns: Keras' share of `line_length` for each, then (as
    `rich` does) cut evenly, one cell at a time from the left, until the table with its
    one-space padding and borders is `line_length` wide."""
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    padded = [w + 2 for w in widths]
    excess = sum(padded) - (line_length - len(padded) - 1)
    if excess > 0:
        remaining, columns_left = excess, len(padded)
        for i, width in enumerate(padded):
            cut = min(width, round(remaining / columns_left))
            padded[i] = width - cut
            remaining -= cut
            columns_left -= 1
    return [max(w - 2, 1) for w in padded]


def _word_breaks(text, width):
    """Offsets where `rich` breaks `text` into lines of `width`: before each word that
    does not fit the current line; a word longer than a line keeps a line of its own."""
    breaks, used = [], 0
    for match in re.finditer(r"\s*\S+\s*", text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - used >= length:
            used += len(word)
        elif length > width or used:
            if start:
                breaks.append(start)
            used = len(word)
    return breaks


def _wrap(text, width, justify):
    """`text` as lines of exactly `width` characters, justified left, right or center."""
    lines = []
    for paragraph in text.split("\n"):
        offsets = [0, *_word_breaks(paragraph, width), len(paragraph)]
        for start, end in zip(offsets, offsets[1:]):
            line = paragraph[start:end]
            if len(line) > width:  # drop the trailing spaces that overflow
                spaces = len(line) - len(line.rstrip())
                line = line[:len(line) - min(spaces, len(line) - width)]
            if justify != "left":
                line = line.rstrip()
            if len(line) > width:
                line = line[:width - 1] + "…"
            if justify == "right":
                line = line.rjust(width)
            elif justify == "center":
                line = (" " * ((width - len(line)) // 2) + line).ljust(width)
            lines.append(line.ljust(width))
    return lines


def _table(header, rows, widths, aligns):
    def rule(left, middle, right, fill):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values, border, bottom=False):
        # NOTE: rich aligns header cells to the bottom of their row, others to the top.
        wrapped = [_wrap(str(v), w, a) for v, w, a in zip(values, widths, aligns)]
        height = max(len(c) for c in wrapped)
        wrapped = [[" " * w] * (height - len(c)) + c if bottom else
                   c + [" " * w] * (height - len(c)) for c, w in zip(wrapped, widths)]
        return [border + border.join(f" {c[i]} " for c in wrapped) + border
                for i in range(height)]

    lines = [rule("┏", "┳", "┓", "━"), *cells(header, "┃", bottom=True),
             rule("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines.extend(cells(row, "│"))
    lines.append(rule("└", "┴", "┘", "─"))
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print `model`'s summary as Keras 3 does.

    `print_fn`, when given, receives the whole summary as one string (as in Keras);
    otherwise it goes to stdout (or the `"lamina"` logger when interactive logging is off).
    """
    operations, model_nodes = _rows_and_nodes(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    aligns = ["left", "left", "right"]
    if model_nodes is None:
        default_line_length, default_positions = 88, [0.45, 0.80, 1.0]
    else:
        default_line_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header.append("Connected to")
        aligns.append("left")
    positions = positions or default_positions
    if show_trainable:
        default_line_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("center")
    default_line_length = min(default_line_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(positions, line_length or default_line_length)

    def rows_of(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        row = [f"{prefix}{layer.name} ({_class_name(layer)})", _shape_text(layer),
               _params_text(layer)]
        if model_nodes is not None:
            row.append(_connections(layer, model_nodes))
        if show_trainable:
            has_weights = len(getattr(layer, "weights", None) or []) > 0
            row.append(("Y" if layer.trainable else "N") if has_weights else "-")
        rows = [row]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows.extend(rows_of(inner, level + 1))
        return rows

    start, stop = _layer_range_bounds(operations, layer_range)
    rows = [row for layer in operations[start:stop] for row in rows_of(layer)]

    trainable_count, trainable_size = _weights_size(model.trainable_weights)
    frozen_count, frozen_size = _weights_size(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_built = (getattr(model, "compiled", False) and optimizer is not None
                       and getattr(optimizer, "built", False))
    optimizer_count, optimizer_size = (_weights_size(optimizer.variables) if optimizer_built
                                       else (0, 0))
    # NOTE: Keras counts the optimizer's variables in the total.
    total_count = trainable_count + frozen_count + optimizer_count
    total_size = trainable_size + frozen_size + optimizer_size

    console_width = _console_width()
    lines = [f'Model: "{model.name}"', *(line[:console_width] for line in
                                         _table(header, rows, widths, aligns)),
             f" Total params: {total_count:,} ({readable_memory_size(total_size)})",
             f" Trainable params: {trainable_count:,} ({readable_memory_size(trainable_size)})",
             f" Non-trainable params: {frozen_count:,} ({readable_memory_size(frozen_size)})"]
    if optimizer_built:
        lines.append(f" Optimizer params: {optimizer_count:,} "
                     f"({readable_memory_size(optimizer_size)})")
    text = "\n".join(lines) + "\n"
    if print_fn is not None:
        print_fn(text)
    elif io_utils.is_interactive_logging_enabled():
        sys.stdout.write(text)
    else:
        io_utils.print_msg(text, line_break=False)
