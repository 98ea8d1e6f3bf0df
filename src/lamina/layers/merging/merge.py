"""The merging layers (`Add`, `Concatenate`, `Dot`, ...) and their functional forms."""

import torch
import torch.nn.functional as F

from lamina.backend.convert import tensor_unless_symbolic
from lamina.layers.merging.base_merge import Merge, expand_mask, is_single_shape


class Add(Merge):
    """Adds a list of inputs elementwise.

    >>> import torch
    >>> Add()([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """Subtracts the second of exactly two inputs from the first.

    >>> import torch
    >>> Subtract()([torch.full((1, 2), 5.0), torch.ones(1, 2)]).tolist()
    [[4.0, 4.0]]
    """

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"{self._where()}: A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: input_shape={[tuple(s) for s in input_shape]}"
            )

    def _merge(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f"{self._where()}: A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: {len(inputs)} inputs"
            )
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    With masks, a masked entry counts as 1, and entries masked in every input are 0.

    >>> import torch
    >>> Multiply()([torch.full((1, 2), 3.0), torch.full((1, 2), 2.0)]).tolist()
    [[6.0, 6.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out

    def _merge_masked(self, inputs, masks):
        out, valid = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = expand_mask(m.bool(), x.ndim)
                x = torch.where(m, x, torch.ones((), dtype=x.dtype, device=x.device))
                valid = m if valid is None else valid | m
            out = x if out is None else out * x
        if any(m is None for m in masks):
            return out
        return torch.where(valid, out, torch.zeros((), dtype=out.dtype, device=out.device))


class Average(Merge):
    """Averages a list of inputs elementwise.

    >>> import torch
    >>> Average()([torch.zeros(1, 2), torch.full((1, 2), 4.0)]).tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class _Extremum(Merge):
    """`Maximum`/`Minimum`: with masks, only unmasked entries compete; where every input
    is masked, the first input's entry is kept."""

    _op = None

    def _merge(self, inputs):
        op = type(self)._op
        out = inputs[0]
        for x in inputs[1:]:
            out = op(out, x)
        return out

    def _merge_masked(self, inputs, masks):
        op = type(self)._op
        out, valid = inputs[0], masks[0]
        if valid is not None:
            valid = expand_mask(valid.bool(), out.ndim)
        for x, m in zip(inputs[1:], masks[1:]):
            best = op(out, x)
            if valid is not None:
                best = torch.where(valid, best, x)
            if m is None:
                out, valid = best, None
                continue
            m = expand_mask(m.bool(), x.ndim)
            out = torch.where(m, best, out)
            valid = None if valid is None else valid | m
        return out


class Maximum(_Extremum):
    """Elementwise maximum of a list of inputs.

    >>> import torch
    >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """

    _op = staticmethod(torch.maximum)


