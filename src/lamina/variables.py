"""`Variable`: a `torch.nn.Parameter` that speaks Keras.

A Variable *is* a tensor: torch ops take it directly, with no unwrapping. It adds Keras'
`assign`/`assign_add`/`assign_sub`, `numpy()`, `value`, `name`, `path`, `trainable`.
"""

import numpy as np
import torch

from lamina.backend import config, naming
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import register_eager_class


def _initial_value(initializer, shape, dtype):
    if callable(initializer):
        if shape is None:
            raise ValueError(
                "When creating a Variable from a callable initializer, pass `shape`. "
                f"Received: initializer={initializer!r}, shape=None"
            )
        try:
            shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"A Variable's shape must be a tuple of integers. Received: shape={shape!r:.80}"
            ) from None
        value = initializer(shape, dtype=dtype)
    else:
        if isinstance(initializer, str):
            from lamina import initializers

            return _initial_value(initializers.get(initializer), shape, dtype)
        value = initializer
    value = convert_to_tensor(value, dtype=dtype)
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"Initial value has shape {tuple(value.shape)}, but `shape={tuple(shape)}` "
            "was requested."
        )
    return value


class Variable(torch.nn.Parameter):
    """A stateful tensor with Keras' Variable API; also a `torch.nn.Parameter`.

    Args:
        initializer: initial value (array-like) or initializer (callable / name).
        shape: required when `initializer` is callable.
        dtype: dtype name; defaults to `floatx()` for floats.
        trainable: whether gradients flow to it (torch: `requires_grad`).
        name: short name, e.g. `"kernel"`.

    >>> import lamina
    >>> v = lamina.Variable([1.0, 2.0], name="v")
    >>> _ = v.assign_add([1.0, 1.0])
    >>> v.numpy().tolist()
    [2.0, 3.0]
    """

    def __new__(
        cls,
        initializer=None,
        shape=None,
        dtype=None,
        trainable=True,
        autocast=True,
        aggregation="none",
        synchronization="auto",
        name=None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Variable: {kwargs}")
        if dtype is None and (
            callable(initializer)
            or isinstance(initializer, (float, str))
            or (isinstance(initializer, (list, tuple)) and not _all_ints(initializer))
        ):
            dtype = config.floatx()
        if dtype is not None:
            dtype = standardize_dtype(dtype)
        with torch.no_grad():
            value = _initial_value(initializer, shape, dtype)
        value = value.detach()
        device = config.get_device()
        if value.device != device and not value.is_meta and value.device.type != "meta":
            value = value.to(device)
        trainable = bool(trainable)
        grad_ok = value.is_floating_point() or value.is_complex()
        self = torch.Tensor._make_subclass(cls, value, trainable and grad_ok)
        self._trainable = trainable
        self._name = name or "variable"
        self._path = naming.current_path(self._name)
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.regularizer = None
        self.constraint = None
        self.overwrite_with_gradient = False
        return self

    def __init__(self, *args, **kwargs):
        pass

    # -- Keras API -------------------------------------------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def path(self):
        return self._path

    @property
    def value(self):
        return self

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        _STATE_VERSION[0] += 1
        if self.is_floating_point() or self.is_complex():
            self.requires_grad_(self._trainable)

    def numpy(self, *, force=False):
        """The value as a NumPy array, bfloat16 widened to float32.

        Keras' `numpy()` always detaches and moves to the host, which is what torch's
        `force=True` asks for; `force` is accepted so torch callers (the ONNX exporter
        among them) keep `Tensor.numpy`'s signature.
        """
        value = self.detach()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy(force=True)

    def assign(self, value):
        """Write `value` into the variable in place (shape must match)."""
        if not isinstance(value, torch.Tensor):
            value = convert_to_tensor(value, dtype=self.dtype)
        if value.shape != self.shape:
            value_shape = tuple(value.shape)
            try:
                value = value.expand(self.shape) if value.ndim == 0 else value
            except RuntimeError:
                pass
            if value.shape != self.shape:
                raise ValueError(
                    f"The shape of the value assigned to variable '{self.path}' "
                    f"{value_shape} does not match the variable's shape {tuple(self.shape)}."
                )
        with torch.no_grad():
            self.copy_(value)
        return self

    def assign_add(self, value):
        with torch.no_grad():
            self.add_(value if isinstance(value, torch.Tensor) else
                      convert_to_tensor(value, dtype=self.dtype))
        return self

    def assign_sub(self, value):
        with torch.no_grad():
            self.sub_(value if isinstance(value, torch.Tensor) else
                      convert_to_tensor(value, dtype=self.dtype))
        return self

    # -- torch plumbing --------------------------------------------------------------------
    def __repr__(self):
        dtype = standardize_dtype(self.dtype)
        return (
            f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={dtype}, "
            f"value={np.array2string(self.numpy(), threshold=20)}>"
        )

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Variable(
            self.detach().clone(memory_format=torch.preserve_format),
            trainable=self._trainable,
            dtype=self.dtype,
            name=self._name,
        )
        result._path = self._path
        result.regularizer = self.regularizer
        result.constraint = self.constraint
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        return (
            _rebuild_variable,
            (self.detach(), self._trainable, self._name, self._path),
        )

    __torch_function__ = torch._C._disabled_torch_function_impl


_STATE_VERSION = [0]


def trainable_state_version():
    """A counter bumped whenever a weight is created or its `trainable` flag changes, so
    cached weight lists (e.g. the trainer's) know when to refresh."""
    return _STATE_VERSION[0]


def bump_state_version():
    _STATE_VERSION[0] += 1


def _all_ints(values):
    return all(isinstance(v, int) or (isinstance(v, (list, tuple)) and _all_ints(v))
               for v in values)


def _rebuild_variable(data, trainable, name, path):
    v = Variable(data, trainable=trainable, dtype=data.dtype, name=name)
    v._path = path
    return v


def is_variable(x):
    return isinstance(x, Variable)


register_eager_class(Variable)

__all__ = ["Variable", "is_variable", "to_torch_dtype"]
