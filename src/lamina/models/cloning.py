"""`clone_model`: the same architecture with fresh weights."""

from lamina import tree
from lamina.backend.symbolic import KerasTensor
from lamina.layers.input_layer import Input, InputLayer
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with the same architecture and freshly initialised weights.

    `clone_function(layer)` makes each new layer (default: `layer.from_config(config)`).
    For Sequential and functional models the graph is re-run on new inputs
    (`input_tensors`, if given); subclassed models are rebuilt from their config. The
    clone of a compiled model is compiled the same way, with an optimizer of its own.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    >>> clone = lamina.models.clone_model(model)
    >>> clone.output_shape, clone.layers[0] is model.layers[0]
    ((None, 2), False)
    """
    if kwargs:
        raise ValueError(f"Unrecognized arguments for `clone_model`: {sorted(kwargs)}")
    if call_function is not None:
        raise NotImplementedError("`clone_model(call_function=...)` is not supported yet.")

    def default_clone(layer):
        if recursive and isinstance(layer, (Sequential, Functional)):
            return clone_model(layer, clone_function=clone_function, recursive=True)
        return type(layer).from_config(layer.get_config())

    make = clone_function or default_clone
    if isinstance(model, Sequential):
        layers = [make(layer) for layer in model.layers]
        if input_tensors is not None:
            inputs = input_tensors[0] if isinstance(input_tensors, (list, tuple)) else (
                input_tensors)
            return _compiled_like(model, Sequential([inputs, *layers], name=model.name))
        if model._inputs is not None:
            first = Input(batch_shape=model._inputs.shape, dtype=model._inputs.dtype,
                          name=model._inputs.name)
            return _compiled_like(model, Sequential([first, *layers], name=model.name))
        return _compiled_like(model, Sequential(layers, name=model.name))
    if isinstance(model, Functional):
        flat_old = tree.flatten(model.input)
        if input_tensors is None:
            new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t.name)
                          for t in flat_old]
        else:
            new_inputs = tree.flatten(input_tensors)
            if len(new_inputs) != len(flat_old) or not all(
                    isinstance(t, KerasTensor) for t in new_inputs):
                raise ValueError(
                    f"`input_tensors` must be {len(flat_old)} KerasTensor(s) from "
                    "`lamina.Input`, one per model input."
                )
        # NOTE: ops recorded from functions (`ops.add`) hold no weights: they are reused.
        clones = {id(op): make(op) if hasattr(op, "get_config") and not hasattr(op, "fn")
                  else op
                  for op in model.operations if not isinstance(op, InputLayer)}
        outputs = model._run_with_operations(new_inputs, clones)
        inputs_struct = tree.pack_sequence_as(model.input, new_inputs)
        return _compiled_like(model, Model(inputs_struct, outputs, name=model.name))
    return deserialize_keras_object(serialize_keras_object(model))  # compiles if compiled


def _compiled_like(model, clone):
    """Compile `clone` as `model` was (a fresh optimizer of the same config), as Keras does."""
    if getattr(model, "compiled", False):
        clone.compile_from_config(model.get_compile_config())
    return clone
