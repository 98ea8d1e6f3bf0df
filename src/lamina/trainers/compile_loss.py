"""Route `compile(loss=...)` to the model's outputs, once, from the first batch."""

import torch

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import tree


def _names_and_flat(y_pred, output_names):
    if isinstance(y_pred, dict):
        names = sorted(y_pred)
        return names, [y_pred[k] for k in names]
    flat = tree.flatten(y_pred)
    if output_names and len(output_names) == len(flat):
        return list(output_names), flat
    return [f"output_{i}" for i in range(len(flat))], flat


def match_to_outputs(value, names, what):
    """Spread `value` (single, list or dict) over the outputs named `names`."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"In the dict argument `{what}`, keys {unknown} do not correspond to any model "
                f"output. Received: {what}={value}. Output names: {names}"
            )
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if n == 1 and len(value) != 1 and what != "loss_weights":
            return [list(value)]
        if len(value) != n:
            raise ValueError(
                f"`{what}` has {len(value)} entries but the model has {n} outputs {names}. "
                f"Pass one entry per output (a list in output order or a dict keyed by name)."
            )
        return list(value)
    return [value] * n


def flatten_targets(y_true, names, n):
    if y_true is None:
        return [None] * n
    if isinstance(y_true, dict):
        missing = [k for k in names if k not in y_true]
        if missing and len(y_true) == n and not set(y_true) & set(names):
            return tree.flatten(y_true)
        unknown = sorted(set(y_true) - set(names))
        if unknown:
            raise ValueError(
                f"Unknown entries in the targets dict: {unknown}. Expected keys among the "
                f"model's output names {names}."
            )
        return [y_true.get(k) for k in names]
    flat = tree.flatten(y_true) if isinstance(y_true, (list, tuple)) else [y_true]
    if len(flat) != n:
        raise ValueError(
            f"The model has {n} outputs {names}, but {len(flat)} target array(s) were given."
        )
    return flat


class CompileLoss:
    """The total loss: `sum(weight_i * loss_i(y_true_i, y_pred_i))` over the outputs."""

    def __init__(self, loss, loss_weights=None, output_names=None):
        self.loss = loss
        self.loss_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.trackers = []  # per-output Mean trackers for multi-output models
        self._tracker_order = []  # indices into `trackers`, in the order Keras lists them

    def build(self, y_true, y_pred):
        names, flat_pred = _names_and_flat(y_pred, self.output_names)
        n = len(flat_pred)
        per_output = match_to_outputs(self.loss, names, "loss")
        weights = match_to_outputs(self.loss_weights, names, "loss_weights") if (
            self.loss_weights is not None) else [None] * n
        self._names = names
        self._fns = [_as_loss(l) if l is not None else None
                     for l in per_output]
        self._weights = [1.0 if w is None else float(w) for w in weights]
        self._active = [i for i, fn in enumerate(self._fns) if fn is not None]
        if not self._active:
            raise ValueError("`loss` resolved to no loss for any output: give at least one.")
        if len(self._active) > 1:  # Keras logs per-output losses only when several exist
            self.trackers = [metrics_module.Mean(name=f"{names[i]}_loss") if i in self._active
                             else None for i in range(n)]
            # NOTE: Keras lists them in the order of a `loss` dict's keys, else output order.
            order = ([names.index(k) for k in self.loss if k in names]
                     if isinstance(self.loss, dict) else range(n))
            self._tracker_order = [i for i in order if self.trackers[i] is not None]
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        names = self._names
        n = len(names)
        flat_pred = [y_pred[k] for k in names] if isinstance(y_pred, dict) else (
            tree.flatten(y_pred) if n > 1 else [y_pred])
        flat_true = flatten_targets(y_true, names, n) if n > 1 else [
            y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1 else
            (next(iter(y_true.values())) if isinstance(y_true, dict) and len(y_true) == 1
             else y_true)]
        if sample_weight is None or isinstance(sample_weight, torch.Tensor) or n == 1:
            flat_sw = [sample_weight] * n
        else:
            flat_sw = flatten_targets(sample_weight, names, n)
        total = None
        for i in self._active:
            if flat_true[i] is None:
                raise ValueError(
                    f"No target (y) was given for output '{names[i]}', which has a loss."
                )
            value = self._fns[i](flat_true[i], flat_pred[i], sample_weight=flat_sw[i])
            if self.trackers:
                batch = flat_pred[i].shape[0] if flat_pred[i].ndim else 1
                self.trackers[i].update_state(value, sample_weight=batch)
            weighted = value if self._weights[i] == 1.0 else value * self._weights[i]
            total = weighted if total is None else total + weighted
        return total

    def metrics(self):
        return [self.trackers[i] for i in self._tracker_order] if self.trackers else []


def _as_loss(identifier):
    """A `Loss` object: functions (and names of functions) get Keras' wrapper, which
    applies sample weights and the default reduction."""
    obj = losses_module.get(identifier)
    if isinstance(obj, losses_module.Loss):
        return obj
    if isinstance(obj, type) and issubclass(obj, losses_module.Loss):
        return obj()
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
    return losses_module.LossFunctionWrapper(obj, name=name)
