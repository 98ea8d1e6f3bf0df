"""`plot_model` and `model_to_dot`: a model's layer graph as Graphviz DOT (through pydot)
and as an image, with Keras' arguments and node labels.

pydot is optional (`pip install lamina[plot]`); rendering also needs Graphviz's `dot`
program (`apt-get install graphviz`, `brew install graphviz`, https://graphviz.org).
"""

import os
import sys

from lamina import tree
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.utils import io_utils

_PYDOT_HINT = ("Install it with `pip install lamina[plot]` (or `pip install pydot`).")
_GRAPHVIZ_HINT = ("Install Graphviz so that its `dot` program is on the PATH "
                  "(`apt-get install graphviz`, `brew install graphviz`, or "
                  "https://graphviz.org/download/).")


def _import_pydot(caller):
    # NOTE: imported on use: pydot is optional and `import lamina.utils` must not need it.
    try:
        import pydot
    except ImportError as error:
        raise ImportError(f"`{caller}` needs pydot. {_PYDOT_HINT}") from error
    return pydot


def _graphviz_error(pydot):
    """None when Graphviz renders an empty graph, else the error that stopped it."""
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, pydot.PydotException) as error:
        return error
    return None


def _check_built(model):
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no graph to draw. "
            "Build it first: call `model.build(input_shape)`, call it on a batch of data, "
            "or start it with `lamina.Input(shape)`."
        )


def _check_kwargs(kwargs):
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


def _format_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        text = ", ".join(f"{key}: {value}" for key, value in shape.items())
    else:
        text = f"{shape}"
    return text.replace("{", "").replace("}", "")


def _structure_of(layer, attribute, field):
    """`field` of each tensor of `layer.input`/`layer.output`; None if it has none."""
    try:
        return tree.map_structure(lambda t: getattr(t, field), getattr(layer, attribute))
    except (ValueError, AttributeError):
        return None


def _activation_name(activation):
    return getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(
        activation)


def _cell(text, bgcolor="white", font=' point-size="14"'):
    return f'<td bgcolor="{bgcolor}"><font{font}>{text}</font></td>'


def _layer_label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes,
                 show_trainable):
    """The HTML-like label Keras draws for a layer: a title row, then an optional
    activation row and a row of shape/dtype/trainable cells."""
    class_name = type(layer).__name__
    width = max(1, 2 * show_shapes + show_dtype + show_trainable)
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    rows = [f'<tr><td colspan="{width}" bgcolor="black"><font point-size="16" '
            f'color="white">{title}</font></td></tr>']
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        rows.append(f'<tr><td bgcolor="white" colspan="{width}"><font point-size="14">'
                    f"Activation: <b>{_activation_name(activation)}</b></font></td></tr>")
    cells = []
    if show_shapes:
        if class_name != "InputLayer":
            shape = _format_shape(_structure_of(layer, "input", "shape"))
            cells.append(_cell(f"Input shape: <b>{shape}</b>"))
        shape = _format_shape(_structure_of(layer, "output", "shape"))
        cells.append(_cell(f"Output shape: <b>{shape}</b>"))
    if show_dtype:
        dtype = _structure_of(layer, "output", "dtype")
        cells.append(_cell(f"Output dtype: <b>{dtype or '?'}</b>"))
    if show_trainable and layer.weights:
        color, text = ("forestgreen", "Trainable") if layer.trainable else (
            "firebrick", "Non-trainable")
        cells.append(_cell(f"<b>{text}</b>", color, ' point-size="14" color="white"'))
    if cells:
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
            f"{''.join(rows)}</table>>")


