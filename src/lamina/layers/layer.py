"""`Layer`: the Keras layer lifecycle on a `torch.nn.Module`.

`__init__` stores configuration, `build(input_shape)` creates weights with `add_weight`,
`call(inputs, ...)` computes. Calling a layer goes through `nn.Module.__call__` (so torch
hooks, `torch.compile` and tracing see it) into `forward`, which builds on first use,
resolves the `training` flag and masks, and runs `call`. Once built, a plain call on one
tensor takes a short fast path.
"""

import functools
import inspect
import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch.compiler import is_compiling

from lamina import constraints, dtype_policies, initializers, regularizers, tree
from lamina.backend import naming
from lamina.backend.context import TRAINING
from lamina.backend.convert import convert_to_numpy, convert_to_tensor
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import (
    DATA_DEPENDENT_ERRORS,
    KerasTensor,
    any_symbolic,
    compute_output_spec,
    in_symbolic_run,
    real_tensors,
)
from lamina.layers.auto_config import (
    ARGUMENTS,
    auto_config,
    constructor_arguments,
    uses_auto_config,
)
from lamina.layers.input_spec import (
    InputSpec,
    assert_input_compatibility,
    compile_input_check,
)
from lamina.layers.tracking import TrackedContainer, should_track, wrap
from lamina.ops.node import Node
from lamina.ops.operation import Operation
from lamina.random.seed_generator import SeedGenerator
from lamina.serialization.serialization import charge_variable
from lamina.variables import Variable, bump_state_version

_ALLOWED_KWARGS = {"input_shape", "input_dim", "batch_input_shape", "batch_size", "weights"}
_SIGNATURES = {}  # class -> facts about its call/build signatures (see _call_signature)


class _CallSignature(NamedTuple):
    """Facts about a layer class's `call` and `build` signatures."""

    has_training: bool
    training_default: object  # `call`'s default for `training` (None if it has none)
    has_mask: bool
    build_params: list  # `build`'s named parameters, after `self`
    has_var_kwargs: bool
    first_input: str  # `call`'s first parameter: the name its first input takes as a keyword
    call_params: list  # `call`'s parameter names, after `self`


