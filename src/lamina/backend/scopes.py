"""`StatelessScope` and `SymbolicScope`: Keras' backend scopes, on torch variables.

A lamina `Variable` is an `nn.Parameter`, so a stateless scope swaps each mapped
variable's storage for a copy of its mapped value on entry and swaps it back on exit:
layers read the mapped values, updates land in the copies, and the variables come out
unchanged.
"""

import contextvars

import torch

from lamina.backend.convert import convert_to_tensor

_STATELESS = contextvars.ContextVar("lamina_stateless_scope", default=None)
_SYMBOLIC = contextvars.ContextVar("lamina_symbolic_scope", default=None)


class StatelessScope:
    """Run code against given variable values without changing the variables.

    Args:
        state_mapping: `(variable, value)` pairs; inside the scope each variable reads
            `value`. Variables not listed are read and written as usual.
        collect_losses: collect losses added inside the scope in `scope.losses`.
        initialize_variables: kept for Keras compatibility (lamina variables are
            created initialized).

    >>> import lamina
    >>> v = lamina.Variable(1.0)
    >>> with StatelessScope([(v, 5.0)]) as scope:
    ...     _ = v.assign(v * 2)
    >>> float(v.numpy()), float(scope.get_current_value(v))
    (1.0, 10.0)
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses = []
        self._variables = {}  # id -> variable
        self.state_mapping = {}  # id -> the value the variable reads inside the scope
        for variable, value in state_mapping or ():
            if not isinstance(variable, torch.nn.Parameter) or not hasattr(variable, "path"):
                raise ValueError(
                    "Invalid reference variable in StatelessScope: all keys in argument "
                    f"`mapping` must be Variable instances. Received instead: {variable}"
                )
            value = convert_to_tensor(value, dtype=variable.dtype).detach()
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    "Invalid variable value in StatelessScope: all values in argument "
                    "`mapping` must be tensors with a shape that matches the corresponding "
                    f"variable shape. For variable {variable.path}, received a value of "
                    f"shape {tuple(value.shape)}, expected {tuple(variable.shape)}."
                )
            self._variables[id(variable)] = variable
            self.state_mapping[id(variable)] = value.to(variable.device)
        self._saved = {}

    def __enter__(self):
        self._token = _STATELESS.set(self)
        for key, variable in self._variables.items():
            self._saved[key] = variable.data
            variable.data = self.state_mapping[key].clone()
        return self

    def add_loss(self, loss):
        self.losses.append(loss)

    def add_update(self, update):
        variable, value = update
        self._variables[id(variable)] = variable
        self.state_mapping[id(variable)] = value

    def get_current_value(self, variable):
        """The variable's value at scope exit (None for a variable the scope never saw)."""
        return self.state_mapping.get(id(variable))

    def __exit__(self, *exc):
        for key, original in self._saved.items():
            variable = self._variables[key]
            self.state_mapping[key] = variable.data
            variable.data = original
        self._saved = {}
        _STATELESS.reset(self._token)
        return False


def in_stateless_scope():
    return _STATELESS.get() is not None


def get_stateless_scope():
    return _STATELESS.get()


class SymbolicScope:
    """Mark code as running on symbolic tensors (shape inference), as Keras' scope.

    >>> with SymbolicScope():
    ...     in_symbolic_scope()
    True
    """

    def __enter__(self):
        self._token = _SYMBOLIC.set(self)
        return self

    def __exit__(self, *exc):
        _SYMBOLIC.reset(self._token)
        return False


def in_symbolic_scope():
    return _SYMBOLIC.get() is not None


def get_symbolic_scope():
    return _SYMBOLIC.get()
