"""`LayerState`: what a layer holds. Attribute tracking (sublayers, weights and plain torch
modules assigned as attributes), weights and variables, losses, and Keras' weight-file
layout. A mixin of `Layer` (before `torch.nn.Module` in its bases); the lifecycle and the
call path are in `layer.py`.
"""

import numpy as np
import torch

from lamina import constraints, initializers, regularizers, tree
from lamina.backend.convert import convert_to_numpy, convert_to_tensor
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import in_symbolic_run, real_tensors
from lamina.layers.auto_config import ARGUMENTS
from lamina.layers.tracking import TrackedContainer, should_track, wrap
from lamina.random.seed_generator import SeedGenerator
from lamina.serialization.serialization import charge_variable
from lamina.variables import Variable, bump_state_version


class LayerState:
    """Tracking, weights and losses of a `Layer` (see `Layer` for the public API).

    Every `Layer` is a `LayerState`: the `isinstance` checks below find sublayers.
    """

    # Attributes that hold layers or tensors for bookkeeping, not as tracked children.
    # A subclass declares its own the same way; `__init_subclass__` merges them.
    _bookkeeping = frozenset({"_tracked_variables", "_losses", "_build_shapes",
                              "_inbound_nodes"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._bookkeeping = frozenset(cls.__dict__.get("_bookkeeping", ())).union(
            *(getattr(base, "_bookkeeping", ()) for base in cls.__bases__))

    # -- attribute tracking --------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_modules" not in self.__dict__ and isinstance(
            value, (torch.nn.Module, torch.Tensor, list, tuple, dict)
        ):
            torch.nn.Module.__init__(self)
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules and value is not None and not isinstance(
                value, torch.nn.Module):
            # NOTE: a plain value replaces a layer or tracked list held under the same name,
            # as in Keras (`self.vocabulary = [...]` again); torch alone would refuse it.
            del modules[name]
            bump_state_version()
        if isinstance(value, (Variable, torch.nn.Module)):
            bump_state_version()
        if isinstance(value, Variable):
            self._untrack_tensor(value)
            self.__dict__.pop(name, None)
            self._modules.pop(name, None)
            self._register_variable(name, value)
            if not any(v is value for v in self._tracked_variables):
                self._tracked_variables.append(value)
            return
        if should_track(value) and name not in type(self)._bookkeeping:
            value = wrap(value)
        if isinstance(value, TrackedContainer):
            self.__dict__.pop("_plain_torch_modules", None)
            for item in tree.flatten(list(value.values()) if isinstance(value, dict)
                                     else list(value)):
                if isinstance(item, Variable):
                    self._untrack_tensor(item)
                    if not any(v is item for v in self._tracked_variables):
                        self._tracked_variables.append(item)
        elif isinstance(value, torch.nn.Module) and not isinstance(value, LayerState):
            # Imported here: torch_module_wrapper's layer subclasses Layer (a cycle).
            from lamina.layers.torch_module_wrapper import adopt_torch_module

            adopt_torch_module(value)
            self.__dict__.pop("_plain_torch_modules", None)
            self.__dict__["_fast_path"] = self.__dict__["_planned"] = False
        super().__setattr__(name, value)

    def __getattr__(self, name):
        # NOTE: same lookups as nn.Module.__getattr__ (weights live in these dicts), inlined
        # because every `self.kernel` read in `call` lands here.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            values = d.get(store)
            if values is not None and name in values:
                return values[name]
        # A property that raised AttributeError also lands here; surface its own message.
        prop = getattr(type(self), name, None)
        if isinstance(prop, property) and prop.fget is not None:
            prop.fget(self)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _register_variable(self, name, variable):
        key = name.replace("/", "_").replace(".", "_")
        is_param = getattr(variable, "_lamina_is_param", None)
        if is_param is None:
            is_param = variable._lamina_is_param = variable.trainable
        if is_param and not self.__dict__.get("_trainable", True):
            variable.trainable = False  # created in a frozen layer: frozen too, as in Keras
        self.__dict__.pop(key, None)
        if is_param:
            self._buffers.pop(key, None)
            self._parameters[key] = variable
        else:
            self._parameters.pop(key, None)
            self._buffers[key] = variable

    def _untrack_tensor(self, tensor):
        for store in (self._parameters, self._buffers):
            for key in [k for k, v in store.items() if v is tensor]:
                del store[key]

    def _apply(self, fn, recurse=True):
        # NOTE: torch replaces buffers with new tensors on `.to()`; non-trainable
        # Variables must keep their identity (optimizers and layers hold them), so move
        # their data in place as torch does for parameters.
        variables = {k: b for k, b in self._buffers.items() if isinstance(b, Variable)}
        result = super()._apply(fn, recurse)
        for key, variable in variables.items():
            new = self._buffers[key]
            if new is not variable:
                variable.data = new
                self._buffers[key] = variable
        return result

    # -- weights -------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Create a weight of this layer (a `lamina.Variable`), tracked in `weights`.

        `initializer` defaults to `"glorot_uniform"` for floats and `"zeros"` otherwise.
        """
        shape = () if shape is None else tuple(shape)
        dtype = standardize_dtype(dtype or self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        initializer = initializers.get(initializer)
        # NOTE: while loading, a file's shapes are checked against the budget before any
        # allocation.
        charge_variable(self, name or "variable", shape, to_torch_dtype(dtype).itemsize)
        with real_tensors():
            variable = Variable(initializer, shape=shape, dtype=dtype, trainable=trainable,
                                autocast=autocast, aggregation=aggregation, name=name)
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        variable.overwrite_with_gradient = overwrite_with_gradient
        self._tracked_variables.append(variable)
        bump_state_version()
        key = name or "variable"
        if key in self._parameters or key in self._buffers or key in self._modules:
            key = f"{key}_{len(self._tracked_variables)}"
        self._register_variable(key, variable)
        return variable

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    def _sublayers(self):
        """Direct sublayers, in tracking order (through lists and dicts)."""
        out = []
        stack = list(self._modules.values())
        stack.reverse()
        while stack:
            module = stack.pop()
            if isinstance(module, LayerState):
                if not any(m is module for m in out):
                    out.append(module)
            elif module is not None:
                children = list(module._modules.values())
                children.reverse()
                stack.extend(children)
        return out

    def _flatten_layers(self, include_self=True, recursive=True):
        layers = [self] if include_self else []
        seen = {id(self)}
        queue = self._sublayers()
        while queue:
            layer = queue.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            layers.append(layer)
            if recursive:
                queue = layer._sublayers() + queue
        return layers

    def _own_variables(self):
        own = list(self._tracked_variables)
        seen = {id(v) for v in own}
        for module in self._modules.values():
            if module is not None and not isinstance(module, LayerState) and not isinstance(
                    module, TrackedContainer):
                for p in module.parameters():
                    if id(p) not in seen:
                        seen.add(id(p))
                        own.append(p)
        trainable = [v for v in own if getattr(v, "_lamina_is_param", v.requires_grad)]
        non_trainable = [v for v in own if not getattr(v, "_lamina_is_param", v.requires_grad)]
        return trainable + non_trainable

    @property
    def variables(self):
        """All state: this layer's weights (trainable first) and the state of each
        `SeedGenerator` it holds, then its sublayers' variables, deduplicated.

        Seed states are listed as in Keras, but are not weights: `weights`,
        `get_weights()` and weight files leave them out.
        """
        return self._gather_variables(seeds=True)

    @property
    def weights(self):
        """The weights: this layer's (trainable first), then its sublayers'."""
        return self._gather_variables(seeds=False)

    def _gather_variables(self, seeds):
        result, seen = [], set()
        own = self._own_variables()
        if seeds:
            own += [generator.state for generator in held_seed_generators(self)]
        for v in own:
            if id(v) not in seen:
                seen.add(id(v))
                result.append(v)
        for layer in self._sublayers():
            for v in layer._gather_variables(seeds):
                if id(v) not in seen:
                    seen.add(id(v))
                    result.append(v)
        return result

    @property
    def trainable_variables(self):
        if not self.trainable:
            return []
        return [v for v in self.variables if getattr(v, "trainable", v.requires_grad)]

    @property
    def non_trainable_variables(self):
        if not self.trainable:
            return self.variables
        return [v for v in self.variables if not getattr(v, "trainable", v.requires_grad)]

    trainable_weights = trainable_variables

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not getattr(v, "trainable", v.requires_grad)]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self.__dict__["_trainable"] = value
        bump_state_version()
        for v in self._tracked_variables:
            if getattr(v, "_lamina_is_param", True):
                v.trainable = value
        for module in self._modules.values():
            if module is not None and not isinstance(module, (LayerState, TrackedContainer)):
                module.requires_grad_(value)
        for layer in self._sublayers():
            layer.trainable = value

    def get_weights(self):
        """The weights as numpy arrays, in `weights` order (Keras' layout)."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has not been built yet, so it has "
                "no weights. Call it on data or call `layer.build(input_shape)` first."
            )
        return [convert_to_numpy(v) for v in self.weights]

    def set_weights(self, weights):
        """Set the weights from numpy arrays in `weights` order (Keras' layout)."""
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' "
                f"({type(self).__name__}) with a weight list of length {len(weights)}, but "
                f"the layer was expecting {len(variables)} weights."
            )
        for variable, value in zip(variables, weights):
            shape = tuple(np.shape(value))
            if shape != tuple(variable.shape):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) weight '{variable.path}' has "
                    f"shape {tuple(variable.shape)}, but the provided weight has shape {shape}."
                )
        for variable, value in zip(variables, weights):
            if isinstance(variable, Variable):
                variable.assign(convert_to_tensor(np.asarray(value), dtype=variable.dtype))
            else:
                with torch.no_grad():
                    variable.copy_(torch.as_tensor(np.asarray(value)))

    # -- weight files --------------------------------------------------------------------
    def save_own_variables(self, store):
        """Write this layer's own weights (not its sublayers') into `store` as `"0"`,
        `"1"`, ... (trainable first): Keras' weight-file layout. Override to save more;
        `super().save_own_variables(store)` keeps the default entries."""
        for i, variable in enumerate(self._own_variables()):
            store[str(i)] = variable

    def load_own_variables(self, store):
        """Assign this layer's own weights from `store` (as written by
        `save_own_variables`). Counts and shapes are checked before anything is assigned;
        keys that are not indices (extra entries an override saved) are ignored."""
        self._assign_from_store(store, self._own_variables())

    def _assign_from_store(self, store, variables):
        """Assign `variables` from the store's `"0"`, `"1"`, ... entries, after checking
        their count and shapes."""
        count = sum(1 for key in store.keys() if str(key).isdigit())
        path = getattr(store, "path", None)
        where = f"'{path}/vars'" if path else "'/vars'"
        if count != len(variables):
            if not variables and not self.built:
                raise ValueError(
                    f"Layer {type(self).__name__} '{self.name}' was never built, so it has no "
                    f"variables, but the weights file holds {count} at {where}. Build the "
                    "model (call it on data or call `model.build(input_shape)`) before "
                    "loading weights."
                )
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expected {len(variables)} variables "
                f"{[getattr(v, 'name', '?') for v in variables]}, but the weights file holds "
                f"{count} at {where}. The file was saved from a different architecture; "
                "pass `skip_mismatch=True` to skip such layers."
            )
        values = [store[str(i)] for i in range(count)]
        for i, (variable, value) in enumerate(zip(variables, values)):
            shape = tuple(np.shape(value))
            if shape != tuple(variable.shape):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': variable "
                    f"'{getattr(variable, 'path', i)}' has shape {tuple(variable.shape)}, but "
                    f"the weights file holds shape {shape} at '{path or ''}/vars/{i}'. Pass "
                    "`skip_mismatch=True` to skip mismatched layers."
                )
        with torch.no_grad():
            for variable, value in zip(variables, values):
                if not isinstance(value, torch.Tensor):
                    value = torch.as_tensor(np.asarray(value))
                variable.copy_(value.to(device=variable.device, dtype=variable.dtype))

    def count_params(self):
        """Total number of scalars in the layer's weights (the layer must be built)."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}' "
                f"({type(self).__name__}), but the layer isn't built. Build it first, e.g. "
                "`layer.build(batch_input_shape)` or call it on data."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # -- losses --------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar loss tensor (e.g. a penalty computed in `call`) to `losses`."""
        if in_symbolic_run():
            return  # a shape-only run's stand-in is no loss (Keras drops these too)
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added in the last call (`add_loss`, activity regularizers), then the
        penalties of the trainable weights' regularizers: frozen weights add none (Keras)."""
        result = [loss for layer in self._flatten_layers() for loss in layer._losses]
        for v in self.trainable_weights:
            if getattr(v, "regularizer", None) is not None:
                result.append(v.regularizer(v))
        return result

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses.clear()


def held_seed_generators(layer):
    """The `SeedGenerator`s in `layer`'s attributes, directly or in a list, tuple or dict."""
    found = []

    def visit(value):
        if isinstance(value, SeedGenerator):
            if not any(g is value for g in found):
                found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, SeedGenerator):
                    visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, SeedGenerator):
                    visit(item)

    for name, value in layer.__dict__.items():
        if name != ARGUMENTS:  # constructor arguments, not state
            visit(value)
    for module in layer._modules.values():
        if isinstance(module, TrackedContainer):
            visit(module)
    return found


def plain_torch_modules(layer):
    """The plain `torch.nn.Module`s directly inside `layer` (through tracked lists and
    dicts): they read their torch mode, so each call sets it from the training flag."""
    found = []
    stack = list(layer._modules.values())
    while stack:
        module = stack.pop()
        if module is None or isinstance(module, LayerState):
            continue
        if isinstance(module, TrackedContainer):
            stack.extend(module._modules.values())
        else:
            found.append(module)
    return tuple(found)
