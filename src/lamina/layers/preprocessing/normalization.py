"""`Normalization`: `(inputs - mean) / sqrt(variance)`, with the statistics given or
learned by `adapt`; and `adapt_batches`, the walk over `adapt`'s data shared with
`Discretization`."""

import itertools
import math

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import result_type, to_torch_dtype
from lamina.backend.symbolic import in_symbolic_run
from lamina.layers.layer import Layer

_CPU = torch.device("cpu")


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance, per index of `axis`.

    The mean and variance are passed in, or computed from data by `adapt()` (stored as the
    non-trainable weights `mean`, `variance` and `count`, as in Keras). The call computes
    `(inputs - mean) / max(sqrt(variance), epsilon)`, or its inverse with `invert=True`.

    Args:
        axis: the axis or axes that keep a separate mean and variance per index (`-1`, the
            features, by default); `None` for one scalar mean and variance.
        mean: the mean, broadcast to the kept axes; set together with `variance`.
        variance: the variance, the same shape as `mean`.
        invert: apply the inverse transform (turn normalized values back).

    >>> import numpy as np
    >>> layer = Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32"))
    >>> layer(np.array([1.0, 3.0], dtype="float32"))
    tensor([-1.4142,  0.0000])
    """

    _casts_integer_inputs = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        self.axis = tuple(axis)
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "When setting values directly, `mean` and `variance` must have the same "
                    f"shape. Received: mean shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    "The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis "
                    f"{self.axis}")
        # device -> (mean, max(sqrt(variance), epsilon)) in the compute dtype, shaped to
        # broadcast; filled by `finalize_state` whenever the statistics change.
        self.__dict__["_constants"] = {}

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                "All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                f"ndim={ndim}, while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(
                    "All `axis` values to be kept must have a known shape. Received "
                    f"axis={self.axis}, inputs.shape={input_shape}, with unknown axis at "
                    f"index {d}")
        self.__dict__.update(
            _build_input_shape=input_shape, _keep_axis=keep,
            _reduce_axis=tuple(d for d in range(ndim) if d not in keep),
            _broadcast_shape=tuple(input_shape[d] if d in keep else 1 for d in range(ndim)),
            _mean_and_var_shape=tuple(input_shape[d] for d in keep))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance",
                                                  shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            # Keras keeps `count` for files written by older versions; adapt leaves it at 0.
            self.count = self.add_weight(name="count", shape=(), dtype="int32",
                                         initializer="zeros", trainable=False)
        self.built = True
        self.finalize_state()

    def finalize_state(self):
        """Recompute the call's constants from the statistics. Build, `adapt`, loading and
        `set_weights` call it; call it after assigning `adapt_mean`/`adapt_variance`."""
        if not self.built:
            return
        dtype = self.dtype_policy.compute_torch_dtype
        with torch.no_grad():
            if self.input_mean is None:
                mean = self.adapt_mean.detach().reshape(self._broadcast_shape)
                variance = self.adapt_variance.detach().reshape(self._broadcast_shape)
            else:
                mean, variance = (self._broadcast_given(v)
                                  for v in (self.input_mean, self.input_variance))
            mean, variance = mean.to(dtype), variance.to(dtype)
            # NOTE: Keras takes the maximum with a Python float, whose weak type rounds a
            # float64 scale to float32 (`result_type("float64", float)`): kept for parity.
            scale = torch.clamp_min(torch.sqrt(variance), backend_config.epsilon()).to(
                to_torch_dtype(result_type(self.compute_dtype, float)))
        self.__dict__["_constants"] = {mean.device: (mean, scale)}
        self.__dict__["_statistics"] = mean, variance

    @property
    def mean(self):
        """The mean in the compute dtype, shaped to broadcast against inputs (None before
        the layer is built), as Keras' `Normalization.mean`."""
        return self.__dict__.get("_statistics", (None, None))[0]

    @property
    def variance(self):
        """The variance, as `mean`."""
        return self.__dict__.get("_statistics", (None, None))[1]

    def _broadcast_given(self, value):
        value = convert_to_tensor(value).detach()
        # A given mean lines up with the kept axes from the right.
        shape = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            shape[self._keep_axis[-i]] = value.shape[-i]
        try:
            return value.reshape(shape).broadcast_to(self._broadcast_shape)
        except RuntimeError as error:
            raise ValueError(
                f"Normalization layer '{self.name}': `mean` and `variance` of shape "
                f"{tuple(value.shape)} do not broadcast to the kept axes {self._keep_axis} of "
                f"inputs shaped {self._build_input_shape} (expected "
                f"{self._mean_and_var_shape}).") from error

    def _convert_inputs(self, inputs):
        if isinstance(inputs, np.ndarray):  # strings: say what to do before torch refuses
            _numeric(inputs, f"Normalization layer '{self.name}'")
        return super()._convert_inputs(inputs)

    def call(self, inputs):
        dtype = self.dtype_policy.compute_torch_dtype
        if inputs.dtype != dtype:
            inputs = inputs.to(dtype)
        device = inputs.device
        constants = self._constants.get(device)
        if constants is None:
            mean, scale = next(iter(self._constants.values()))
            constants = mean.to(device), scale.to(device)
            if not in_symbolic_run():
                self._constants[device] = constants
        mean, scale = constants
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def adapt(self, data):
        """Compute the mean and variance of `data` per index of `axis`, and keep them as the
        layer's weights.

        Args:
            data: a numpy array or tensor (the whole data), or batches: a generator, a list
                of arrays, a `PyDataset` or a `torch.utils.data.DataLoader`, each batch an
                array or an `(x, y[, sample_weight])` tuple whose `x` is used.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer '{self.name}' was given `mean` and `variance`; "
                "`adapt()` learns them instead. Create the layer without them to adapt it.")
        if isinstance(data, list) and data and isinstance(data[0], (int, float, np.number)):
            data = np.asarray(data)  # one sample per number (Keras refuses such a list)
        whole, batches = adapt_batches(data, self)
        first = whole if whole is not None else next(batches)
        input_shape = tuple(first.shape)
        if not self.built:
            self.build(input_shape)
        else:
            self._check_shape(input_shape, "adapt() is being called with data")
        if whole is not None:
            if whole.size == 0 if isinstance(whole, np.ndarray) else whole.numel() == 0:
                raise ValueError(
                    f"Normalization layer '{self.name}': adapt() received empty data "
                    f"(shape {input_shape}); the mean and variance of nothing are undefined.")
            mean, variance = (_numpy_moments if isinstance(whole, np.ndarray) else
                              _tensor_moments)(whole, self._reduce_axis)
        else:
            mean, variance = self._merged_moments(itertools.chain([first], batches))
        for variable, value in ((self.adapt_mean, mean), (self.adapt_variance, variance)):
            if not isinstance(value, torch.Tensor):
                value = torch.from_numpy(np.asarray(value))
            variable.assign(value.to(variable))
        self.finalize_state()

    def _merged_moments(self, batches):
        # Running mean and variance over batches, merged by the lack-of-fit sum of squares
        # in float32 tensors in Keras' order, so that the numbers match Keras' bit for bit.
        mean = torch.zeros(self._mean_and_var_shape)
        variance = torch.zeros(self._mean_and_var_shape)
        total = 0
        for batch in batches:
            batch = convert_to_tensor(batch, dtype=self.compute_dtype)
            self._check_shape(tuple(batch.shape), "adapt() yielded a batch")
            count = math.prod(batch.shape[d] for d in self._reduce_axis)
            if count == 0:
                continue
            batch_mean, batch_variance = _tensor_moments(batch, self._reduce_axis)
            total += count
            new_weight = float(count) / total
            old_weight = 1.0 - new_weight
            mean, variance, batch_mean, batch_variance = (
                t.to(batch.device) for t in (mean, variance, batch_mean, batch_variance))
            new_mean = mean * old_weight + batch_mean * new_weight
            variance = (variance + (mean - new_mean) ** 2) * old_weight + (
                batch_variance + (batch_mean - new_mean) ** 2) * new_weight
            mean = new_mean
        if total == 0:
            raise ValueError(
                f"Normalization layer '{self.name}': adapt() received only empty batches; "
                "the mean and variance of nothing are undefined.")
        return mean, variance

    def _check_shape(self, input_shape, what):
        for d in self._keep_axis:
            if d >= len(input_shape) or input_shape[d] != self._build_input_shape[d]:
                raise ValueError(
                    f"Normalization layer '{self.name}' was built with input_shape="
                    f"{self._build_input_shape}, but {what} with an incompatible shape "
                    f"{input_shape} (axis {d} must be {self._build_input_shape[d]}).")

    def set_weights(self, weights):
        super().set_weights(weights)
        self.finalize_state()

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.finalize_state()

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)  # torch's `load_state_dict`
        self.finalize_state()

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, invert=self.invert,
                      mean=np.array(_host(self.input_mean)).tolist(),
                      variance=np.array(_host(self.input_variance)).tolist())
        return config

    def get_build_config(self):
        shape = self.__dict__.get("_build_input_shape")
        return {"input_shape": shape} if shape else None

    def build_from_config(self, config):
        if config:
            self.build(config["input_shape"])


def _host(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def _numpy_moments(data, axis):
    # NOTE: numpy's own reductions (pairwise sums, float64 for integers), as Keras uses.
    return np.mean(data, axis=axis), np.var(data, axis=axis)


def _tensor_moments(data, axis):
    # NOTE: Keras' torch mean and var reduce in float32 whatever the dtype (float64 too);
    # the mean comes back in a float input's dtype, the variance in float32 for float64.
    if not axis:  # every axis kept: torch would reduce them all
        return data, torch.zeros_like(data, dtype=_variance_dtype(data))
    wide = data.to(torch.float32)
    mean = torch.mean(wide, axis)
    if data.is_floating_point():
        mean = mean.to(data.dtype)
    return mean, torch.var(wide, axis, correction=0).to(_variance_dtype(data))


def _variance_dtype(data):
    return data.dtype if data.is_floating_point() and data.dtype != torch.float64 else (
        torch.float32)


def adapt_batches(data, layer, steps=None):
    """`adapt`'s data as `(whole, None)` for one numpy array or tensor, else
    `(None, batches)`: an iterator over the batches' inputs (the `x` of `(x, y)` tuples),
    at most `steps` of them. Raises for empty or non-numeric data, naming `layer`."""
    owner = f"{type(layer).__name__} layer '{layer.name}'"
    if isinstance(data, (np.ndarray, torch.Tensor)):
        return _numeric(data, owner), None
    if hasattr(data, "num_batches") and hasattr(data, "__getitem__"):  # a PyDataset
        count = data.num_batches
        if count is None and steps is None:
            raise ValueError(f"{owner}: adapt() cannot read an endless PyDataset to its end.")
        batches = (data[i] for i in itertools.count())
        if count is not None:
            batches = itertools.islice(batches, count)
    elif hasattr(data, "__iter__"):
        batches = iter(data)
    else:
        raise TypeError(
            f"{owner}: adapt() takes a numpy array, a tensor, or an iterable of batches (a "
            f"generator, a list of arrays, a PyDataset, a DataLoader). Received: "
            f"{type(data).__name__}")
    if steps is not None:
        batches = itertools.islice(batches, steps)
    return None, _checked_batches(batches, owner)


def _checked_batches(batches, owner):
    empty = True
    for batch in batches:
        empty = False
        if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
            batch = batch[0]  # (x, y[, sample_weight]): the statistics are x's
        if not hasattr(batch, "shape") and not isinstance(batch, (int, float, list)):
            raise TypeError(
                f"{owner}: adapt() expects batches that are arrays or tensors. Got an "
                f"element of type {type(batch).__name__}.")
        yield _numeric(batch if hasattr(batch, "shape") else np.asarray(batch), owner)
    if empty:
        raise ValueError(
            f"{owner}: adapt() received an empty iterable (no batches). Pass at least one "
            "batch, e.g. layer.adapt(x) or layer.adapt([x_batch1, x_batch2]).")


def _numeric(array, owner):
    if isinstance(array, np.ndarray) and array.dtype.kind in "USO":
        raise ValueError(
            f"{owner} takes numeric data, but received an array of dtype {array.dtype}. "
            "Turn strings into numbers first (e.g. with StringLookup).")
    return array
