"""The shape of a functional model's config, checked before it is walked.

A file may hold any JSON. `functional_from_config` reads `layers` (each with a name and
`inbound_nodes`), tensor references `[layer name, node index, tensor index]` inside node
arguments, and the nested `input_layers`/`output_layers`; a reference of the wrong length
or type, or naming no layer, would fail deep inside the graph replay with an error that
says nothing about the file. `check_functional_config` refuses such a config first, with
a `ValueError` naming the place in the config.
"""

_TENSOR = "__keras_tensor__"


def _error(config, where, problem):
    name = config.get("name") if isinstance(config, dict) else None
    named = f" {name!r:.60}" if isinstance(name, str) else ""
    return ValueError(f"Invalid functional model config{named}: {where}: {problem}. The "
                      "config is malformed or was edited by hand.")


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_history(config, where, history, names):
    """A tensor reference `[layer name, node index, tensor index]` naming a known layer."""
    if not (isinstance(history, (list, tuple)) and len(history) == 3
            and isinstance(history[0], str) and _is_index(history[1])
            and _is_index(history[2])):
        raise _error(config, where, "expected a tensor reference [layer name, node index, "
                                    f"tensor index] (indices >= 0), got {history!r:.120}")
    if history[0] not in names:
        raise _error(config, where, f"refers to layer {history[0]!r:.80}, which the config "
                                    "does not define")


def _check_structure(config, where, spec, names):
    """`input_layers`/`output_layers`: one reference, or lists/dicts of them."""
    stack = [(where, spec)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            _check_history(config, where, value, names)
        elif isinstance(value, (list, tuple)) and value:
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, dict) and value:
            stack.extend((f"{where}[{k!r}]", v) for k, v in value.items())
        else:
            raise _error(config, where, "expected a tensor reference [layer name, node index, "
                                        f"tensor index] or a list/dict of them, got {value!r:.120}")


def _check_node_arguments(config, where, value, names):
    """Every `__keras_tensor__` inside a node's `args`/`kwargs` holds a valid reference."""
    stack = [(where, value)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            inner = value.get("config")
            history = inner.get("keras_history") if isinstance(inner, dict) else None
            _check_history(config, f"{where}.config.keras_history", history, names)
        elif isinstance(value, dict) and "class_name" not in value:
            stack.extend((f"{where}[{k!r}]", v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


def _check_node(config, where, node, names):
    if isinstance(node, dict):
        if not isinstance(node.get("args", []), (list, tuple)):
            raise _error(config, f"{where}.args", f"expected a list, got {node['args']!r:.80}")
        if not isinstance(node.get("kwargs", {}), dict):
            raise _error(config, f"{where}.kwargs",
                         f"expected a dict, got {node['kwargs']!r:.80}")
        _check_node_arguments(config, where, [node.get("args", []), node.get("kwargs", {})],
                              names)
    elif isinstance(node, list) and node:
        # Keras 2's format: [[layer, node index, tensor index, kwargs], ...]
        for i, item in enumerate(node):
            if not isinstance(item, list) or len(item) not in (3, 4) or (
                    len(item) == 4 and not isinstance(item[3], dict)):
                raise _error(config, f"{where}[{i}]", "expected [layer name, node index, tensor "
                                                      f"index, kwargs dict], got {item!r:.120}")
            _check_history(config, f"{where}[{i}]", item[:3], names)
    else:
        raise _error(config, where, "expected a node ({'args': [...], 'kwargs': {...}}, or "
                                    f"Keras 2's list of tensor references), got {node!r:.120}")


def _layer_name(config, where, entry):
    if not isinstance(entry, dict):
        raise _error(config, where, f"expected a layer config (a dict), got {entry!r:.80}")
    inner = entry.get("config")
    name = entry.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    if not isinstance(name, str):
        raise _error(config, where, f"a layer needs a string `name`, got {name!r:.80}")
    return name


def check_functional_config(config):
    """Raise a `ValueError` naming the place if `config` is not a well-formed functional
    model config (layers, their nodes, tensor references, inputs and outputs).

    >>> check_functional_config({"name": "m", "layers": [{"name": "x", "inbound_nodes": []}],
    ...     "input_layers": [["x", 0, 0]], "output_layers": [["x", 0]]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid functional model config 'm': output_layers[0]: expected a tensor ...
    """
    if not isinstance(config, dict):
        raise _error(config, "config", f"expected a dict, got {config!r:.80}")
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise _error(config, "layers", f"expected a list of layer configs, got {layers!r:.80}")
    names = set()
    for i, entry in enumerate(layers):
        name = _layer_name(config, f"layers[{i}]", entry)
        if name in names:
            raise _error(config, f"layers[{i}]", f"a second layer named {name!r}; layer names "
                                                 "must be unique in a model")
        names.add(name)
    for i, entry in enumerate(layers):
        nodes = entry.get("inbound_nodes") or []
        where = f"layers[{i}] ({_layer_name(config, '', entry)!r}).inbound_nodes"
        if not isinstance(nodes, list):
            raise _error(config, where, f"expected a list of nodes, got {nodes!r:.80}")
        for j, node in enumerate(nodes):
            _check_node(config, f"{where}[{j}]", node, names)
    for key in ("input_layers", "output_layers"):
        if key not in config:
            raise _error(config, key, "missing")
        _check_structure(config, key, config[key], names)
