"""The `Loss` base class, `LossFunctionWrapper`, and the weighting/reduction helpers.

A loss turns `(y_true, y_pred)` into per-sample values (`call`), then `__call__` folds in
`sample_weight` and masks and reduces to a scalar. The helpers here are shared by metrics.
"""

import torch

from lamina import tree
from lamina.backend import config, naming
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.serialization import serialization

REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    """Validate `reduction` (one of `REDUCTIONS`) and return it."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{list(REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


def standardize_compute_dtype(dtype):
    """The compute dtype name for a dtype name, a mixed policy name, or a policy object."""
    if dtype is None:
        return config.floatx()
    compute = getattr(dtype, "compute_dtype", None)
    if compute is not None:
        return standardize_dtype(compute)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return standardize_dtype(dtype[len("mixed_"):])
    return standardize_dtype(dtype)


def get_mask(x):
    """The Keras mask carried by tensor `x` (its `_keras_mask` attribute), or None."""
    return getattr(x, "_keras_mask", None)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make `x1` and `x2` the same rank when they differ by a trailing dimension of 1.

    The higher-rank tensor loses its size-1 last axis; but when the other one is a vector
    and `expand_rank_1` is set, the vector gains a last axis instead. Other rank
    differences are left alone (broadcasting decides).
    """
    rank1, rank2 = x1.ndim, x2.ndim
    if rank1 == rank2:
        return x1, x2
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def check_broadcastable(y_true, y_pred, name):
    """Raise a ValueError naming both shapes when `y_true` and `y_pred` cannot broadcast."""
    if y_true.shape == y_pred.shape:
        return
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise ValueError(
            f"`{name}`: `y_true` and `y_pred` have incompatible shapes. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        ) from None


def apply_mask(sample_weight, mask, dtype, reduction):
    """Fold a boolean `mask` into `sample_weight` (returns the new weights).

    For the averaging reductions the kept entries are scaled by `total / valid`, so that
    dividing by the full batch size later yields the mean over valid entries only.
    """
    if mask is None:
        return sample_weight
    mask = mask.to(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        mask = mask * (mask.numel() / (mask.sum() + config.epsilon()))
    if sample_weight is None:
        return mask
    sample_weight = sample_weight.to(dtype)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduce (already weighted) `values` to a scalar as `reduction` says."""
    if reduction is None or reduction == "none" or values.ndim == 0 or values.shape == (0,):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        loss = values.sum()
        divisor = sample_weight.sum().to(loss.dtype)
        safe = torch.where(divisor == 0, torch.ones_like(divisor), divisor)
        return torch.where(divisor == 0, torch.zeros_like(loss), loss / safe)
    return values.mean() if values.numel() else values.new_zeros(())


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weight `values` by `sample_weight` and `mask`, then reduce them (see `Loss`)."""
    dtype = to_torch_dtype(dtype)
    if not isinstance(values, torch.Tensor):
        values = convert_to_tensor(values)
    if mask is not None and not isinstance(mask, torch.Tensor):
        mask = convert_to_tensor(mask)
    if values.dtype != dtype:
        values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = convert_to_tensor(sample_weight, dtype=dtype)
        if sample_weight.device != values.device:
            sample_weight = sample_weight.to(values.device)
    if mask is not None and mask.device != values.device:
        mask = mask.to(values.device)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            values = values * sample_weight
        except RuntimeError:
            raise ValueError(
                "`sample_weight` cannot be broadcast to the per-sample losses. Received: "
                f"losses.shape={tuple(values.shape)}, "
                f"sample_weight.shape={tuple(sample_weight.shape)}"
            ) from None
    return reduce_values(values, sample_weight, reduction)


class Loss:
    """Base class for losses: subclass and implement `call(y_true, y_pred)`.

    `call` returns per-sample losses; `__call__` weights them by `sample_weight` and any
    Keras mask on `y_pred`, then reduces them.

    Args:
        name: name of the loss (default: the snake-case class name, made unique).
        reduction: `"sum_over_batch_size"` (default: weighted sum / number of elements),
            `"sum"`, `"mean"` (as `"sum_over_batch_size"`), `"mean_with_sample_weight"`
            (weighted sum / sum of weights), or `"none"`/`None` (no reduction).
        dtype: dtype the inputs are cast to before computing (default `floatx()`).

    >>> import lamina
    >>> class Squared(lamina.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return ((y_true - y_pred) ** 2).mean(dim=-1)
    >>> float(Squared()([[0.0, 1.0], [2.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]]))
    0.25
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg = dtype
        self._dtype = standardize_compute_dtype(dtype)
        self._torch_dtype = to_torch_dtype(self._dtype)

    @property
    def dtype(self):
        return self._dtype

    def _convert(self, x):
        if isinstance(x, torch.Tensor):
            return x if x.dtype == self._torch_dtype else x.to(self._torch_dtype)
        if tree.is_nested(x) and any(isinstance(v, torch.Tensor) for v in tree.flatten(x)):
            return tree.map_structure(self._convert, x)
        return convert_to_tensor(x, dtype=self._torch_dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = get_mask(y_pred)
        y_pred = self._convert(y_pred)
        y_true = self._convert_labels(y_true)
        losses = self.call(y_true, y_pred)
        out_mask = get_mask(losses)
        if in_mask is not None and out_mask is not None:
            mask = in_mask & out_mask
        else:
            mask = in_mask if out_mask is None else out_mask
        return reduce_weighted_values(
            losses, sample_weight, mask, self.reduction, self._torch_dtype
        )

    def _convert_labels(self, y_true):
        return self._convert(y_true)

    def call(self, y_true, y_pred):
        """Per-sample losses for a batch. Subclasses implement this."""
        raise NotImplementedError(
            f"Loss {type(self).__name__} must implement `call(y_true, y_pred)`."
        )

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def resolve_function(config, catalogue):
    """A function from its config, looked up in `catalogue` (name -> function) first.

    Keras writes built-in functions as `{"module": "builtins", "class_name": "function",
    "config": name}`, which only a catalogue lookup can resolve.
    """
    if isinstance(config, dict) and config.get("class_name") == "function":
        fn = catalogue.get(str(config.get("config")))
        if callable(fn) and not isinstance(fn, type):
            return fn
    return serialization.deserialize_keras_object(config)


class LossFunctionWrapper(Loss):
    """A `Loss` that calls `fn(y_true, y_pred, **kwargs)` for its per-sample losses.

    >>> import lamina
    >>> loss = lamina.losses.LossFunctionWrapper(lamina.losses.mean_absolute_error)
    >>> float(loss([[0.0, 0.0]], [[1.0, 3.0]]))
    2.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if isinstance(y_true, torch.Tensor) and isinstance(y_pred, torch.Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = serialization.serialize_keras_object(self.fn)
        config.update(serialization.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            from lamina.losses import ALL_OBJECTS  # losses/__init__ imports this module

            config["fn"] = resolve_function(config["fn"], ALL_OBJECTS)
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"
