"""`DTypePolicy` and its quantized variants: which dtype a layer computes in, which it
stores its weights in, and (for quantized layers) how its weights are quantized."""

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}
_GLOBAL_POLICY = None


def _parse_name(name):
    """`(compute_dtype, variable_dtype)` of a float policy name."""
    if not isinstance(name, str):
        raise TypeError("'name' must be a string, such as 'mixed_float16'. "
                        f"Received: name={name!r} (of type {type(name).__name__})")
    if name in _MIXED:
        return _MIXED[name]
    try:
        dtype = standardize_dtype(name)
    except ValueError:
        raise ValueError(
            f"Cannot convert {name!r} to a dtype policy. Expected a dtype name such as "
            "'float32', or 'mixed_float16' / 'mixed_bfloat16'."
        ) from None
    return dtype, dtype


class DTypePolicy:
    """A layer's dtype policy: `compute_dtype` and `variable_dtype` (they differ only for
    the mixed policies `"mixed_float16"` and `"mixed_bfloat16"`).

    >>> DTypePolicy("mixed_bfloat16").compute_dtype
    'bfloat16'
    """

    _keras_module = "keras"

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name
        if isinstance(name, DTypePolicy):
            name = name.name
        compute, variable = _parse_name(name)
        self._set_dtypes(compute, variable)
        self._name = name if name in _MIXED else compute
        self._quantization_mode = None

    def _set_dtypes(self, compute, variable):
        self._compute, self._variable = compute, variable
        # NOTE: resolved once here, so layers read torch dtypes without a lookup per call.
        self.compute_torch_dtype = to_torch_dtype(compute)
        self.variable_torch_dtype = to_torch_dtype(variable)

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute

    @property
    def variable_dtype(self):
        return self._variable

    @property
    def quantization_mode(self):
        """The quantization mode (`"int8"`, `"int4"`, `"float8"`...), None if not quantized."""
        return self._quantization_mode

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict):
            raise ValueError(f"A {cls.__name__} config must be a dict like "
                             f"{{'name': 'float32'}}. Received: {config!r:.80}")
        return cls(**config)

    def __eq__(self, other):
        # As Keras: a float policy equals only a float policy; a quantized one its own class.
        if type(self) in (DTypePolicy, FloatDTypePolicy):
            if type(other) not in (DTypePolicy, FloatDTypePolicy):
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        name = "DTypePolicy" if type(self) is FloatDTypePolicy else type(self).__name__
        return f'<{name} "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """As `DTypePolicy` (Keras' older name)."""

    _keras_module = "keras.dtype_policies"


class QuantizedDTypePolicy(DTypePolicy):
    """A policy whose layers hold quantized weights: `mode` (`"int8"`, `"int4"`) applied to
    a layer of float policy `source_name` (the global policy when None).

    >>> policy = QuantizedDTypePolicy("int8", "mixed_bfloat16")
    >>> policy.name, policy.compute_dtype, policy.quantization_mode
    ('int8_from_mixed_bfloat16', 'bfloat16', 'int8')
    """

    _keras_module = "keras.dtype_policies"

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = dtype_policy().name
        compute, variable = _parse_name(source_name)
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                             f"Received: mode={mode}")
        if compute == "float16" and mode == "int8":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with "
                             "compute_dtype='float16'.")
        self._set_dtypes(compute, variable)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def __eq__(self, other):
        return (super().__eq__(other) and self._quantization_mode == other._quantization_mode
                and self._source_name == other._source_name)

    __hash__ = DTypePolicy.__hash__

    def get_config(self):
        return {"mode": self._quantization_mode, "source_name": self._source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The float8 policy: `amax_history_length` is the window of the delayed scaling."""

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode, source_name)
        if isinstance(amax_history_length, bool) or not isinstance(amax_history_length, int):
            raise TypeError("`amax_history_length` must be an integer. "
                            f"Received: amax_history_length={amax_history_length!r}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self):
        return self._amax_history_length

    def __eq__(self, other):
        return super().__eq__(other) and self._amax_history_length == other._amax_history_length

    __hash__ = DTypePolicy.__hash__

    def get_config(self):
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


class _ParametrizedDTypePolicy(QuantizedDTypePolicy):
    """A quantized policy whose mode carries integer parameters: `"<mode>/<a>[/<b>]"`."""

    _fields = ()  # (attribute name, check, what the check wants), one per parameter

    def __init__(self, mode, source_name=None):
        base, *values = str(mode).split("/")
        expected = "'" + "/".join([type(self)._base] + [f"<{f}>" for f, _, _ in
                                                         self._fields]) + "'"
        if base != self._base or len(values) != len(self._fields):
            raise ValueError(f"Invalid mode for {type(self).__name__}. Expected format "
                             f"{expected}, but got '{mode}'.")
        try:
            values = [int(v) for v in values]
        except ValueError:
            raise ValueError(f"Invalid mode for {type(self).__name__}: the parameters must be "
                             f"integers. Expected format {expected}, but got '{mode}'.") from None
        for (field, check, wanted), value in zip(self._fields, values):
            if not check(value):
                raise ValueError(f"Invalid {field} in mode. Supported values are {wanted}, "
                                 f"but got {value} from '{mode}'.")
            setattr(self, field, value)
        super().__init__(base, source_name)
        self.mode = base
        self._name = f"{mode}_from_{self._source_name}"

    def __eq__(self, other):
        return super().__eq__(other) and all(
            getattr(self, f) == getattr(other, f) for f, _, _ in self._fields)

    __hash__ = DTypePolicy.__hash__

    def get_config(self):
        mode = "/".join([self.mode] + [str(getattr(self, f)) for f, _, _ in self._fields])
        return {**super().get_config(), "mode": mode}


def _group(value):
    return value == -1 or value > 0


class Int4DTypePolicy(_ParametrizedDTypePolicy):
    """int4 with a block size: `"int4/<block_size>"` (-1: one scale per output channel).

    >>> Int4DTypePolicy("int4/128", "float32").block_size
    128
    """

    _base = "int4"
    _fields = (("block_size", _group, "-1 (per-channel) or a positive integer"),)


class GPTQDTypePolicy(_ParametrizedDTypePolicy):
    """GPTQ's policy `"gptq/<weight_bits>/<group_size>"` (readable; lamina's layers do not
    run GPTQ)."""

    _base = "gptq"
    _fields = (("weight_bits", lambda b: b in (2, 3, 4, 8), "2, 3, 4 and 8"),
               ("group_size", _group, "-1 or a positive integer"))


class AWQDTypePolicy(_ParametrizedDTypePolicy):
    """AWQ's policy `"awq/<weight_bits>/<group_size>"` (readable; lamina's layers do not
    run AWQ)."""

    _base = "awq"
    _fields = (("weight_bits", lambda b: b == 4, "4"),
               ("group_size", _group, "-1 or a positive integer"))


def quantized_policy_from_name(name):
    """The quantized policy named `"<mode>_from_<source>"`."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) "
                         f"to instantiate `QuantizedDTypePolicy`. Received: policy={name}")
    mode, source = parts
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    for cls in (Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy):
        if mode.startswith(cls._base + "/"):
            return cls(mode, source)
    return QuantizedDTypePolicy(mode, source)


def dtype_policy():
    """The global dtype policy (floatx unless set with `set_dtype_policy`)."""
    return _GLOBAL_POLICY if _GLOBAL_POLICY is not None else DTypePolicy(config.floatx())