def _add_edge(pydot, dot, source, destination):
    source_id, destination_id = str(id(source)), str(id(destination))
    if not dot.get_edge(source_id, destination_id):
        edge = pydot.Edge(source_id, destination_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _is_graph_model(layer):
    return isinstance(layer, (Functional, Sequential))


def _first_layer(model, input_index):
    """The box an edge into nested `model`'s input `input_index` points at."""
    while _is_graph_model(model):
        model = (model.layers[0] if isinstance(model, Sequential)
                 else tree.flatten(model.inputs)[input_index]._keras_history.operation)
    return model


def _last_layer(model, output_index):
    """The box that makes nested `model`'s output `output_index`."""
    while _is_graph_model(model):
        history = tree.flatten(model.outputs)[output_index]._keras_history
        model, output_index = history.operation, history.tensor_index
    return model


def _graph_edges(model):
    """`(source, destination, output_index, input_index)` for each tensor a layer of
    functional `model` reads, in Keras' order (by layer, then by call)."""
    own_nodes = {id(node) for node in model._graph.nodes}
    for layer in model.operations:
        for node in layer._inbound_nodes:
            if id(node) not in own_nodes:
                continue
            for input_index, tensor in enumerate(node.input_tensors):
                history = tensor._keras_history
                yield history.operation, layer, history.tensor_index, input_index


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, splines="ortho", **kwargs):
    """A model's layer graph as a `pydot.Dot` (a `pydot.Cluster` when `subgraph`).

    Nodes are named `str(id(layer))`, as in Keras; a subclassed model is one node.

    Args:
        model: a built lamina model.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: show layer names (and the class) in the title row.
        rankdir: Graphviz `rankdir`: `"TB"` (top to bottom) or `"LR"` (left to right).
        expand_nested: draw nested functional and Sequential models as clusters.
        dpi: image resolution in dots per inch.
        subgraph: return a `pydot.Cluster` (used for nested models).
        show_layer_activations: show the activation of layers that have one.
        show_trainable: show whether each layer with weights is trainable.
        splines: Graphviz `splines` (`"ortho"`, `"curved"`, `"polyline"`, `"spline"`,
            `"line"`).

    Returns:
        A `pydot.Dot`, or a `pydot.Cluster` when `subgraph=True`.
    """
    _check_built(model)
    pydot = _import_pydot("model_to_dot")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    _check_kwargs(kwargs)
    shown = {"show_layer_names": show_layer_names,
             "show_layer_activations": show_layer_activations, "show_dtype": show_dtype,
             "show_shapes": show_shapes, "show_trainable": show_trainable}

    def add_node(layer):
        node = pydot.Node(str(id(layer)), label=_layer_label(layer, **shown))
        node.set("fontname", "Helvetica")
        node.set("border", "0")
        node.set("margin", "0")
        dot.add_node(node)

    if not _is_graph_model(model):
        add_node(model)  # a subclassed model has no graph to show
        return dot
    layers = model.layers if isinstance(model, Sequential) else model.operations
    for layer in layers:
        if expand_nested and _is_graph_model(layer):
            dot.add_subgraph(model_to_dot(
                layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                subgraph=True, show_layer_activations=show_layer_activations,
                show_trainable=show_trainable))
        else:
            add_node(layer)
    if isinstance(model, Sequential):
        # NOTE: a Sequential's InputLayer is not drawn: its first box has no incoming edge.
        edges = [(a, b, 0, 0) for a, b in zip(model.layers, model.layers[1:])]
    else:
        edges = _graph_edges(model)
    for source, destination, output_index, input_index in edges:
        if expand_nested:
            source = _last_layer(source, output_index)
            destination = _first_layer(destination, input_index)
        _add_edge(pydot, dot, source, destination)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho", **kwargs):
    """Draws a model's layer graph to an image file (the format from its extension).

    Arguments as `model_to_dot`'s; `to_file` ends in `.png` (the default with no
    extension), `.svg`, `.pdf` or any other Graphviz output format.

    Returns:
        An `IPython.display.Image` of the file when IPython is installed (not for PDF),
        else None.
    """
    _check_built(model)
    in_notebook = "IPython.core.magics.namespace" in sys.modules
    try:
        pydot = _import_pydot("plot_model")
        error = _graphviz_error(pydot)
        if error is not None:
            raise ImportError(f"`plot_model` needs Graphviz. {_GRAPHVIZ_HINT} ({error})")
    except ImportError as error:
        if in_notebook:  # as Keras: a notebook cell goes on without the picture
            io_utils.print_msg(str(error))
            return None
        raise
    _check_kwargs(kwargs)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension == "pdf":
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.Image(filename=to_file)
