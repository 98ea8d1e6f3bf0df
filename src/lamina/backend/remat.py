"""Rematerialization (gradient checkpointing): `remat` and `RematScope`, as Keras'.

`remat(f)` runs `f` under `torch.utils.checkpoint`: its activations are recomputed
in the backward pass instead of kept. Layers created inside a `RematScope` remember
its mode and apply it when called (`Layer.__init__` installs `remat_call`).
"""

import contextvars
import functools
import math

import torch
from torch.utils.checkpoint import checkpoint

from lamina import tree

_REMAT_MODE = contextvars.ContextVar("lamina_remat_mode", default=None)
_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


def remat(f):
    """Wrap `f` so its intermediate activations are recomputed during backprop.

    >>> import torch
    >>> x = torch.ones(3, requires_grad=True)
    >>> remat(torch.sin)(x).sum().backward()
    >>> bool(torch.allclose(x.grad, torch.cos(x)))
    True
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if not torch.is_grad_enabled():
            return f(*args, **kwargs)
        return checkpoint(f, *args, use_reentrant=False, **kwargs)
    return wrapped


class RematScope:
    """Layers created inside this scope rematerialize their calls.

    Args:
        mode: `"full"` (every layer), `"activations"` (the `activation` of layers
            that have one), `"larger_than"` (layers whose output has more than
            `output_size_threshold` elements), `"list_of_layers"` (layers named in
            `layer_names`) or None (off).
        output_size_threshold: element count for `"larger_than"` (default 1024).
        layer_names: layer names for `"list_of_layers"`.

    >>> import lamina
    >>> with RematScope(mode="full"):
    ...     layer = lamina.layers.Dense(2)
    >>> layer._remat_mode.mode
    'full'
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(
                f"Invalid mode '{mode}'. Supported modes are: "
                "['full', 'activations', 'larger_than', 'list_of_layers', None]"
            )
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        self._token = _REMAT_MODE.set(self if self.mode is not None else None)
        return self

    def __exit__(self, *exc):
        _REMAT_MODE.reset(self._token)
        return False


def get_current_remat_mode():
    """The innermost active `RematScope` (None when none is, or its mode is None)."""
    return _REMAT_MODE.get()


def remat_call(layer, call, scope):
    """`layer.call` wrapped according to `scope`'s mode (`call` itself when it does not apply)."""
    mode = scope.mode
    if mode == "list_of_layers" and layer.name not in scope.layer_names:
        return call
    if mode in ("full", "list_of_layers"):
        return remat(call)
    if mode == "activations":
        @functools.wraps(call)
        def with_remat_activation(*args, **kwargs):
            activation = getattr(layer, "activation", None)
            if activation is not None and not getattr(activation, "_lamina_remat", False):
                wrapped = remat(activation)
                wrapped._lamina_remat = True
                layer.activation = wrapped
                # Layers that cache a direct form of their activation (Dense) read that.
                if getattr(layer, "_activation_fn", None) is not None:
                    layer._activation_fn = remat(layer._activation_fn)
            return call(*args, **kwargs)
        return with_remat_activation
    rematted = remat(call)
    decided = []  # [True/False] once the first call has measured the output

    @functools.wraps(call)
    def when_large(*args, **kwargs):
        if decided:
            return (rematted if decided[0] else call)(*args, **kwargs)
        # NOTE: the first call runs plainly to measure the output; Keras estimates it
        # symbolically, which gives the same decision for fixed-size outputs.
        outputs = call(*args, **kwargs)
        size = sum(math.prod(t.shape) for t in tree.flatten(outputs)
                   if isinstance(t, torch.Tensor))
        decided.append(size > scope.output_size_threshold)
        return outputs
    return when_large

