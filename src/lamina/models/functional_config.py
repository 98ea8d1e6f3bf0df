"""Functional models as Keras 3 configs: `layers` (each with `inbound_nodes`),
`input_layers` and `output_layers`, and their reconstruction.

A tensor in a node's arguments is written `{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [layer name, node index, tensor index]}}`, where the
node index counts only the nodes that belong to this model. Reconstruction creates every
layer, then replays the nodes as soon as their inputs exist.
"""

import inspect

from lamina import ops, tree
from lamina.backend.symbolic import KerasTensor
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer, _call_signature
from lamina.models import config_checks
from lamina.ops.operation import FunctionOperation
from lamina.serialization import serialization


def _op_entry(op, name, node, serialize_arg):
    """Keras' config of one recorded op call (`keras.ops.sum(x, axis=1)` -> `Sum` with
    config `{"axis": 1, "keepdims": False}`, called on `x`), and its node.

    The op's declared `init_args` go into the config, as Keras' op class takes them in its
    constructor; the other arguments are the node's. A tensor-valued init argument stays
    in the node (Keras cannot save it; lamina can replay it)."""
    signature = inspect.signature(op.fn)
    call = signature.bind(*node.call_args, **node.call_kwargs)
    given = dict(call.arguments)
    call.apply_defaults()
    config, args, kwargs = {"name": name}, [], {}
    keyword = False  # once an optional argument was left out, later ones go by keyword
    for parameter in signature.parameters.values():
        value = call.arguments.get(parameter.name)
        if parameter.kind is parameter.VAR_KEYWORD:
            for key, item in (value or {}).items():
                target = config if key in op.init_args and not _symbolic(item) else kwargs
                target[key] = serialize_arg(item)
        elif parameter.name in op.init_args and not _symbolic(value):
            config[parameter.name] = serialize_arg(value)
        elif parameter.kind is parameter.VAR_POSITIONAL:
            args.extend(serialize_arg(v) for v in value)
        elif parameter.name not in given:
            keyword = True
        elif keyword or parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = serialize_arg(value)
        else:
            args.append(serialize_arg(value))
    entry = {"module": op.keras_module, "class_name": op.class_name, "config": config,
             "registered_name": op.class_name}
    return entry, {"args": args, "kwargs": kwargs}


def _symbolic(value):
    return any(isinstance(v, KerasTensor) for v in tree.flatten(value))


def functional_get_config(model):
    """The Keras 3 config of functional `model`: its graph, layer by layer.

    >>> import lamina
    >>> x = lamina.Input((3,), name="x")
    >>> model = lamina.Model(x, lamina.layers.Dense(2, name="d")(x), name="m")
    >>> config = functional_get_config(model)
    >>> [entry["name"] for entry in config["layers"]], config["output_layers"]
    (['x', 'd'], ['d', 0, 0])
    """
    inputs, outputs = model._inputs_struct, model._outputs_struct
    operations = model._graph.operations
    in_network = {id(n) for n in model._graph.nodes}
    for tensor in tree.flatten(inputs):
        in_network.add(id(tensor._keras_history.operation._inbound_nodes[0]))

    names, used = {}, set()
    for op in operations:  # ops may share names ("add"): the config needs unique ones
        name, k = op.name, 0
        while name in used:
            k += 1
            name = f"{op.name}_{k}"
        used.add(name)
        names[id(op)] = name
    new_index = {}
    for op in operations:
        kept = [n for n in op._inbound_nodes if id(n) in in_network]
        for i, node in enumerate(kept):
            new_index[id(node)] = i

    def history_of(tensor):
        op, node_index, tensor_index = tensor._keras_history
        node = op._inbound_nodes[node_index]
        return [names[id(op)], new_index[id(node)], tensor_index]

    def serialize_arg(value):
        if isinstance(value, KerasTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(value.shape), "dtype": value.dtype,
                               "keras_history": history_of(value)}}
        if isinstance(value, (list, tuple)):
            return [serialize_arg(v) for v in value]
        if isinstance(value, dict):
            return {k: serialize_arg(v) for k, v in value.items()}
        return serialization.serialize_keras_object(value)

    layers = []
    for op in operations:
        name = names[id(op)]
        kept = [node for node in op._inbound_nodes if id(node) in in_network
                and not node.is_input]
        if isinstance(op, FunctionOperation):
            entry, node = _op_entry(op, name, kept[0], serialize_arg)
            entry["inbound_nodes"] = [node]
        else:
            entry = serialization.serialize_keras_object(op)
            entry["inbound_nodes"] = [
                {"args": serialize_arg(list(node.call_args)),
                 "kwargs": serialize_arg(dict(node.call_kwargs))}
                for node in kept
            ]
        entry["name"] = name
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": tree.map_structure(history_of, inputs),
        "output_layers": tree.map_structure(history_of, outputs),
    }


def _op_functions():
    """Keras op `(module, class name)`, and the class name alone (files that name another
    module), -> lamina op function: `("keras.src.ops.numpy", "Add")` -> `lamina.ops.add`."""
    table = {}
    for namespace in (ops, ops.image):
        for name in dir(namespace):
            fn = getattr(namespace, name)
            class_name = getattr(fn, "keras_class_name", None)
            if class_name is not None and callable(fn):
                table.setdefault((fn.keras_module, class_name), fn)
                table.setdefault(class_name, fn)
    return table


