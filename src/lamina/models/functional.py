"""Functional models: a graph of layer calls recorded on `KerasTensor`s, run as a plan.

The graph is analysed once, at construction, into a flat list of steps over numbered
slots; a call fills the input slots and replays the steps. No graph search per call.
"""

from typing import NamedTuple

import numpy as np
import torch

from lamina import tree
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import STRING, to_torch_dtype
from lamina.backend.symbolic import KerasTensor, compute_output_spec, has_string_input
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.layer import Layer, module_calls_skippable, runs_forward_only
from lamina.layers.tracking import TrackedList
from lamina.models.functional_config import functional_from_config, functional_get_config
from lamina.models.graph import cut_at_inputs, walk
from lamina.models.model import Model


class _Slot:
    """Where a graph tensor goes in a step's arguments: the index of the slot holding it."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _Step(NamedTuple):
    """One call of the plan: `op(*args, **kwargs)` with each `_Slot` filled from its slot."""

    op: object
    args: list
    kwargs: dict
    in_slot: int | None  # the slot of the only argument when the call is `op(x)`, else None
    single_out: bool  # the call returns one tensor, stored in `out_slots[0]`
    out_slots: tuple  # the slots of the call's flattened outputs
    frees: tuple  # slots last read by this step, cleared after it
    is_layer: bool  # `op` is a Layer (a model may call its `forward` directly)


def adjust_input_rank(x, expected_shape):
    """`x` with a trailing axis of size 1 added or removed to match `expected_shape`'s
    rank (Keras does this for every model input), else `x` unchanged."""
    rank, expected = x.ndim, len(expected_shape)
    if rank == expected + 1 and x.shape[-1] == 1:
        adjusted = x.squeeze(-1)
    elif rank == expected - 1 and expected and expected_shape[-1] == 1:
        adjusted = x.unsqueeze(-1)
    else:
        return x
    mask = getattr(x, "_keras_mask", None)
    if mask is not None:
        adjusted._keras_mask = mask
    return adjusted


def _spec_function(op):
    """`op` as a function from `KerasTensor`s to its output specs, recording no node."""
    def spec(*args, **kwargs):
        if getattr(op, "_takes_strings", False) or has_string_input(args, kwargs):
            return op.compute_output_spec(*args, **kwargs)
        return compute_output_spec(op, *args, **kwargs)
    return spec


def _clone_input(tensor):
    """A fresh `Input` standing for the intermediate tensor `tensor` (Keras' naming)."""
    return Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=f"{tensor.name}CLONE")


