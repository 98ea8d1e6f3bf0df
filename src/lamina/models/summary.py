"""`model.summary()`: Keras' table of layers, output shapes and parameter counts.

Like Keras, the table is drawn with `rich` when it is installed (`pip install
lamina[summary]`): colours on a terminal, HTML in a notebook, plain text when `print_fn`
is given. Without rich, lamina draws the same characters itself: columns sized from
`positions` x `line_length` and shrunk evenly to fit, cells wrapped at spaces, a word
longer than its column cut short with "…", lines cropped to the terminal's width.
"""

import functools
import os
import re
import shutil
import sys
from typing import NamedTuple

import numpy as np

from lamina.layers.layer import Layer
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.utils import io_utils

# A cell is a list of `(text, style)` pieces; a style is a rich style string ("" for
# none). These are Keras' colours: numbers, `None` dimensions, class names, Y/N flags.
_NUMBER, _NONE, _SYMBOL = "color(34)", "color(45)", "color(33)"
_BOLD, _YES, _NO = "bold", "bold color(34)", "bold color(9)"


def _number(value):
    return (str(value), _NONE if value is None else _NUMBER)


def _plain(pieces):
    return "".join(text for text, _ in pieces)


def _join(parts, separator=", "):
    pieces = []
    for i, part in enumerate(parts):
        if i:
            pieces.append((separator, ""))
        pieces.extend(part)
    return pieces


def _import_rich():
    """rich's `console`, `table` and `text` modules, or None when rich is not installed."""
    try:
        from rich import console, table, text
    except ImportError:
        return None
    return console, table, text


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
def _shape_pieces(shape):
    # NOTE: Keras joins the dimensions itself: a rank-1 shape reads "(None)", not "(None,)".
    return [("(", ""), *_join([[_number(d)] for d in shape]), (")", "")]


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value)


def _structure_pieces(structure):
    if _is_shape(structure):
        return _shape_pieces(structure)
    if isinstance(structure, dict):
        return [("{", ""), *_join([[(f"{k}: ", ""), *_structure_pieces(v)]
                                   for k, v in structure.items()]), ("}", "")]
    items = [_structure_pieces(v) for v in structure]
    if isinstance(structure, tuple):
        return [("(", ""), *_join(items), (("," if len(items) == 1 else "") + ")", "")]
    return [("[", ""), *_join(items), ("]", "")]


def _declares_output_shape(layer):
    """Whether Keras could compute this layer's output shape without a graph: its class
    (or a built-in base) implements `compute_output_shape`. lamina's base `Layer` infers
    one for any layer; Keras' raises, and the summary then shows "?"."""
    cls = type(layer)
    owner = next(k for k in cls.__mro__ if "compute_output_shape" in vars(k))
    return owner not in (Layer, Model) or cls.__module__.startswith("lamina.")


def _shape_cell(layer):
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if nodes:
        # NOTE: Keras shows the layer's last call, even one made outside this model.
        shapes = [_shape_pieces(t.shape) for t in nodes[-1].outputs]
        return shapes[0] if len(shapes) == 1 else [("[", ""), *_join(shapes), ("]", "")]
    build_shapes = getattr(layer, "_build_shapes", None)
    if not build_shapes:
        return [("?", "")]
    try:
        output_shape = layer.output_shape
    except (AttributeError, ValueError):
        output_shape = None
    if output_shape is not None:
        return _shape_pieces(output_shape)
    if not _declares_output_shape(layer):
        return [("?", "")]
    try:
        return _structure_pieces(layer.compute_output_shape(**build_shapes))
    except NotImplementedError:
        return [("?", "")]


def _params_cell(layer):
    if not hasattr(layer, "built"):  # an op (`ops.add`): no weights
        return [_number(0)]
    if not layer.built:
        return [_number(0), (" (unbuilt)", "")]
    return [_number(f"{layer.count_params():,}")]


def _class_name(operation):
    return getattr(operation, "class_name", None) or type(operation).__name__


def _connections_cell(layer, model_nodes):
    parts = []
    for node in getattr(layer, "_inbound_nodes", None) or []:
        if model_nodes and id(node) not in model_nodes:
            continue
        for t in node.input_tensors:
            history = t._keras_history
            parts.append([(f"{history.operation.name}[", ""), _number(history.node_index),
                          ("][", ""), _number(history.tensor_index), ("]", "")])
    return _join(parts) or [("-", "")]


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
    """Keras' text width for each column: its share of `line_length` by `positions`."""
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    return widths


