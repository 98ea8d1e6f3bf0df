"""`lamina.dtype_policies`: which dtype a layer computes in and stores its weights in."""

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.serialization.serialization import deserialize_keras_object

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_GLOBAL_POLICY = None


class DTypePolicy:
    """A layer's dtype policy: `compute_dtype` and `variable_dtype` (they differ only for
    the mixed policies `"mixed_float16"` and `"mixed_bfloat16"`).

    >>> DTypePolicy("mixed_bfloat16").compute_dtype
    'bfloat16'
    """

    _keras_module = "keras"

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name if _GLOBAL_POLICY is not None else config.floatx()
        if isinstance(name, DTypePolicy):
            name = name.name
        name = str(name)
        if name in _MIXED:
            self._compute, self._variable = _MIXED[name], "float32"
        else:
            try:
                dtype = standardize_dtype(name)
            except ValueError:
                raise ValueError(
                    f"Cannot convert {name!r} to a dtype policy. Expected a dtype name such as "
                    "'float32', or 'mixed_float16' / 'mixed_bfloat16'."
                ) from None
            self._compute = self._variable = dtype
            name = dtype
        self._name = name
        self.compute_torch_dtype = to_torch_dtype(self._compute)
        self.variable_torch_dtype = to_torch_dtype(self._variable)

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute

    @property
    def variable_dtype(self):
        return self._variable

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict):
            raise ValueError(f"A {cls.__name__} config must be a dict like "
                             f"{{'name': 'float32'}}. Received: {config!r:.80}")
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


FloatDTypePolicy = DTypePolicy


def get(identifier):
    """A `DTypePolicy` from a name, a config dict, a policy, or None (the global policy)."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name", "DTypePolicy") not in ("DTypePolicy",
                                                               "FloatDTypePolicy"):
            # Any other class goes through the registry and safe mode, like every slot.

            return get(deserialize_keras_object(identifier))
        return DTypePolicy.from_config(identifier.get("config", identifier))
    return DTypePolicy(standardize_dtype(identifier) if not isinstance(identifier, str)
                       else identifier)


def serialize(policy):
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": policy.name}, "registered_name": None}


def deserialize(config, custom_objects=None):
    return get(config)


def set_dtype_policy(policy):
    """Set the global policy used by layers created without a `dtype`."""
    global _GLOBAL_POLICY
    _GLOBAL_POLICY = get(policy) if policy is not None else None


def dtype_policy():
    """The global dtype policy (floatx unless set with `set_dtype_policy`)."""
    return _GLOBAL_POLICY if _GLOBAL_POLICY is not None else DTypePolicy(config.floatx())