class Functional(Model):
    """A model defined by `Model(inputs, outputs)` on symbolic tensors."""

    _bookkeeping = frozenset({"_plan", "_operations", "_flat_inputs", "_flat_outputs",
                              "_inputs_struct", "_outputs_struct", "_output_slots"})

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        flat_inputs = tree.flatten(inputs)
        flat_outputs = tree.flatten(outputs)
        for t in flat_inputs:
            if not isinstance(t, KerasTensor):
                raise ValueError(
                    "All `inputs` of a functional Model must be KerasTensors from "
                    f"`lamina.Input`. Received: {t!r}"
                )
        for t in flat_outputs:
            if not isinstance(t, KerasTensor):
                raise ValueError(
                    f"All `outputs` of a functional Model must be KerasTensors. Received: {t!r}"
                )
        if not all(isinstance(getattr(t._keras_history, "operation", None), InputLayer)
                   for t in flat_inputs):
            inputs, outputs = cut_at_inputs(inputs, outputs, _clone_input)
            flat_inputs, flat_outputs = tree.flatten(inputs), tree.flatten(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = flat_inputs
        self._flat_outputs = flat_outputs
        graph = walk(inputs, outputs)
        # NOTE: written past `__setattr__`: it holds layers for bookkeeping, not as children.
        self.__dict__["_graph"] = graph
        # NOTE: Keras' layer order (deepest first), which fixes the h5 weight paths.
        layers = [op for op in graph.operations if isinstance(op, Layer)]
        names = [layer.name for layer in layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"The name {duplicates[0]!r} is used {names.count(duplicates[0])} times in the "
                "model. All layer names should be unique: pass distinct `name=` arguments."
            )
        self._modules["layers"] = TrackedList(layers)
        self._build_plan(sorted(graph.nodes, key=lambda node: node.creation_index))
        self.built = True
        self._build_shapes = {"input_shape": tree.map_structure(lambda t: t.shape, inputs)}

    def _build_plan(self, nodes):
        """Number the graph's tensors (slots) and record one `_Step` per node in `nodes`
        (creation order), so a call replays a flat list with no graph search."""
        slot_of = {id(t): i for i, t in enumerate(self._flat_inputs)}

        def to_slot(x):
            return _Slot(slot_of[id(x)]) if isinstance(x, KerasTensor) else x

        steps, n_slots = [], len(self._flat_inputs)
        for node in nodes:
            if isinstance(node.operation, InputLayer):
                continue
            args = tree.map_structure(to_slot, list(node.call_args))
            kwargs = tree.map_structure(to_slot, node.call_kwargs)
            out_slots = tuple(range(n_slots, n_slots + len(node.outputs)))
            n_slots += len(out_slots)
            slot_of.update((id(t), slot) for t, slot in zip(node.outputs, out_slots))
            simple = len(args) == 1 and isinstance(args[0], _Slot) and not kwargs
            steps.append(_Step(
                op=node.operation, args=args, kwargs=kwargs,
                in_slot=args[0].index if simple else None,
                single_out=len(out_slots) == 1 and isinstance(node.output_structure,
                                                             KerasTensor),
                out_slots=out_slots, frees=(), is_layer=isinstance(node.operation, Layer)))
        self._output_slots = [slot_of[id(t)] for t in self._flat_outputs]
        # Free each intermediate slot after its last use, so memory matches plain torch.
        last_use = {}
        for i, step in enumerate(steps):
            for a in tree.flatten((step.args, step.kwargs)):
                if isinstance(a, _Slot):
                    last_use[a.index] = i
        frees = [[] for _ in steps]
        for slot, i in last_use.items():
            if slot not in self._output_slots:
                frees[i].append(slot)
        # NOTE: stored as plain tuples in `_Step`'s field order: `_run` unpacks them, and
        # CPython unpacks an exact tuple about twice as fast as a NamedTuple.
        self._plan = [tuple(step._replace(frees=tuple(free)))
                      for step, free in zip(steps, frees)]
        self._n_slots = n_slots
        self._single_output = isinstance(self._outputs_struct, KerasTensor)
        self._input_rank = len(self._flat_inputs[0].shape) if self._flat_inputs else None
        # The torch dtype of each input; None for a string input (strings have none).
        self.__dict__["_input_dtypes"] = [
            None if t.dtype == STRING else to_torch_dtype(t.dtype) for t in self._flat_inputs]

    def _run(self, flat_inputs, operations=None):
        slots = [None] * self._n_slots
        slots[: len(flat_inputs)] = flat_inputs
        direct = operations is None and module_calls_skippable()
        for op, args, kwargs, in_slot, single_out, out_slots, frees, is_layer in self._plan:
            if operations is not None:
                op = operations.get(id(op), op)
            if in_slot is not None:
                if direct and is_layer and runs_forward_only(op):
                    result = op.forward(slots[in_slot])
                else:
                    result = op(slots[in_slot])
            else:
                def fill(x):
                    return slots[x.index] if isinstance(x, _Slot) else x
                result = op(*tree.map_structure(fill, args), **tree.map_structure(fill, kwargs))
            if single_out:
                slots[out_slots[0]] = result
            else:
                for slot, value in zip(out_slots, tree.flatten(result)):
                    slots[slot] = value
            for slot in frees:
                slots[slot] = None
        if self._single_output:
            return slots[self._output_slots[0]]
        return tree.pack_sequence_as(self._outputs_struct,
                                     [slots[i] for i in self._output_slots])

    def _run_with_operations(self, flat_inputs, operations):
        """Replay the graph with the operations in `{id(old): new}` swapped in (used by
        `clone_model`)."""
        return self._run(list(flat_inputs), operations)

    def forward(self, inputs, *args, **kwargs):
        if not kwargs and not args and len(self._flat_inputs) == 1:
            x = inputs
            if (x.__class__ is torch.Tensor and x.dtype is self._input_dtypes[0]
                    and x.ndim == self._input_rank):
                return self._run([x])
        return self._full_call((inputs, *args), kwargs)

    @property
    def _takes_strings(self):
        """Text inputs (`Input(dtype="string")`) reach their layers as numpy arrays."""
        return any(t.dtype == STRING for t in self._flat_inputs)

    def call(self, inputs, training=None, mask=None):
        flat = self._flatten_call_inputs(inputs)
        if mask is not None:
            for x, m in zip(flat, tree.flatten(mask)):
                if m is not None:
                    x._keras_mask = m
        return self._run(flat)

    def _convert_inputs(self, inputs):
        return inputs

    def _flatten_call_inputs(self, inputs):
        expected = self._inputs_struct
        if isinstance(expected, dict):
            if not isinstance(inputs, dict):
                if len(self._flat_inputs) == 1 and not isinstance(inputs, (list, tuple)):
                    inputs = {next(iter(expected)): inputs}
                else:
                    raise ValueError(
                        f"Model '{self.name}' expects a dict of inputs with keys "
                        f"{sorted(expected)}, but received a {type(inputs).__name__}."
                    )
            missing = sorted(set(expected) - set(inputs))
            unknown = sorted(set(inputs) - set(expected))
            if missing or unknown:
                raise ValueError(
                    f"Model '{self.name}' expects input keys {sorted(expected)}, but received "
                    f"keys {sorted(inputs)} (missing: {missing}, unexpected: {unknown})."
                )
            flat = tree.flatten({k: inputs[k] for k in expected})
        elif len(self._flat_inputs) == 1:
            if isinstance(inputs, dict):
                name = self._flat_inputs[0].name
                if set(inputs) != {name}:
                    raise ValueError(
                        f"Model '{self.name}' expects one input named {name!r}, but received "
                        f"a dict with keys {sorted(inputs)}."
                    )
                inputs = inputs[name]
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
                inputs = inputs[0]
            flat = [inputs]
        else:
            if isinstance(inputs, dict):
                names = [t.name for t in self._flat_inputs]
                if set(inputs) != set(names):
                    raise ValueError(
                        f"Model '{self.name}' expects inputs named {names}, but received a "
                        f"dict with keys {sorted(inputs)}."
                    )
                flat = [inputs[n] for n in names]
            else:
                flat = tree.flatten(inputs)
                if len(flat) != len(self._flat_inputs):
                    raise ValueError(
                        f"Model '{self.name}' expects {len(self._flat_inputs)} inputs "
                        f"with shapes {[t.shape for t in self._flat_inputs]}, but received "
                        f"{len(flat)} input(s)."
                    )
        result = []
        for i, (x, spec) in enumerate(zip(flat, self._flat_inputs)):
            dtype = self._input_dtypes[i]
            if not isinstance(x, torch.Tensor) or x.dtype is not dtype:
                if dtype is None and not isinstance(x, KerasTensor):
                    result.append(self._host_strings(x, i, spec))
                    continue
                if not isinstance(x, KerasTensor):
                    x = convert_to_tensor(x, dtype=spec.dtype)
            if isinstance(x, torch.Tensor):
                x = adjust_input_rank(x, spec.shape)
                shape = tuple(x.shape)
                if len(shape) != len(spec.shape) or any(
                        e is not None and e != g for e, g in zip(spec.shape, shape)):
                    raise ValueError(
                        f"Input {i} of model '{self.name}' is incompatible: expected shape "
                        f"{spec.shape}, received shape {shape}."
                    )
            result.append(x)
        return result

    def _host_strings(self, x, index, spec):
        """Input `index` (a string input) as a numpy string array of `spec`'s rank."""
        if isinstance(x, torch.Tensor):
            raise ValueError(
                f"Input {index} of model '{self.name}' has dtype 'string': pass a numpy "
                f"array (or a list) of strings, not a torch tensor of dtype {x.dtype}."
            )
        array = np.asarray(x)
        if array.dtype.kind not in "USO":
            raise ValueError(
                f"Input {index} of model '{self.name}' has dtype 'string', but received "
                f"an array of dtype {array.dtype}."
            )
        expected = len(spec.shape)
        if array.ndim == expected + 1 and array.shape[-1] == 1:
            array = array[..., 0]
        elif array.ndim == expected - 1 and expected and spec.shape[-1] == 1:
            array = array[..., None]
        if array.ndim != expected or any(
                e is not None and e != g for e, g in zip(spec.shape, array.shape)):
            raise ValueError(
                f"Input {index} of model '{self.name}' is incompatible: expected shape "
                f"{spec.shape}, received shape {array.shape}."
            )
        return array

    def _symbolic_call(self, args, kwargs):
        # Calling a functional model on new symbolic inputs records it as one layer node.
        return Layer._symbolic_call(self, args, kwargs)

    # -- graph properties ------------------------------------------------------------------
    @property
    def operations(self):
        """Every layer and op of the graph, `InputLayer`s included, in Keras' order
        (deepest first): a new list on each read.

        >>> import lamina
        >>> x = lamina.Input((3,), name="x")
        >>> model = lamina.Model(x, lamina.ops.relu(lamina.layers.Dense(2, name="d")(x)))
        >>> [op.name for op in model.operations]
        ['x', 'd', 'relu']
        """
        return list(self._graph.operations)

    @property
    def inputs(self):
        return self._flat_inputs if not isinstance(self._inputs_struct, dict) else (
            self._inputs_struct)

    @property
    def outputs(self):
        return self._flat_outputs if not isinstance(self._outputs_struct, dict) else (
            self._outputs_struct)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = tree.map_structure(lambda t: t.shape, self._inputs_struct)
        return shapes

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def input_names(self):
        return [t.name for t in self._flat_inputs]

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        return [t._keras_history.operation.name for t in self._flat_outputs]

    def compute_output_spec(self, *args, **kwargs):
        if not self._takes_strings:
            return Layer.compute_output_spec(self, *args, **kwargs)
        # Strings have no fake-tensor stand-in: the plan is replayed on specs, step by step.
        specs = {id(op): _spec_function(op) for op, *_ in self._plan}
        return self._run(self._flatten_call_inputs(args[0]), specs)

    def get_config(self):
        return functional_get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_from_config(cls, config, custom_objects)