def _fitted_widths(widths, line_length):
    """The widths `rich` draws `widths` at in a table `line_length` wide: with one space
    of padding each side and the borders, cut evenly, one cell at a time from the left."""
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


class _Layout(NamedTuple):
    """The table to draw: column titles, justifications and Keras' widths, the table's
    width, and the rows (each a list of cells)."""

    header: list
    aligns: list
    widths: list
    line_length: int
    rows: list


def _plain_text(title, layout, footer):
    """The summary as text without `rich`: the characters rich draws for it."""
    widths = _fitted_widths(layout.widths, layout.line_length)
    rows = [[_plain(cell) for cell in row] for row in layout.rows]
    console_width = _console_width()
    table = _table(layout.header, rows, widths, layout.aligns)
    return "\n".join([_plain(title), *(line[:console_width] for line in table),
                      *(_plain(line) for line in footer)]) + "\n"


def _print_with_rich(rich, title, layout, footer, capture):
    """Print the summary on a rich console: to stdout (colours on a terminal, HTML in a
    notebook), or, with `capture`, as plain text returned for `print_fn`."""
    console_module, table_module, text_module = rich
    if capture:
        console = console_module.Console(highlight=False, force_terminal=False,
                                         color_system=None)
        console.begin_capture()
    else:
        console = console_module.Console(highlight=False)
    columns = [table_module.Column(name, justify=align, width=width)
               for name, align, width in zip(layout.header, layout.aligns, layout.widths)]
    table = table_module.Table(*columns, width=layout.line_length, show_lines=True)
    for row in layout.rows:
        table.add_row(*(text_module.Text.assemble(*cell) for cell in row))
    # NOTE: one print per line, as Keras does: a notebook gets one output per print.
    console.print(text_module.Text.assemble(*title))
    console.print(table)
    for line in footer:
        console.print(text_module.Text.assemble(*line))
    return console.end_capture() if capture else None


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print `model`'s summary as Keras 3 does.

    `print_fn`, when given, receives the whole summary as one plain string (as in Keras);
    otherwise it goes to stdout (or the `"lamina"` logger when interactive logging is
    off), coloured by `rich` on a terminal and as HTML in a notebook.
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
    line_length = line_length or default_line_length
    widths = _column_widths(positions, line_length)

    def rows_of(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        row = [[(f"{prefix}{layer.name} (", ""), (_class_name(layer), _SYMBOL), (")", "")],
               _shape_cell(layer), _params_cell(layer)]
        if model_nodes is not None:
            row.append(_connections_cell(layer, model_nodes))
        if show_trainable:
            if not getattr(layer, "weights", None):
                row.append([("-", _BOLD)])
            else:
                row.append([("Y", _YES)] if layer.trainable else [("N", _NO)])
        rows = [row]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows.extend(rows_of(inner, level + 1))
        return rows

    start, stop = _layer_range_bounds(operations, layer_range)
    rows = [row for layer in operations[start:stop] for row in rows_of(layer)]
    layout = _Layout(header, aligns, widths, line_length, rows)

    trainable_count, trainable_size = _weights_size(model.trainable_weights)
    frozen_count, frozen_size = _weights_size(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_built = (getattr(model, "compiled", False) and optimizer is not None
                       and getattr(optimizer, "built", False))
    optimizer_count, optimizer_size = (_weights_size(optimizer.variables) if optimizer_built
                                       else (0, 0))
    # NOTE: Keras counts the optimizer's variables in the total.
    totals = [("Total", trainable_count + frozen_count + optimizer_count,
               trainable_size + frozen_size + optimizer_size),
              ("Trainable", trainable_count, trainable_size),
              ("Non-trainable", frozen_count, frozen_size)]
    if optimizer_built:
        totals.append(("Optimizer", optimizer_count, optimizer_size))
    footer = [[(f" {label} params: ", _BOLD), _number(f"{count:,}"),
               (f" ({readable_memory_size(size)})", "")] for label, count, size in totals]
    title = [(f'Model: "{model.name}"', _BOLD)]

    if print_fn is None and not io_utils.is_interactive_logging_enabled():
        print_fn = functools.partial(io_utils.print_msg, line_break=False)
    rich = _import_rich()
    if rich is not None:
        text = _print_with_rich(rich, title, layout, footer, capture=print_fn is not None)
    else:
        text = _plain_text(title, layout, footer)
    if print_fn is not None:
        print_fn(text)
    elif rich is None:
        sys.stdout.write(text)
