"""`InputSpec`: what a layer accepts (rank, feature sizes, dtype), checked with clear errors."""

from lamina import tree


class InputSpec:
    """Constraints on the inputs of a layer.

    Args:
        dtype, shape, ndim, max_ndim, min_ndim: constraints (None = any).
        axes: dict mapping axis index to the required size at that axis.

    >>> spec = InputSpec(min_ndim=2, axes={-1: 8})
    >>> spec.min_ndim
    2
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed "
                                 f"value: {max_dim}")

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in vars(self).items()
                 if v not in (None, {}, False) and k != "optional"]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def assert_input_compatibility(input_spec, inputs, layer):
    """Raise a ValueError naming `layer` if `inputs` break `input_spec`."""
    if input_spec is None:
        return
    specs = tree.flatten(input_spec)
    flat = tree.flatten(inputs)
    if len(specs) != len(flat) and len(specs) > 1:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects {len(specs)} input(s), "
            f"but it received {len(flat)} input tensors."
        )
    for index, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None or x is None:
            continue
        shape = tuple(x.shape)
        where = f"Input {index} of layer '{layer.name}' ({type(layer).__name__})"
        rank = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected ndim={spec.ndim}, "
                f"found ndim={rank}. Full shape received: {shape}"
            )
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected max_ndim={spec.max_ndim}, "
                f"found ndim={rank}. Full shape received: {shape}"
            )
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected min_ndim={spec.min_ndim}, "
                f"found ndim={rank}. Full shape received: {shape}"
            )
        for axis, size in spec.axes.items():
            if size is None:
                continue
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                raise ValueError(
                    f"{where} is incompatible with the layer: expected axis {axis} of input "
                    f"shape to have value {size}, but received input with shape {shape}"
                )
        if spec.shape is not None:
            for expected, got in zip(spec.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ValueError(
                        f"{where} is incompatible with the layer: expected shape={spec.shape}, "
                        f"found shape={shape}"
                    )


def compile_input_check(input_spec):
    """A fast predicate `x -> bool` for a single `InputSpec` (None when there is nothing
    cheap to check). Layers run it on every call; on False they call
    `assert_input_compatibility` for the full error message."""
    if not isinstance(input_spec, InputSpec):
        return None
    ndim, min_ndim, max_ndim = input_spec.ndim, input_spec.min_ndim, input_spec.max_ndim
    if input_spec.allow_last_axis_squeeze:
        ndim = None
    axes = tuple((a, n) for a, n in input_spec.axes.items() if n is not None)
    if ndim is None and min_ndim is None and max_ndim is None and not axes:
        return None
    if ndim is None and max_ndim is None and len(axes) == 1 and axes[0][0] == -1:
        lowest, size = max(min_ndim or 1, 1), axes[0][1]
        return lambda x: x.ndim >= lowest and x.shape[-1] == size

    def check(x):
        rank = x.ndim
        if ndim is not None and rank != ndim:
            return False
        if min_ndim is not None and rank < min_ndim:
            return False
        if max_ndim is not None and rank > max_ndim:
            return False
        shape = x.shape
        for axis, size in axes:
            if -rank <= axis < rank and shape[axis] != size:
                return False
        return True

    return check
