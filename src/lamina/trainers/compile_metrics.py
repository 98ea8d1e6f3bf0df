"""Route `compile(metrics=..., weighted_metrics=...)` to outputs, once, from the first batch."""

from lamina import metrics as metrics_module
from lamina import tree
from lamina.trainers.compile_loss import (
    _names_and_flat,
    flatten_targets,
)


def resolve_metric(identifier, y_true, y_pred, loss=None):
    """A metric object for `identifier`; `'accuracy'`/`'acc'` and `'crossentropy'`/`'ce'`
    pick the binary, sparse or categorical variant from the shapes, as Keras does."""
    if isinstance(identifier, str) and identifier in ("accuracy", "acc", "crossentropy", "ce"):
        true_shape = tuple(y_true.shape) if y_true is not None else ()
        pred_shape = tuple(y_pred.shape)
        binary = len(pred_shape) > 0 and pred_shape[-1] == 1
        sparse = len(true_shape) != len(pred_shape) or (
            len(true_shape) > 0 and true_shape[-1] == 1 and not binary)
        if identifier in ("accuracy", "acc"):
            cls = (metrics_module.BinaryAccuracy if binary
                   else metrics_module.SparseCategoricalAccuracy if sparse
                   else metrics_module.CategoricalAccuracy)
        else:
            cls = (metrics_module.BinaryCrossentropy if binary
                   else metrics_module.SparseCategoricalCrossentropy if sparse
                   else metrics_module.CategoricalCrossentropy)
        return cls(name=identifier)
    obj = metrics_module.get(identifier)
    if isinstance(obj, metrics_module.Metric):
        if isinstance(identifier, str):
            obj.name = identifier  # Keras logs a metric under the string it was given
        return obj
    if isinstance(obj, type) and issubclass(obj, metrics_module.Metric):
        return obj(name=identifier) if isinstance(identifier, str) else obj()
    if callable(obj):
        name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "metric")
        return metrics_module.MeanMetricWrapper(obj, name=name)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


class CompileMetrics:
    """Holds the compiled metrics per output and updates them each step (on device)."""

    def __init__(self, metrics=None, weighted_metrics=None, output_names=None):
        self.metrics_spec = metrics
        self.weighted_spec = weighted_metrics
        self.output_names = output_names
        self.name = "compile_metrics"
        self.built = False
        self._entries = []  # (output index, metric, weighted)

    def build(self, y_true, y_pred):
        names, flat_pred = _names_and_flat(y_pred, self.output_names)
        n = len(flat_pred)
        flat_true = flatten_targets(y_true, names, n) if n > 1 else [y_true]
        self._names = names
        entries = []
        for spec, weighted in ((self.metrics_spec, False), (self.weighted_spec, True)):
            if spec is None:
                continue
            per_output = self._per_output(spec, names, "weighted_metrics" if weighted
                                          else "metrics")
            for i, items in enumerate(per_output):
                for item in items or []:
                    if item is None:
                        continue
                    metric = resolve_metric(item, flat_true[i], flat_pred[i])
                    entries.append([i, metric, weighted])
        # Log names: `<output>_<metric>` for multi-output models; `weighted_` on clashes.
        seen = set()
        for entry in entries:
            i, metric, weighted = entry
            name = metric.name if n == 1 else f"{names[i]}_{metric.name}"
            if weighted and name in seen:
                name = f"weighted_{name}" if n == 1 else f"{names[i]}_weighted_{metric.name}"
            seen.add(name)
            entry.append(name)
        self._entries = [tuple(e) for e in entries]
        self.built = True

    @staticmethod
    def _per_output(spec, names, what):
        n = len(names)
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(
                    f"In the dict argument `{what}`, keys {unknown} do not correspond to any "
                    f"model output. Output names: {names}"
                )
            return [_as_list(spec.get(k)) for k in names]
        if not isinstance(spec, (list, tuple)):
            raise ValueError(
                f"`{what}` must be a list or a dict. Received: {what}={spec!r}. "
                f"Write e.g. {what}=[{spec!r}]."
            )
        if n == 1:
            if len(spec) == 1 and isinstance(spec[0], (list, tuple)):
                return [list(spec[0])]
            return [list(spec)]
        if len(spec) != n or not all(s is None or isinstance(s, (list, tuple, str)) or
                                     callable(s) for s in spec):
            raise ValueError(
                f"Invalid `{what}`: for a model with {n} outputs {names}, give a dict keyed by "
                f"output name or a list with one entry (a metric or a list of metrics) per "
                f"output. Received: {what}={spec!r}"
            )
        return [_as_list(s) for s in spec]

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        n = len(self._names)
        if n == 1:
            flat_pred = [y_pred if not isinstance(y_pred, (list, tuple, dict))
                         else tree.flatten(y_pred)[0]]
            flat_true = [y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1
                         else (next(iter(y_true.values())) if isinstance(y_true, dict)
                               else y_true)]
            flat_sw = [sample_weight]
        else:
            flat_pred = ([y_pred[k] for k in self._names] if isinstance(y_pred, dict)
                         else tree.flatten(y_pred))
            flat_true = flatten_targets(y_true, self._names, n)
            if sample_weight is None or not isinstance(sample_weight, (list, tuple, dict)):
                flat_sw = [sample_weight] * n
            else:
                flat_sw = flatten_targets(sample_weight, self._names, n)
        for i, metric, weighted, _ in self._entries:
            metric.update_state(flat_true[i], flat_pred[i],
                                sample_weight=flat_sw[i] if weighted else None)

    def result(self):
        return {name: metric.result() for _, metric, _, name in self._entries}

    def reset_state(self):
        for _, metric, _, _ in self._entries:
            metric.reset_state()

    @property
    def metrics(self):
        return [metric for _, metric, _, _ in self._entries]

    @property
    def variables(self):
        return [v for m in self.metrics for v in m.variables]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
