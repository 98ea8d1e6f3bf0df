"""In-memory data (numpy arrays, torch tensors, and lists/tuples/dicts of them).

Arrays become tensors once (`torch.from_numpy`: no copy; floats are cast to floatx once)
and batches are cut by indexing: slices when not shuffled, `index_select` with one
`torch.randperm` per pass when shuffled.

On CUDA the whole dataset is copied to the device once when it fits comfortably (half of
the free memory); batching then runs entirely on the device with no host work or
transfers per step. Larger datasets stay on the host and each batch is gathered straight
into pinned memory and sent with a `non_blocking` copy, so the transfer overlaps compute.
"""

import torch

from lamina import tree
from lamina.backend.dtypes import floatx_dtype
from lamina.trainers.data import data_utils

_DEVICE_FRACTION = 0.5  # of free accelerator memory an in-memory dataset may take


def _leaf_bytes(t):
    return t.numel() * t.element_size()


def _fits_on_device(tensors, device):
    host_bytes = sum(_leaf_bytes(t) for t in tensors if t.device.type == "cpu")
    if host_bytes == 0:
        return True
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return host_bytes <= _DEVICE_FRACTION * free
    return True


def _validate_structure(value, name):
    leaves = tree.flatten(value)
    if not leaves or all(leaf is None for leaf in leaves):
        raise ValueError(f"`{name}` is empty: expected at least one array. Received: {value!r}")
    return leaves