def _make_operation(entry, custom_objects, op_functions):
    """The layer for a config entry, or a function replaying a Keras op node."""
    module, class_name = entry.get("module") or "", entry.get("class_name")
    if module.startswith("keras.src.ops.") or (module == "" and class_name in op_functions):
        fn = op_functions.get((module, class_name)) or op_functions.get(class_name)
        if fn is None:
            raise ValueError(
                f"Unknown op {class_name!r} (module {module!r}) in a functional "
                "model config: lamina has no such op."
            )
        extra = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
        return lambda *args, **kwargs: fn(*args, **kwargs, **extra)
    return serialization.deserialize_keras_object(entry, custom_objects=custom_objects)


def _legacy_node(node_data):
    """Keras 2's node format: `[[layer, node_index, tensor_index, kwargs], ...]`.

    Tensors passed by keyword (`mha(q, value=v)`) appear in `kwargs` as bare
    `[layer, node_index, tensor_index]` lists, which Keras 2 also read as tensors.
    """
    def ref(history):
        return {"class_name": "__keras_tensor__", "config": {"keras_history": history[:3]}}

    def tensors_in(value):
        if _is_history(value):
            return ref(list(value))
        if isinstance(value, dict):
            return {k: tensors_in(v) for k, v in value.items()}
        if isinstance(value, list):
            return [tensors_in(v) for v in value]
        return value

    refs = [ref(item) for item in node_data]
    kwargs = node_data[0][3] if node_data and len(node_data[0]) > 3 else {}
    return {"args": [refs[0] if len(refs) == 1 else refs],
            "kwargs": tensors_in(kwargs or {})}


def functional_from_config(cls, config, custom_objects=None):
    """Rebuild a functional model of class `cls` from `functional_get_config`'s output
    (or a Keras 3 file's)."""
    config_checks.check_functional_config(config)
    op_functions = _op_functions()
    operations, produced, pending = {}, {}, {}
    order = []
    for entry in config["layers"]:
        name = entry.get("name") or entry["config"]["name"]
        operation = _make_operation(entry, custom_objects, op_functions)
        operations[name] = operation
        order.append(name)
        produced[name] = []
        if isinstance(operation, InputLayer):
            produced[name].append(operation.output)
        pending[name] = [_legacy_node(n) if isinstance(n, list) else n
                         for n in entry.get("inbound_nodes") or []]

    def ready(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            layer, node_index, _ = value["config"]["keras_history"]
            return layer in produced and len(produced[layer]) > node_index
        if isinstance(value, (list, tuple)):
            return all(ready(v) for v in value)
        if isinstance(value, dict) and "class_name" not in value:
            return all(ready(v) for v in value.values())
        return True

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return _tensor_at(produced, value["config"]["keras_history"])
        if isinstance(value, (list, tuple)):
            return [resolve(v) for v in value]
        if isinstance(value, dict) and "class_name" not in value:
            return {k: resolve(v) for k, v in value.items()}
        return serialization.deserialize_keras_object(value, custom_objects=custom_objects)

    while any(pending.values()):
        progress = False
        for name in order:
            nodes = pending[name]
            while nodes and ready(nodes[0]):
                node = nodes.pop(0)
                args = resolve(node.get("args", []))
                kwargs = _without_default_training(operations[name],
                                                   resolve(node.get("kwargs", {})))
                produced[name].append(operations[name](*args, **kwargs))
                progress = True
        if not progress:
            stuck = sorted(n for n, nodes in pending.items() if nodes)
            raise ValueError(
                f"Cannot rebuild functional model {config.get('name')!r}: the inputs of "
                f"layers {stuck} are never produced. The config is inconsistent."
            )

    inputs = _structure(config["input_layers"], produced)
    outputs = _structure(config["output_layers"], produced)
    from lamina.models.model import Model

    target = Model if cls.__name__ == "Functional" else cls
    return target(inputs=inputs, outputs=outputs, name=config.get("name"),
                  trainable=config.get("trainable", True))


def _without_default_training(operation, kwargs):
    """`kwargs` less a `training` equal to the layer's own `call` default.

    NOTE: Keras records the flag a layer resolved in its node, so its files hold
    `training: False` for every Dropout and `training: True` for every RandomFlip; Keras
    lets the model's flag override them at run time. Replayed as explicit arguments they
    would freeze those layers in one mode (no dropout in `fit`, flips in `predict`), so a
    recorded default is dropped; a value that differs from it was the user's and stays.
    """
    if "training" not in kwargs or not isinstance(operation, Layer):
        return kwargs
    has_training, default, *_ = _call_signature(type(operation))
    if has_training and kwargs["training"] == default:
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    return kwargs


def _tensor_at(produced, history):
    layer, node_index, tensor_index = history[:3]
    if layer not in produced or node_index >= len(produced[layer]):
        raise ValueError(
            f"Functional config refers to node {node_index} of layer {layer!r}, which does "
            "not exist."
        )
    flat = [t for t in tree.flatten(produced[layer][node_index]) if isinstance(t, KerasTensor)]
    return flat[tensor_index]


def _is_history(value):
    return (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _structure(spec, produced):
    """`input_layers`/`output_layers` -> the same structure of tensors."""
    if _is_history(spec):
        return _tensor_at(produced, spec)
    if isinstance(spec, dict):
        return {k: _structure(v, produced) for k, v in spec.items()}
    return [_structure(v, produced) for v in spec]