class Minimum(_Extremum):
    """Elementwise minimum of a list of inputs.

    >>> import torch
    >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    _op = staticmethod(torch.minimum)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`; all other sizes must match.

    Args:
        axis: the axis to concatenate along (default: the last).

    >>> import torch
    >>> Concatenate()([torch.zeros(2, 3), torch.ones(2, 4)]).shape
    torch.Size([2, 7])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"{self._where()}: argument `axis` must be an integer. Received: axis={axis!r}")
        self.axis = axis

    def _mismatch(self, input_shape):
        return ValueError(
            f"{self._where()}: A `Concatenate` layer requires inputs with matching shapes "
            "except for the concatenation axis. Received: "
            f"input_shape={[tuple(s) for s in input_shape]}"
        )

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or is_single_shape(input_shape) or (
                len(input_shape) < 1):
            raise ValueError(
                f"{self._where()}: A `Concatenate` layer should be called on a list of at "
                f"least 1 input. Received: input_shape={input_shape}"
            )
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or is_single_shape(input_shape):
            raise self._mismatch([input_shape])
        ranks = {len(s) for s in input_shape}
        if len(ranks) > 1:
            raise self._mismatch(input_shape)
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"{self._where()}: `axis`={self.axis} is out of range for inputs of rank "
                f"{rank}. Received: input_shape={[tuple(s) for s in input_shape]}"
            )
        axis = self.axis % rank
        out = []
        for i in range(rank):
            sizes = [s[i] for s in input_shape]
            if i == axis:
                out.append(None if None in sizes else sum(sizes))
                continue
            known = set(sizes) - {None}
            if len(known) > 1:
                raise self._mismatch(input_shape)
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs, mask=None):
        return torch.cat(inputs, dim=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{self._where()}: `mask` should be a list. Received mask={mask}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{self._where()}: `inputs` should be a list. Received: inputs={inputs}")
        if len(mask) != len(inputs):
            raise ValueError(
                f"{self._where()}: The lists `inputs` and `mask` should have the same length. "
                f"Received: {len(inputs)} inputs and {len(mask)} masks"
            )
        if all(m is None for m in mask):
            return None
        # Per-entry masks of every input, concatenated like the inputs, then reduced over
        # the last axis (a timestep is valid when any of its features is).
        full = []
        for x, m in zip(map(tensor_unless_symbolic, inputs), mask):
            if m is None:
                full.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            else:
                m = tensor_unless_symbolic(m).bool()
                full.append(expand_mask(m, x.ndim).expand(x.shape))
        return torch.cat(full, dim=self.axis).any(dim=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Merge):
    """Dot product of two samples-wise tensors along `axes` (a batched contraction).

    For inputs of shapes `(batch, n)` and `(batch, n)` the output is `(batch, 1)`; in
    general the output holds the first input's remaining axes, then the second's.

    Args:
        axes: int, or a pair of ints: the axis of each input to contract.
        normalize: if True, L2-normalize both inputs along `axes` first, so the output is
            the cosine similarity.

    >>> import torch
    >>> Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
    [[3.0], [3.0]]
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    "Invalid type for argument `axes`: it should be a list or an int. "
                    f"Received: axes={axes}"
                )
            if len(axes) != 2:
                raise ValueError(
                    "Invalid format for argument `axes`: it should contain two elements. "
                    f"Received: axes={axes}"
                )
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(
                    "Invalid format for argument `axes`: list elements should be integers. "
                    f"Received: axes={axes}"
                )
        self.axes = axes
        self.normalize = normalize

    def _resolve_axes(self, rank1, rank2):
        a1, a2 = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        return [a1 % rank1 if a1 < 0 else a1, a2 % rank2 if a2 < 0 else a2]

    def build(self, input_shape):
        if (not isinstance(input_shape, (list, tuple)) or is_single_shape(input_shape)
                or len(input_shape) != 2):
            raise ValueError(
                f"{self._where()}: A `Dot` layer should be called on a list of 2 inputs. "
                f"Received: input_shape={input_shape}"
            )
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if (not isinstance(input_shape, (list, tuple)) or is_single_shape(input_shape)
                or len(input_shape) != 2):
            raise ValueError(
                f"{self._where()}: A `Dot` layer should be called on a list of 2 inputs. "
                f"Received: input_shape={input_shape}"
            )
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        axes = self._resolve_axes(len(shape1), len(shape2))
        for shape, axis in ((shape1, axes[0]), (shape2, axes[1])):
            if not 0 < axis < len(shape):
                raise ValueError(
                    f"{self._where()}: `axes`={self.axes} is out of range for the inputs, or "
                    "names the batch axis (a Dot contracts non-batch axes). Received: "
                    f"input_shape={[tuple(s) for s in input_shape]}"
                )
        if shape1[axes[0]] != shape2[axes[1]]:
            raise ValueError(
                f"{self._where()}: Incompatible input shapes: axis values {shape1[axes[0]]} "
                f"(at axis {axes[0]}) != {shape2[axes[1]]} (at axis {axes[1]}). Full input "
                f"shapes: {tuple(shape1)}, {tuple(shape2)}"
            )
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        shape2.pop(0)
        out = shape1 + shape2
        return tuple(out + [1] if len(out) == 1 else out)

    def call(self, inputs, mask=None):
        if len(inputs) != 2:
            raise ValueError(
                f"{self._where()}: A `Dot` layer should be called on exactly 2 inputs. "
                f"Received: {len(inputs)} inputs"
            )
        x1, x2 = inputs
        a1, a2 = self._resolve_axes(x1.ndim, x2.ndim)
        if self.normalize:
            x1 = F.normalize(x1, dim=a1)
            x2 = F.normalize(x2, dim=a2)
        return batch_dot(x1, x2, a1, a2)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def batch_dot(x1, x2, axis1, axis2):
    """Contract axis `axis1` of `x1` with `axis2` of `x2`, sample by sample (axis 0 is the
    batch): the result has `x1`'s other axes, then `x2`'s; `(batch,)` becomes
    `(batch, 1)`."""
    batch = x1.shape[0]
    a = x1.movedim(axis1, -1)
    b = x2.movedim(axis2, 1)
    rest1, rest2 = a.shape[1:-1], b.shape[2:]
    out = torch.bmm(a.reshape(batch, -1, a.shape[-1]), b.reshape(batch, b.shape[1], -1))
    out = out.reshape(batch, *rest1, *rest2)
    return out.unsqueeze(-1) if out.ndim == 1 else out


def add(inputs, **kwargs):
    """Functional form of `Add`: `add([a, b])` is `Add()([a, b])`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)
