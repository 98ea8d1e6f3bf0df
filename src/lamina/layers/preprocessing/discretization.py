"""`Discretization`: bucket numbers by boundaries, given or learned by `adapt` (Keras'
approximate quantiles)."""

import numpy as np
import torch

from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categories, encoded_shape
from lamina.layers.preprocessing.normalization import adapt_batches

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    """Buckets numbers into ranges: bucket `i` holds `bin_boundaries[i - 1] <= x <
    bin_boundaries[i]`.

    The boundaries are given, or learned by `adapt()` as approximate quantiles of the data
    (`num_bins` bins, within `epsilon`). They live in the config, not in weights, as in
    Keras. The output is the bucket index (int32), or its one-hot, multi-hot or count
    encoding in the compute dtype.

    Args:
        bin_boundaries: sorted boundaries (`len + 1` buckets); or None to `adapt`.
        num_bins: the number of buckets `adapt` learns (set instead of `bin_boundaries`).
        epsilon: the error tolerance of the learned quantiles (smaller: more exact, more
            memory while adapting).
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"` or `"count"`.
        sparse: only `False` (torch backend).

    >>> import numpy as np
    >>> Discretization(bin_boundaries=[0.0, 1.0, 2.0])(np.array([[-1.5, 1.0, 3.0]]))
    tensor([[0, 2, 3]], dtype=torch.int32)
    """

    _auto_config = False

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise ValueError("`sparse=True` cannot be used with backend torch")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                "Unknown value for `output_mode` argument of Discretization. Allowed values "
                f"are: {_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(
                f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                "Both `num_bins` and `bin_boundaries` should not be set. Received: "
                f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        # the quantile summary `adapt` builds: sorted values over their weights (Keras' name)
        self.summary = None if bin_boundaries else _empty_summary()

    @property
    def bin_boundaries(self):
        return self.__dict__["_bin_boundaries"]

    @bin_boundaries.setter
    def bin_boundaries(self, value):
        self.__dict__["_bin_boundaries"] = value
        # device -> the boundaries as a float32 tensor (Keras converts the list so)
        self.__dict__["_boundaries"] = {} if value is None else {
            torch.device("cpu"): torch.tensor(np.asarray(value, dtype=np.float32))}

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                "You need to either pass the `bin_boundaries` argument at construction time "
                "or call `adapt(dataset)` before you can start using the `Discretization` "
                "layer.")
        boundaries = self._boundaries.get(inputs.device)
        if boundaries is None:
            boundaries = self._boundaries[inputs.device] = next(
                iter(self._boundaries.values())).to(inputs.device)
        if inputs.dtype == torch.bool:
            inputs = inputs.to(torch.uint8)
        # NOTE: bucketize's `right=True` is numpy's digitize: boundary values go up.
        indices = torch.bucketize(inputs, boundaries, right=True)
        dtype = torch.int32 if self.output_mode == "int" else (
            self.dtype_policy.compute_torch_dtype)
        return encode_categories(indices, self.output_mode, len(self.bin_boundaries) + 1,
                                 dtype, owner=f"Discretization layer '{self.name}'")

    def adapt(self, data, steps=None):
        """Learn `num_bins - 1` boundaries: approximate quantiles of `data`.

        Args:
            data: a numpy array or tensor, or batches (a generator, a list of arrays, a
                `PyDataset`, a `torch.utils.data.DataLoader`).
            steps: read at most this many batches.
        """
        if self.num_bins is None:
            raise ValueError(
                "Cannot adapt a Discretization layer that has been initialized with "
                "`bin_boundaries`, use `num_bins` instead.")
        whole, batches = adapt_batches(data, self, steps)
        self.reset_state()
        for batch in [whole] if whole is not None else batches:
            self.update_state(batch)
        if self.summary.shape[1] == 0:
            raise ValueError(
                f"Discretization layer '{self.name}': adapt() received empty data; there "
                "are no quantiles to learn.")
        self.finalize_state()

    def update_state(self, data):
        """Add a batch to the quantile summary (`adapt` calls it per batch)."""
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        batch = np.asarray(data).astype("float32")
        self.summary = _compress(_merge(_summarize(batch, self.epsilon), self.summary),
                                 self.epsilon)

    def finalize_state(self):
        """Set `bin_boundaries` from the summary: `num_bins - 1` quantiles."""
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self):
        """Forget the data seen by `update_state`."""
        if self.num_bins is not None:
            self.summary = _empty_summary()

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = (len(self.bin_boundaries) + 1 if self.bin_boundaries is not None
                 else self.num_bins)
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            return encoded_shape(input_shape, "one_hot", depth)
        # multi-hot and count reduce axis 1 of a batch
        return (input_shape[0], *input_shape[2:], depth) if len(input_shape) >= 2 else (depth,)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # An adapted layer's config holds both: the learned boundaries and `num_bins`.
        boundaries = config.pop("bin_boundaries", None) if (
            config.get("bin_boundaries") is not None
            and config.get("num_bins") is not None) else None
        layer = super().from_config(config)
        if boundaries is not None:
            layer.bin_boundaries = boundaries
        return layer


# Keras' approximate quantiles. A summary is a (2, n) array: sorted values over the
# weight (how many data points each stands for). The arithmetic follows Keras' order
# step by step (float32 summaries, float64 interpolation) so the boundaries match exactly.

def _empty_summary():
    return np.zeros((2, 0), dtype="float32")


def _summarize(values, epsilon):
    """Every `step`-th sorted value, each weighing `step`, about `1 / epsilon` of them."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    kept = values[int(step) - 1::int(step)]
    return np.stack([kept, np.full_like(kept, 1) * step])


def _merge(summary, other):
    both = np.concatenate((summary, other), axis=1)
    return both[:, np.argsort(both[0])]


def _compress(summary, epsilon):
    """Resample `summary` at the cumulative-weight fractions `epsilon, 2 epsilon, ..., 1`
    (unchanged when it has fewer than `1 / epsilon` points)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    values = np.interp(fractions, at, summary[0])
    cumulative = np.interp(fractions, at, cumulative)
    weights = np.diff(cumulative, prepend=0)
    return np.stack((values, weights)).astype("float32")
