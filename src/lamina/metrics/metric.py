"""The `Metric` base class: state in non-trainable Variables, updated on device.

`update_state` accumulates into the metric's Variables without reading anything back to
the host; `result` computes the value (a tensor) only when asked.
"""

import torch

from lamina import initializers
from lamina.backend import config, naming
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import standardize_compute_dtype
from lamina.variables import Variable


def _resolve_initializer(initializer):
    if isinstance(initializer, str):
        key = initializer.lower()
        if key == "zeros":
            return lambda shape, dtype=None: torch.zeros(shape, dtype=to_torch_dtype(dtype))
        if key == "ones":
            return lambda shape, dtype=None: torch.ones(shape, dtype=to_torch_dtype(dtype))

        return initializers.get(initializer)
    return initializer


class Metric:
    """Base class for metrics: subclass it, create state in `__init__` with `add_variable`,
    and implement `update_state(...)` and `result()`.

    Metric state lives in non-trainable `lamina.Variable`s on the device of the inputs
    (they follow the inputs on the first update from another device).

    Args:
        dtype: dtype of the metric's computations and state (default `floatx()`).
        name: name of the metric (default: the snake-case class name, made unique).

    >>> import lamina
    >>> class Total(lamina.metrics.Metric):
    ...     def __init__(self, name="total", dtype=None):
    ...         super().__init__(name=name, dtype=dtype)
    ...         self.total = self.add_variable(shape=(), initializer="zeros", name="total")
    ...     def update_state(self, values):
    ...         self.total.assign_add(lamina.backend.convert_to_tensor(values).sum())
    ...     def result(self):
    ...         return self.total.detach().clone()
    >>> m = Total()
    >>> m.update_state([1.0, 2.0])
    >>> float(m.result())
    3.0
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._dtype = standardize_compute_dtype(dtype)
        self._variables = []
        self._metrics = []
        self._device = config.get_device()

    def __setattr__(self, name, value):
        if isinstance(value, Metric) and name != "_metrics" and "_metrics" in self.__dict__:
            self._metrics.append(value)
        super().__setattr__(name, value)

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state Variable of `shape` for this metric."""
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call `super().__init__()` before `add_variable`."
            )
        variable = Variable(
            initializer=_resolve_initializer(initializer),
            shape=shape,
            dtype=dtype or self._dtype,
            trainable=False,
            aggregation=aggregation,
            synchronization="on_read",
            name=name,
        )
        variable._path = f"{self.name.replace('/', '>')}/{variable.name}"
        if variable.device != self._device:
            variable.data = variable.data.to(self._device)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """As `add_variable` (kept for Keras 2 style code)."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    @property
    def trainable_variables(self):
        return []

    @property
    def non_trainable_variables(self):
        return self.variables

    def _follow_device(self, tensor):
        """Move the state to `tensor`'s device if it lives elsewhere (a cheap check)."""
        device = tensor.device
        if device != self._device:
            for variable in self._variables:
                variable.data = variable.data.to(device)
            for metric in self._metrics:
                metric._follow_device(tensor)
            self._device = device

    def reset_state(self):
        """Set every state variable back to zero."""
        with torch.no_grad():
            for variable in self.variables:
                variable.zero_()

    def update_state(self, *args, **kwargs):
        """Accumulate statistics from one batch. Subclasses implement this."""
        raise NotImplementedError(f"Metric {type(self).__name__} must implement `update_state`.")

    def result(self):
        """The metric's current value, as a tensor. Subclasses implement this."""
        raise NotImplementedError(f"Metric {type(self).__name__} must implement `result`.")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