class ArrayAdapter:
    """Batches a fixed in-memory `(x, y, sample_weight)` on `device`.

    Args:
        x, y, sample_weight: arrays or structures of arrays with a shared first dimension.
        batch_size: samples per batch (the last batch of a pass may be smaller).
        shuffle: False, True (a fresh permutation each pass) or `"batch"` (batch-sized
            chunks in a random order, for data where random access is costly).
        device: where batches go.
        class_weight: optional dict class -> weight, folded into the per-sample weights once.
    """

    reiterable = True

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                 device=None, class_weight=None):
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        float_dtype = floatx_dtype()
        parts = {"x": x, "y": y, "sample_weight": sample_weight}
        structures, flat = {}, []
        for name, value in parts.items():
            if value is None:
                continue
            leaves = _validate_structure(value, name)
            tensors = [
                None if leaf is None else data_utils.as_tensor(leaf, name, float_dtype)
                for leaf in leaves
            ]
            structures[name] = (value, len(flat), len(flat) + len(tensors))
            flat.extend(tensors)
        self.num_samples = self._check_cardinality(structures, flat)
        if class_weight is not None:
            flat, structures = self._fold_class_weight(class_weight, structures, flat)
        flat = self._place(flat)
        self._flat = flat
        # Per part: None (absent), (None, i, i+1) for a lone array, (structure, start, stop).
        self._layout = [
            None if name not in structures
            else (structures[name][0] if tree.is_nested(structures[name][0]) else None,
                  *structures[name][1:])
            for name in ("x", "y", "sample_weight")
        ]
        self.num_batches = -(-self.num_samples // batch_size)
        # The running pass: its order (a permutation, or None) and batches given so far.
        self.order = None
        self.position = 0
        self._resume = None  # (order, position) the next pass continues from

    @staticmethod
    def _check_cardinality(structures, flat):
        sizes = {}
        for name, (_, start, stop) in structures.items():
            for t in flat[start:stop]:
                if t is None:
                    continue
                if t.ndim == 0:
                    raise ValueError(
                        f"`{name}` must have a batch (first) dimension, but received a scalar "
                        f"({t!r}). Pass arrays shaped (num_samples, ...)."
                    )
                sizes.setdefault(name, []).append(int(t.shape[0]))
        all_sizes = {s for values in sizes.values() for s in values}
        if len(all_sizes) > 1:
            detail = "; ".join(f"{n} sizes: {', '.join(map(str, s))}" for n, s in sizes.items())
            raise ValueError(
                "Data cardinality is ambiguous: all arrays must contain the same number of "
                f"samples. Received {detail}."
            )
        num_samples = all_sizes.pop()
        if num_samples == 0:
            raise ValueError(
                "The data is empty: `x` has 0 samples. Pass at least one sample to train or "
                "evaluate on."
            )
        return num_samples

    @staticmethod
    def _fold_class_weight(class_weight, structures, flat):
        if "y" not in structures:
            raise ValueError(
                "`class_weight` needs targets: pass `y` along with "
                f"class_weight={class_weight!r}."
            )
        y_value, start, stop = structures["y"]
        labels = data_utils.single_target(flat[start:stop])
        table = data_utils.class_weight_table(class_weight, labels.device)
        weights = data_utils.class_weights_for(labels, table)
        flat = list(flat)
        if "sample_weight" in structures:
            sw_value, s_start, s_stop = structures["sample_weight"]
            sw = data_utils.single_target(flat[s_start:s_stop])
            sw = sw.to(weights.device, weights.dtype)
            weights = weights.reshape((-1,) + (1,) * (sw.ndim - 1)) * sw
            flat[s_start] = weights
        else:
            structures = dict(structures, sample_weight=(weights, len(flat), len(flat) + 1))
            flat.append(weights)
        return flat, structures

    def _place(self, flat):
        # Text (numpy strings) stays on the host as it is.
        tensors = [t for t in flat if isinstance(t, torch.Tensor)]
        if self.device.type == "cpu":
            self._pin = False
            return [t.to("cpu") if isinstance(t, torch.Tensor) else t for t in flat]
        if _fits_on_device(tensors, self.device):
            self._pin = False
            return [t.to(self.device, non_blocking=True) if isinstance(t, torch.Tensor) else t
                    for t in flat]
        self._pin = True
        return flat

    def _cut(self, index=None, start=0, stop=0):
        """The flat leaves of one batch: a slice `[start:stop]` or rows `index`."""
        out = []
        device, pin = self.device, self._pin
        for t in self._flat:
            if t is None:
                out.append(None)
                continue
            if data_utils.is_host_strings(t):
                out.append(t[start:stop] if index is None else t[index[True].numpy()])
                continue
            if index is None:
                part = t[start:stop]
                if pin and t.device.type == "cpu":
                    part = torch.empty(part.shape, dtype=t.dtype, pin_memory=True).copy_(part)
            else:
                rows = index[t.device.type == "cpu"]
                if pin and t.device.type == "cpu":
                    buf = torch.empty((rows.shape[0],) + t.shape[1:], dtype=t.dtype,
                                      pin_memory=True)
                    part = torch.index_select(t, 0, rows, out=buf)
                else:
                    part = t.index_select(0, rows)
            if part.device != device:
                part = part.to(device, non_blocking=True)
            out.append(part)
        return out

    def _pack(self, leaves):
        result = []
        for entry in self._layout:
            if entry is None:
                result.append(None)
            elif entry[0] is None:
                result.append(leaves[entry[1]])
            else:
                result.append(tree.pack_sequence_as(entry[0], leaves[entry[1]:entry[2]]))
        return tuple(result)

    def _index_devices(self):
        return {t.device if isinstance(t, torch.Tensor) else torch.device("cpu")
                for t in self._flat if t is not None}

    def iter_pass(self):
        """Yield one pass over the data as `(x, y, sample_weight)` batches on the device."""
        resume, self._resume = self._resume, None
        order, first = resume if resume is not None else (None, 0)
        n, size = self.num_samples, self.batch_size
        self.position = first
        if not self.shuffle:
            self.order = None
            for b in range(first, self.num_batches):
                self.position = b + 1
                start = b * size
                yield self._pack(self._cut(start=start, stop=min(start + size, n)))
            return
        devices = self._index_devices()
        home = next(iter(devices)) if len(devices) == 1 else torch.device("cpu")
        if self.shuffle == "batch":
            self.order = torch.randperm(self.num_batches) if order is None else order
            for b in self.order[first:].tolist():
                self.position += 1
                start = b * size
                yield self._pack(self._cut(start=start, stop=min(start + size, n)))
            return
        perm = torch.randperm(n, device=home) if order is None else order.to(home)
        self.order = perm
        # rows[is_cpu]: the permutation for host leaves and for device leaves.
        perm_host = perm if home.type == "cpu" else None
        perm_dev = perm if home.type != "cpu" else None
        if len(devices) > 1:
            perm_dev = perm.to(self.device, non_blocking=True)
        for b in range(first, self.num_batches):
            self.position = b + 1
            start = b * size
            stop = min(start + size, n)
            rows = (
                None if perm_dev is None else perm_dev[start:stop],
                None if perm_host is None else perm_host[start:stop],
            )
            yield self._pack(self._cut(index=rows))

    def get_state(self):
        """The current pass: its order (`None` unshuffled) and the batches already given."""
        order = None if self.order is None else self.order.detach().cpu().clone()
        return {"order": order, "position": self.position, "batch_size": self.batch_size}

    def resume(self, state):
        """Make the next pass continue the one `state` (from `get_state`) describes."""
        order = state["order"]
        if state.get("batch_size", self.batch_size) != self.batch_size or (
                order is not None and (self.shuffle is False or order.ndim != 1 or
                                       order.numel() != (self.num_batches if self.shuffle ==
                                                         "batch" else self.num_samples))):
            saved = "no order" if order is None else f"an order of {order.numel()} entries"
            raise ValueError(
                f"The saved data position ({saved}, batches of {state.get('batch_size')}) "
                f"does not fit this data ({self.num_samples} samples in batches of "
                f"{self.batch_size}, shuffle={self.shuffle!r}): resume with the data and "
                "`batch_size` of the interrupted run."
            )
        self._resume = (order, int(state["position"]))

    def on_pass_end(self):
        pass
