"""`MultiOptimizer` and `OptimizerMap`: a different optimizer per group of variables."""

import re
import warnings
from collections.abc import MutableMapping

from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.optimizer import Optimizer
from lamina.serialization import serialization


def _check_inner(optimizer, what):
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{what} must be a Keras Optimizer instance. Received: {optimizer}")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{what} cannot be a LossScaleOptimizer: wrap the MultiOptimizer "
                         "in the LossScaleOptimizer instead.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{what} cannot be a MultiOptimizer (they do not nest).")


class OptimizerMap(MutableMapping):
    """Variable paths (exact, else `re.fullmatch` patterns) to optimizers.

    Args:
        default_optimizer: the optimizer of variables no key matches.
        optimizer_map: optional initial `{path or pattern: optimizer}` dict.

    >>> import lamina
    >>> opts = OptimizerMap(lamina.optimizers.SGD(name="sgd"))
    >>> opts["encoder/.*"] = lamina.optimizers.Adam(name="adam")
    >>> opts["encoder/dense/kernel"].name, opts["decoder/dense/kernel"].name
    ('adam', 'sgd')
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be a Keras Optimizer instance. "
                            f"Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, path):
        """The optimizer of `path`: an exact key, else the one pattern that fully matches it."""
        if path in self._optimizer_map:
            return self._optimizer_map[path]
        matches = [p for p in self._optimizer_map if re.fullmatch(p, path)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {path}: patterns "
                             f"{matches} all match it. Make the patterns exclusive.")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]}. Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        _check_inner(optimizer, "optimizer")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[variable.path]

    def get_config(self):
        return {
            "default_optimizer": serialization.serialize_keras_object(self._default_optimizer),
            "optimizer_map": serialization.serialize_keras_object(self._optimizer_map),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        def load(value):
            return serialization.deserialize_keras_object(value, custom_objects=custom_objects)
        mapping = load(config["optimizer_map"])
        if mapping:  # a plain dict round-trips with its values still serialized
            mapping = {k: load(v) if isinstance(v, dict) else v for k, v in mapping.items()}
        return cls(load(config["default_optimizer"]), mapping)


class MultiOptimizer(Optimizer):
    """Update each variable with the optimizer its path maps to.

    Args:
        optimizer_map: an `OptimizerMap`, or a callable `variable -> Optimizer`.
        loss_scale_factor: set on every inner optimizer (overriding theirs).
        name: the optimizer's name.

    It has no `learning_rate` of its own: read and set it on `optimizers`.

    >>> import torch, lamina
    >>> sgd, adam = lamina.optimizers.SGD(0.5), lamina.optimizers.Adam(0.1)
    >>> opt = MultiOptimizer(OptimizerMap(sgd, {"a": adam}))
    >>> a, b = lamina.Variable([1.0], name="a"), lamina.Variable([1.0], name="b")
    >>> opt.apply([torch.tensor([1.0]), torch.tensor([1.0])], [a, b])
    >>> [round(float(v.numpy()[0]), 3) for v in (a, b)]
    [0.9, 0.5]
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        self._inner_optimizers = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in [*candidates, *([default] if default is not None else [])]:
            self._adopt(optimizer)
        self._index_of_variable = {}

    def _adopt(self, optimizer):
        if not any(optimizer is known for known in self._inner_optimizers):
            optimizer.loss_scale_factor = self.loss_scale_factor
            self._inner_optimizers.append(optimizer)
        return next(i for i, known in enumerate(self._inner_optimizers) if known is optimizer)

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        groups = {}
        for variable in var_list:
            optimizer = self._optimizer_map(variable)
            _check_inner(optimizer, f"The optimizer for variable '{variable.path}'")
            index = self._adopt(optimizer)
            self._index_of_variable[id(variable)] = index
            groups.setdefault(index, []).append(variable)
        for index, variables in groups.items():
            self._inner_optimizers[index].build(variables)
        super().build(var_list)

    @property
    def optimizers(self):
        """The inner optimizers, each once, in the order they were first met."""
        return self._inner_optimizers

    @property
    def variables(self):
        own = self._variables[:]
        for optimizer in self._inner_optimizers:
            own.extend(optimizer.variables)
        return own

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access "
                             "the learning rate on the individual sub-optimizers instead "
                             "(`optimizer.optimizers`).")

    @learning_rate.setter
    def learning_rate(self, value):
        if getattr(self, "_learning_rate", None) is None:
            return  # the base constructor's placeholder
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the "
                             "learning rate on the individual sub-optimizers instead "
                             "(`optimizer.optimizers`).")

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for optimizer in self._inner_optimizers:
            optimizer.loss_scale_factor = value

    def apply(self, grads, trainable_variables=None):
        """Send each gradient to its variable's optimizer; one step for each of them."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"Optimizer '{self.name}' received `grads` without `trainable_variables`"
                    " before being built. Call `optimizer.build(trainable_variables)` first "
                    "or pass the variables.")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(f"Optimizer '{self.name}' expects one gradient per variable. "
                             f"Received {len(grads)} gradients for {len(variables)} variables.")
        groups = {}
        for grad, variable in zip(grads, variables):
            group = groups.setdefault(self._index_of_variable[id(variable)], ([], []))
            group[0].append(grad)
            group[1].append(variable)
        for index, (group_grads, group_variables) in groups.items():
            self._inner_optimizers[index].apply(group_grads, group_variables)
        self._iterations.data.add_(1)

    def finalize_variable_values(self, var_list):
        groups = {}
        for variable in var_list:
            groups.setdefault(self._index_of_variable[id(variable)], []).append(variable)
        for index, variables in groups.items():
            self._inner_optimizers[index].finalize_variable_values(variables)

    def save_own_variables(self, store):
        for i, variable in enumerate(self.variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        variables = self.variables
        if len(store.keys()) != len(variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has "
                f"{len(variables)} variables but the saved state has {len(store.keys())} "
                "(do its patterns match the loaded model's variable paths?).", stacklevel=2)
            return
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])

    def get_config(self):
        return {
            "optimizer_map": serialization.serialize_keras_object(self._optimizer_map),
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = serialization.deserialize_keras_object(
            config["optimizer_map"], custom_objects=custom_objects)
        return cls(**config)
