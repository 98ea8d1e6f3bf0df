"""`DTypePolicyMap`: dtype policies by layer path (exact, else one regex full match)."""

import re
from collections.abc import MutableMapping

from lamina.dtype_policies.dtype_policy import DTypePolicy, QuantizedDTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Maps layer paths to policies; a path without an entry gets `default_policy`.

    A key matches a path exactly or, failing that, as a regular expression
    (`re.fullmatch`); a path matching several patterns is an error.

    >>> policy_map = DTypePolicyMap(default_policy="float32")
    >>> policy_map["encoder/.*"] = "bfloat16"
    >>> policy_map["encoder/dense"].name, policy_map["decoder"].name
    ('bfloat16', 'float32')
    """

    _keras_module = "keras.dtype_policies"

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError("If specified, `policy_map` must be a dict. Received: "
                            f"policy_map={policy_map!r:.80} of type {type(policy_map).__name__}")
        self._default_policy_arg = default_policy
        self._default_policy = _get(default_policy)
        self._policy_map = {key: _get(value) for key, value in (policy_map or {}).items()}

    # NOTE: the dtype attributes read through to the default policy, whatever the global
    # policy is when they are read (as Keras).
    @property
    def default_policy(self):
        return _get(self._default_policy)

    @property
    def name(self):
        return f"map_{self.default_policy.name}"

    @property
    def compute_dtype(self):
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.default_policy.variable_dtype

    @property
    def compute_torch_dtype(self):
        return self.default_policy.compute_torch_dtype

    @property
    def variable_torch_dtype(self):
        return self.default_policy.variable_torch_dtype

    @property
    def quantization_mode(self):
        return self.default_policy.quantization_mode

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple dtype policy specification keys: {matches}. "
                "Please make sure each path only matches at most one dtype policy "
                "specification key in the DTypePolicyMap.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key, policy):
        if key in self._policy_map:
            raise ValueError(f"{key} already exist in the DTypePolicyMap with value "
                             f"{self._policy_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        try:
            policy = _get(policy)
        except Exception:
            raise ValueError("Cannot interpret the assigned value by "
                             f"`keras.dtype_policies.get`. Received: {policy!r:.80} of type "
                             f"{type(policy).__name__}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key):
        return key in self._policy_map

    def __len__(self):
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other):
        return (isinstance(other, DTypePolicyMap) and self.default_policy == other.default_policy
                and self._policy_map == other._policy_map)

    __hash__ = object.__hash__

    def get_config(self):
        from lamina.dtype_policies import serialize  # cycle: the package imports this module

        entries = {}
        for key, policy in self._policy_map.items():
            entry = serialize(policy)
            if self._default_policy_arg is None:
                # NOTE: Keras writes the entries of a map without a default policy without
                # their source dtype, so they follow the global policy when loaded.
                inner = dict(entry["config"])
                if isinstance(policy, QuantizedDTypePolicy):
                    inner["source_name"] = None
                else:
                    inner["name"] = None
                entry = {**entry, "config": inner}
            entries[key] = entry
        default = self._default_policy_arg
        return {"default_policy": default if default is None or isinstance(default, str)
                else serialize(_get(default)),
                "policy_map": entries}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def __repr__(self):
        mapping = [(key, policy.name) for key, policy in self._policy_map.items()]
        return (f"<DTypePolicyMap at {hex(id(self))} default_policy="
                f"{self._default_policy.name}, mapping={mapping}>")


def _get(identifier):
    from lamina.dtype_policies import get  # cycle: the package imports this module

    return get(identifier)
