"""`Layer`: the Keras layer lifecycle on a `torch.nn.Module`.

`__init__` stores configuration, `build(input_shape)` creates weights with `add_weight`,
`call(inputs, ...)` computes. Calling a layer goes through `nn.Module.__call__` (so torch
hooks, `torch.compile` and tracing see it) into `forward`, which builds on first use,
resolves the `training` flag and masks, and runs `call`. Once built, a plain call on one
tensor takes a short fast path.

What a layer holds (tracked attributes, weights, losses, the weight-file layout) is in
`layer_state.py`, its symbolic side (functional graphs, shape inference) in
`layer_graph.py`, the automatic `get_config` in `auto_config.py`.
"""

import functools
import inspect
import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch.compiler import is_dynamo_compiling

from lamina import dtype_policies, regularizers, tree
from lamina.backend import naming, remat
from lamina.backend.context import TRAINING
from lamina.backend.convert import convert_to_tensor
from lamina.backend.symbolic import any_symbolic, real_tensors
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
from lamina.layers.layer_graph import LayerGraph, shape_of
from lamina.layers.layer_state import LayerState, plain_torch_modules
from lamina.ops.operation import Operation

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


def _add_note(error, note):
    if hasattr(error, "add_note"):
        error.add_note(note)


class Layer(LayerState, LayerGraph, torch.nn.Module, Operation):
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
    # Text layers read numpy string arrays on the host: those reach `call` unconverted.
    _takes_strings = False

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
                             _fast_path=False, _planned=False, _inbound_nodes=[])
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.__dict__["_remat_mode"] = remat.get_current_remat_mode()
        if self._remat_mode is not None:  # created inside a RematScope
            self.__dict__["call"] = remat.remat_call(self, self.call, self._remat_mode)
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

    @property
    def quantization_mode(self):
        """The quantization mode of this layer (`"int8"`, ...), None if not quantized."""
        policy = self.dtype_policy
        if isinstance(policy, dtype_policies.DTypePolicyMap):
            policy = policy[self.path]
        return policy.quantization_mode

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize this layer's weights (Dense, EinsumDense and Embedding implement it)."""
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not have a `quantize` method implemented.")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build", cls.build)
        # Also a `build` inherited from a mixin that is not a Layer (not scoped yet).
        if "build" in cls.__dict__ or (build is not Layer.build
                                       and not getattr(build, "_lamina_scoped", False)):
            cls.build = _scoped_build(build)

    # -- build ---------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def _first_input(self, args, kwargs):
        """The first input of a call: the first positional argument, else `call`'s first
        parameter passed by name."""
        if args:
            return args[0]
        return kwargs.get(_call_signature(type(self)).first_input)

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = self._first_input(args, kwargs)
        shapes = tree.map_structure(shape_of, first)
        signature = _call_signature(type(self))
        build_params, call_params = signature.build_params, signature.call_params
        build_kwargs = {}
        if len(build_params) > 1:
            for name in build_params[1:]:
                base = name[: -len("_shape")] if name.endswith("_shape") else name
                if base in kwargs:
                    build_kwargs[name] = tree.map_structure(shape_of, kwargs[base])
                elif base in call_params:
                    index = call_params.index(base)
                    if index < len(args):
                        build_kwargs[name] = tree.map_structure(shape_of, args[index])
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
        opened = not naming.NAME_SCOPE or naming.NAME_SCOPE[-1] != self.name
        if opened:
            naming.NAME_SCOPE.append(self.name)
        try:
            layer.build(*shapes)
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
        if is_dynamo_compiling():
            # NOTE: Dynamo cannot read a ContextVar (a graph break per layer). Compiled
            # models (jit_compile, torch.compile) use torch's own mechanism: the trainer
            # sets module mode, which Dynamo guards on. torch.export's non-strict tracing
            # runs plain Python and takes the context path below (export's scope says
            # training=False, which random layers' default of True must not override).
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
                plain_modules = self.__dict__["_plain_torch_modules"] = plain_torch_modules(self)
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
        if not self._planned:  # after the first call, or the first after a `build()`
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
        self.__dict__["_plain_torch_modules"] = plain_torch_modules(self)
        self.__dict__["_planned"] = True
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
                if self._takes_strings and isinstance(x, np.ndarray) and x.dtype.kind in "US":
                    return x
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
        shapes = tree.map_structure(shape_of, first) if first is not None else None
        _add_note(error, f"(raised in layer '{self.name}' ({type(self).__name__}) called on "
                         f"input of shape {shapes})")

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


# --- calling sublayers without `nn.Module.__call__` --------------------------------------
_MODULE_CALL = torch.nn.Module.__call__
_nn_module = torch.nn.modules.module


def module_calls_skippable():
    """Whether a model may call its hook-free layers' `forward` directly: no global module
    hooks are registered and nothing records module calls (TorchScript tracing, Dynamo,
    `torch.export`). Models check once per call, then `runs_forward_only` per layer."""
    return not (_nn_module._global_forward_pre_hooks or _nn_module._global_forward_hooks
                or _nn_module._global_backward_pre_hooks or _nn_module._global_backward_hooks
                or torch._C._get_tracing_state() or torch.compiler.is_compiling())


def runs_forward_only(module):
    """Whether `module(x)` would only run `module.forward(x)`: no hooks on it, no
    `Module.compile()`, no `__call__` of its own. Skipping `nn.Module.__call__`'s two
    frames saves about 1 us per layer, which batch-1 inference notices."""
    return not (module._forward_pre_hooks or module._forward_hooks
                or module._backward_pre_hooks or module._backward_hooks
                or module._compiled_call_impl is not None
                or module.__class__.__call__ is not _MODULE_CALL)


__all__ = ["Layer", "InputSpec"]