def _call_signature(cls):
    """`cls`'s `_CallSignature`, computed once per class."""
    info = _SIGNATURES.get(cls)
    if info is None:
        params = inspect.signature(cls.call).parameters
        has_training = "training" in params
        default = params["training"].default if has_training else None
        if default is inspect.Parameter.empty:
            default = None
        build_params = [
            name for name, p in inspect.signature(cls.build).parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        call_params = list(params)[1:]
        first = params[call_params[0]] if call_params else None
        # NOTE: a `call(self, *args, **kwargs)` names no first input; "inputs" is the
        # keyword Keras code passes then.
        first_input = first.name if first is not None and first.kind in (
            first.POSITIONAL_OR_KEYWORD, first.KEYWORD_ONLY) else "inputs"
        info = _CallSignature(
            has_training, default, "mask" in params, build_params,
            any(p.kind is p.VAR_KEYWORD for p in params.values()), first_input, call_params)
        _SIGNATURES[cls] = info
    return info


def _first_input(layer, args, kwargs):
    """The first input of a call: the first positional argument, else `call`'s first
    parameter passed by name."""
    if args:
        return args[0]
    return kwargs.get(_call_signature(type(layer)).first_input)


def _shape_of(x):
    if isinstance(x, (torch.Tensor, KerasTensor, np.ndarray)):
        return tuple(x.shape)
    return None


def _add_note(error, note):
    if hasattr(error, "add_note"):
        error.add_note(note)


class Layer(torch.nn.Module, Operation):
    """Base class of all layers: a `torch.nn.Module` with the Keras lifecycle.

    Args:
        trainable: whether the layer's weights are updated in training.
        name: layer name; unique automatic names (`dense`, `dense_1`...) by default.
        dtype: dtype policy name (`"float32"`, `"mixed_bfloat16"`, ...).
        activity_regularizer: penalty on the layer's output, added to `losses`.

    >>> import lamina
    >>> class Scale(lamina.Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.w
    >>> layer = Scale()
    >>> layer(lamina.ops.ones((2, 3))).shape
    torch.Size([2, 3])
    >>> [w.path for w in layer.weights]
    ['scale/variable']
    """

    # NOTE: set by layers whose `call` combines the input with float weights (Dense, the
    # normalizations, RNNs): Keras' dtype promotion makes them accept int and bool inputs
    # (one-hot data) and compute in float, so they cast such inputs to the compute dtype.
    _casts_integer_inputs = False

    # Attributes that hold layers or tensors for bookkeeping, not as tracked children.
    # A subclass declares its own the same way; `__init_subclass__` merges them.
    _bookkeeping = frozenset({"_tracked_variables", "_losses", "_build_shapes",
                              "_inbound_nodes"})
    _auto_config = True  # `get_config` adds the constructor arguments (auto_config.py)

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance.__dict__[ARGUMENTS] = constructor_arguments(cls, args, kwargs)
        return instance

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True,
                 name=None, **kwargs):
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{ {k: kwargs[k] for k in sorted(unknown)} }"
            )
        if "_modules" not in self.__dict__:
            torch.nn.Module.__init__(self)
        self.training = False  # Keras semantics: inference unless told otherwise
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(
                f"Argument `name` must be a string without '/'. Received: name={name!r}"
            )
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        self.dtype_policy = dtype_policies.get(dtype)
        self.autocast = autocast
        self.input_spec = None
        # Bookkeeping goes straight into __dict__: it must not be tracked as torch state.
        self.__dict__.update(_tracked_variables=[], _losses=[], _build_shapes=None,
                             _fast_path=False, _inbound_nodes=[])
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if "supports_masking" not in self.__dict__:
            self.supports_masking = type(self).compute_mask is not Layer.compute_mask
        self._initial_weights = kwargs.get("weights")
        shape = kwargs.get("batch_input_shape")
        if shape is None and "input_shape" in kwargs:
            shape = (kwargs.get("batch_size"), *tuple(kwargs["input_shape"]))
        if shape is None and "input_dim" in kwargs:
            shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        self._batch_input_shape = tuple(shape) if shape is not None else None

    # -- dtype ---------------------------------------------------------------------------
    @property
    def dtype(self):
        """The dtype of the layer's weights (a name, e.g. `"float32"`)."""
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.dtype_policy.variable_dtype

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
        elif isinstance(value, torch.nn.Module) and not isinstance(value, Layer):
            # Imported here: torch_module_wrapper's layer subclasses Layer (a cycle).
            from lamina.layers.torch_module_wrapper import adopt_torch_module

            adopt_torch_module(value)
            self.__dict__.pop("_plain_torch_modules", None)
            self.__dict__["_fast_path"] = False
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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._bookkeeping = frozenset(cls.__dict__.get("_bookkeeping", ())).union(
            *(getattr(base, "_bookkeeping", ()) for base in cls.__bases__))
        if "build" in cls.__dict__:
            cls.build = _scoped_build(cls.__dict__["build"])

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
            if isinstance(module, Layer):
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
            if module is not None and not isinstance(module, Layer) and not isinstance(
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
            own += [generator.state for generator in _held_seed_generators(self)]
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
            if module is not None and not isinstance(module, (Layer, TrackedContainer)):
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

    # -- build ---------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = _first_input(self, args, kwargs)
        shapes = tree.map_structure(_shape_of, first)
        signature = _call_signature(type(self))
        build_params, call_params = signature.build_params, signature.call_params
        build_kwargs = {}
        if len(build_params) > 1:
            for name in build_params[1:]:
                base = name[: -len("_shape")] if name.endswith("_shape") else name
                if base in kwargs:
                    build_kwargs[name] = tree.map_structure(_shape_of, kwargs[base])
                elif base in call_params:
                    index = call_params.index(base)
                    if index < len(args):
                        build_kwargs[name] = tree.map_structure(_shape_of, args[index])
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, first, self)
        with real_tensors():
            self.build(shapes, **build_kwargs)
        self.built = True
        self._build_shapes = {"input_shape": shapes, **build_kwargs}
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _build_child(self, layer, *shapes):
        """Build the sublayer `layer` for `shapes` (its first input's shape, then any more
        its `build` takes) as its first call would, recording its build config. Its weights
        get paths like `outer/inner/kernel`: called from this layer's `build` or first call,
        this layer's name is already in scope; called elsewhere, it is opened here. A layer
        already built (or not a Layer) is left alone.
        """
        if not isinstance(layer, Layer) or layer.built:
            return
        shapes = tuple(s if s is None or isinstance(s, dict) else tuple(s) for s in shapes)
        build = type(layer).build
        if not getattr(build, "_lamina_scoped", False):
            build = _scoped_build(build)  # a `build` inherited from a non-Layer mixin
        opened = not naming.NAME_SCOPE or naming.NAME_SCOPE[-1] != self.name
        if opened:
            naming.NAME_SCOPE.append(self.name)
        try:
            build(layer, *shapes)
        finally:
            if opened:
                naming.NAME_SCOPE.pop()
        layer.built = True
        layer.__dict__["_build_shapes"] = {"input_shape": shapes[0] if shapes else None}

    def build_from_config(self, config):
        """Rebuild from `get_build_config()`'s output (used when loading)."""
        if config and not self.built:
            shapes = config.get("input_shape")
            if shapes is not None:
                def as_shape(s):
                    return tuple(s) if isinstance(s, (list, tuple)) and all(
                        d is None or isinstance(d, int) for d in s) else s
                shapes = tree.map_structure(as_shape, shapes) if not all(
                    d is None or isinstance(d, int) for d in shapes) else tuple(shapes)
                self.build(shapes)
                self._build_shapes = {"input_shape": shapes}
            self.built = True

    def get_build_config(self):
        if self._build_shapes is not None:
            return {k: v for k, v in self._build_shapes.items()}
        return None

    # -- calling -------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        return inputs

    def forward(self, *args, **kwargs):
        if self._fast_path and not kwargs and len(args) == 1:
            x = args[0]
            if (x.__class__ is torch.Tensor and x.dtype is self._compute_torch_dtype
                    and getattr(x, "_keras_mask", None) is None):
                if self._losses:
                    self._losses.clear()
                check = self._input_check
                if check is not None and not check(x):
                    assert_input_compatibility(self.input_spec, x, self)
                try:
                    return self.call(x)
                except Exception as error:
                    self._explain_failure(error, x)
                    raise
        return self._full_call(args, kwargs)

    def _full_call(self, args, kwargs):
        if any_symbolic(args, kwargs):
            return self._symbolic_call(args, kwargs)
        (has_training, training_default, has_mask, _, has_var_kwargs, first_input,
         _) = _call_signature(type(self))
        args = list(args)
        if args:
            args[0] = first = self._convert_inputs(args[0])
        elif first_input in kwargs:
            kwargs[first_input] = first = self._convert_inputs(kwargs[first_input])
        else:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was called without inputs."
            )
        first_call = not self.built
        if first_call:
            self._maybe_build(args, kwargs)
        elif self.input_spec is not None:
            check = self.__dict__.get("_input_check")
            if check is None or not check(first):
                assert_input_compatibility(self.input_spec, first, self)

        # The training-flag rule of `backend/context.py`, inlined: explicit argument >
        # enclosing call or fit/evaluate scope > module mode (`train()`) > call default.
        # A flag that is set is put in the context so that sublayers see it.
        training = kwargs.get("training")
        token = None
        if is_compiling():
            # NOTE: Dynamo cannot read a ContextVar (a graph break per layer). Compiled
            # models (jit_compile, torch.compile, export) use torch's own mechanism: the
            # trainer sets module mode, which Dynamo guards on.
            training = bool(training) if training is not None else (
                True if self.training else bool(training_default))
        else:
            if training is None:
                training = TRAINING.get()
                if training is None:
                    if self.training or training_default is not None:
                        training = True if self.training else bool(training_default)
                        token = TRAINING.set(training)
                    else:
                        training = False  # unset: each sublayer keeps its own default
            else:
                training = bool(training)
                if TRAINING.get() is not training:
                    token = TRAINING.set(training)
            plain_modules = self.__dict__.get("_plain_torch_modules")
            if plain_modules is None:
                plain_modules = self.__dict__["_plain_torch_modules"] = _plain_torch_modules(
                    self)
            for module in plain_modules:
                if module.training is not training:
                    module.train(training)  # plain torch modules read their mode, not the flag
        if has_training:
            kwargs["training"] = training
        else:
            kwargs.pop("training", None)

        previous_mask = tree.map_structure(
            lambda t: getattr(t, "_keras_mask", None), first
        ) if isinstance(first, (list, tuple, dict)) else getattr(first, "_keras_mask", None)
        if has_mask or self.supports_masking:
            if has_mask and kwargs.get("mask") is None and previous_mask is not None and (
                    not isinstance(previous_mask, (list, tuple, dict))
                    or any(m is not None for m in tree.flatten(previous_mask))):
                kwargs["mask"] = previous_mask
        if not has_mask and not has_var_kwargs:
            kwargs.pop("mask", None)
        if self._losses:
            self._losses.clear()
        if first_call:
            naming.NAME_SCOPE.append(self.name)
        try:
            outputs = self.call(*args, **kwargs)
        except Exception as error:
            self._explain_failure(error, first)
            raise
        finally:
            if first_call:
                naming.NAME_SCOPE.pop()
            if token is not None:
                TRAINING.reset(token)
        if self.activity_regularizer is not None:
            for out in tree.flatten(outputs):
                if isinstance(out, torch.Tensor):
                    self.add_loss(self.activity_regularizer(out) / out.shape[0]
                                  if out.ndim > 0 else self.activity_regularizer(out))
        if self.supports_masking:
            self._attach_mask(first, outputs, kwargs.get("mask", previous_mask))
        elif previous_mask is not None and not has_mask and any(
                m is not None for m in tree.flatten(previous_mask)):
            warnings.warn(
                f"Layer '{self.name}' ({type(self).__name__}) received an input with a mask, "
                "but it does not support masking: the mask is dropped and later layers will "
                "not see it.", stacklevel=3)
        if first_call:
            self._plan_fast_path()
        return outputs

    def _attach_mask(self, inputs, outputs, previous_mask):
        """Give each output the mask `compute_mask` pairs with it (as Keras: masks pair
        with outputs in order, and an output that already carries a mask keeps it)."""
        flat_out = tree.flatten(outputs)
        if all(getattr(out, "_keras_mask", None) is not None for out in flat_out):
            return
        mask = self.compute_mask(inputs, previous_mask)
        if mask is None:
            return
        for out, m in zip(flat_out, tree.flatten(mask)):
            if (isinstance(out, torch.Tensor) and m is not None
                    and getattr(out, "_keras_mask", None) is None):
                try:
                    out._keras_mask = m
                except AttributeError:
                    pass

    def _plan_fast_path(self):
        """Decide once, after the first call, whether plain calls can skip straight to
        `call`: no training/mask arguments to resolve and no regularizer to apply."""
        signature = _call_signature(type(self))
        has_training, has_mask = signature.has_training, signature.has_mask
        self._compute_torch_dtype = self.dtype_policy.compute_torch_dtype
        self.__dict__["_input_check"] = compile_input_check(self.input_spec)
        self.__dict__["_plain_torch_modules"] = _plain_torch_modules(self)
        self._fast_path = (
            not has_training and not has_mask and self.activity_regularizer is None
            and not self._plain_torch_modules
            and (not self.supports_masking or type(self).compute_mask is Layer.compute_mask)
        )

    def _convert_inputs(self, inputs):
        dtype = self.dtype_policy.compute_torch_dtype
        promote = self._casts_integer_inputs

        def convert(x):
            if not isinstance(x, torch.Tensor):
                if isinstance(x, (str, bytes)):
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) takes tensors or "
                        f"numeric arrays as input. Received a {type(x).__name__}: {x!r:.60}"
                    )
                if not (isinstance(x, (np.ndarray, np.generic, float, int, bool)) or (
                        isinstance(x, list) and x and not isinstance(x[0], torch.Tensor))):
                    return x
                x = convert_to_tensor(x)
            if x.is_floating_point():
                if self.autocast and x.dtype is not dtype:
                    return x.to(dtype)
            elif promote and not x.is_complex():
                return x.to(dtype)
            return x

        if isinstance(inputs, (tuple, dict)) or (
                isinstance(inputs, list) and inputs and not _is_number_list(inputs)
                and isinstance(inputs[0], (torch.Tensor, np.ndarray, list, dict, tuple))):
            return tree.map_structure(convert, inputs)
        return convert(inputs)

    def _explain_failure(self, error, first):
        """On a failing call on `first` (the first input), check the input spec for a
        clearer error, or add a note."""
        if getattr(error, "_lamina_explained", False):
            return
        try:
            error._lamina_explained = True
        except AttributeError:
            pass
        if first is not None and self.input_spec is not None and isinstance(
                error, (RuntimeError, ValueError, IndexError)):
            try:
                assert_input_compatibility(self.input_spec, first, self)
            except ValueError as clearer:
                raise clearer from error
        shapes = tree.map_structure(_shape_of, first) if first is not None else None
        _add_note(error, f"(raised in layer '{self.name}' ({type(self).__name__}) called on "
                         f"input of shape {shapes})")

    def _symbolic_call(self, args, kwargs):
        first = _first_input(self, args, kwargs)
        if not self.built:
            self._maybe_build(args, kwargs)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, first, self)
        try:
            outputs = compute_output_spec(self._full_call_tuple, args, kwargs)
        except DATA_DEPENDENT_ERRORS:
            # A data-dependent output shape: only the layer's own shape rule can tell.
            if type(self).compute_output_shape is Layer.compute_output_shape:
                raise
            shapes = self.compute_output_shape(tree.map_structure(_shape_of, first))
            if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
                outputs = KerasTensor(shapes, dtype=self.compute_dtype)
            else:
                outputs = tree.map_structure(
                    lambda s: KerasTensor(s, dtype=self.compute_dtype), list(shapes))
        if not self._fast_path and self.built:
            self._plan_fast_path()
        Node(self, args, kwargs, outputs)
        return outputs

    def _full_call_tuple(self, args, kwargs):
        return self._full_call(tuple(args), dict(kwargs))

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape`; by default inferred by a symbolic run of `call`."""
        def spec(shape):
            return KerasTensor(shape, dtype=self.compute_dtype)

        out = self.compute_output_spec(tree.map_structure(spec, input_shape)
                                       if isinstance(input_shape, (list, dict)) and
                                       not all(isinstance(d, (int, type(None)))
                                               for d in input_shape)
                                       else spec(input_shape))
        return tree.map_structure(lambda t: t.shape, out)

    def compute_output_spec(self, *args, **kwargs):
        if not self.built:
            self._maybe_build(args, kwargs)
        return compute_output_spec(self._full_call_tuple, args, kwargs)

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs; by default the input mask passes through."""
        return previous_mask

    # -- config --------------------------------------------------------------------------
    def get_config(self):
        """Everything `__init__` needs to rebuild this layer (JSON-serializable)."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self.dtype_policy),
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if type(self) is Layer:
            config.update({"activity_regularizer": None, "autocast": self.autocast})
        elif uses_auto_config(type(self)):
            config.update(auto_config(self, config))
        return config

    @classmethod
    def from_config(cls, config):
        """Create a layer from `get_config()`'s output."""
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = dtype_policies.deserialize(config["dtype"])
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config={config}. "
                f"Exception encountered: {error}"
            ) from error

    # -- misc ----------------------------------------------------------------------------
    @property
    def path(self):
        return self.name

    @property
    def input(self):
        return self._node_attr("input_tensors", single=True, what="input")

    @property
    def output(self):
        return self._node_attr("outputs", single=True, what="output")

    def _node_attr(self, attr, single, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' ({type(self).__name__}) has never been called on a "
                f"symbolic input, so it has no defined {what}."
            )
        node = self._inbound_nodes[0]  # as Keras 3: the first call's, however many
        if attr == "outputs":
            return node.output_structure
        values = node.input_tensors
        return values[0] if len(values) == 1 else values

    def get_output_at(self, node_index):
        return self._inbound_nodes[node_index].output_structure

    def get_input_at(self, node_index):
        values = self._inbound_nodes[node_index].input_tensors
        return values[0] if len(values) == 1 else values

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    def _get_name(self):  # torch's module repr uses this
        return type(self).__name__

    def __getstate__(self):
        # NOTE: the compiled input check is a closure (unpicklable); it is rebuilt on load,
        # so `torch.save(model)` and `copy.deepcopy` work.
        state = dict(self.__dict__)
        state.pop("_input_check", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if state.get("_fast_path") is not None and self.built:
            self.__dict__["_input_check"] = compile_input_check(self.input_spec)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def _scoped_build(build):
    """Wrap a subclass's `build` so weights it creates get paths like `dense/kernel`, however
    it is called (lazily or by hand); nested `super().build()` calls push the name once."""

    @functools.wraps(build)
    def scoped(self, *args, **kwargs):
        if self.__dict__.get("_building"):
            return build(self, *args, **kwargs)
        self.__dict__["_building"] = True
        naming.NAME_SCOPE.append(self.name)
        try:
            result = build(self, *args, **kwargs)
        finally:
            naming.NAME_SCOPE.pop()
            self.__dict__["_building"] = False
        self.built = True
        if self.__dict__.get("_build_shapes") is None and args:
            self.__dict__["_build_shapes"] = {"input_shape": args[0]}
        return result

    scoped._lamina_scoped = True
    return scoped


def _is_number_list(value):
    """True for a (nested) Python list of numbers: one array, not a structure of inputs."""
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, (int, float, bool, np.number))


def _plain_torch_modules(layer):
    """The plain `torch.nn.Module`s directly inside `layer` (through tracked lists and
    dicts): they read their torch mode, so each call sets it from the training flag."""
    found = []
    stack = list(layer._modules.values())
    while stack:
        module = stack.pop()
        if module is None or isinstance(module, Layer):
            continue
        if isinstance(module, TrackedContainer):
            stack.extend(module._modules.values())
        else:
            found.append(module)
    return tuple(found)


def _held_seed_generators(layer):
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


__all__ = ["Layer", "InputSpec"]
