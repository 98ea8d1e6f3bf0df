"""Logs: the per-batch `MetricLogs` a step returns, and their host (Python) forms.

A step never reads a value back to the host; its logs are tensors, computed when first
asked for. Turning them into Python floats happens here, for the trainer (epoch and
`evaluate` results) and for callbacks alike, with one device-to-host copy per dict.
"""

from collections.abc import Mapping

import numpy as np
import torch

# Every value of these dtypes is exact in float32; any other scalar is read as float64.
_EXACT_IN_FLOAT32 = frozenset((torch.float32, torch.float16, torch.bfloat16, torch.bool,
                               torch.uint8, torch.int8, torch.int16))


class MetricLogs(Mapping):
    """Per-batch logs that compute the model's metric results only when a value is asked
    for (progress bar and callbacks that want tensors read them; nothing else pays).

    >>> class Model:
    ...     def get_metrics_result(self):
    ...         return {"loss": torch.tensor(0.5)}
    >>> logs = MetricLogs(Model())
    >>> logs
    {'loss': 0.5}
    """

    __slots__ = ("_model", "_cache")

    def __init__(self, model):
        self._model = model
        self._cache = None

    def _values(self):
        if self._cache is None:
            self._cache = self._model.get_metrics_result()
        return self._cache

    def __getitem__(self, key):
        return self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(materialize_logs(self))


def _read_scalars(items):
    """Replace every one-element tensor value of the dict `items` by a Python float, with
    a single device-to-host copy (one `.item()` each would wait for the device each time)."""
    keys = [k for k, v in items.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    if not keys:
        return
    scalars = [items[k].detach().reshape(()) for k in keys]
    device = next((s.device for s in scalars if s.device.type != "cpu"), scalars[0].device)
    wide = device.type != "mps" and any(s.dtype not in _EXACT_IN_FLOAT32 for s in scalars)
    dtype = torch.float64 if wide else torch.float32
    values = torch.stack([s.to(device, dtype) for s in scalars]).cpu().tolist()
    items.update(zip(keys, values))


def materialize_logs(logs):
    """`logs` with tensors as Python floats (one element) or numpy arrays, in one
    device-to-host copy; the trainer's form of epoch and `evaluate` results.

    >>> materialize_logs({"loss": torch.tensor(0.25), "steps": np.int64(3)})
    {'loss': 0.25, 'steps': 3}
    """
    if logs is None:
        return {}
    items = dict(logs.items())
    _read_scalars(items)
    for key, value in items.items():
        if isinstance(value, torch.Tensor):
            items[key] = value.detach().cpu().numpy()
        elif isinstance(value, np.generic):
            items[key] = value.item()
    return items


def python_logs(logs):
    """`logs` as callbacks receive them (Keras' form): sorted keys, one-element values as
    Python floats, larger ones as numpy arrays; nested dicts alike. One device-to-host
    copy per dict.

    >>> python_logs({"mae": torch.tensor(2), "loss": np.float32(0.5)})
    {'loss': 0.5, 'mae': 2.0}
    """
    if not logs:
        return {}
    items = {key: logs[key] for key in sorted(logs)}
    _read_scalars(items)
    return {key: _python_value(value) for key, value in items.items()}


def _python_value(value):
    if isinstance(value, torch.Tensor):  # one-element tensors were read already
        return value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return float(value.item()) if value.size == 1 else value
    if isinstance(value, dict):
        return python_logs(value)
    return value
