"""`GradientTape`: TensorFlow's tape API on torch autograd, for custom training loops."""

import torch

from lamina import tree


class GradientTape:
    """Record operations inside a `with` block to compute gradients afterwards.

    Args:
        persistent: allow several `gradient()` calls on one tape.
        watch_accessed_variables: if False, only tensors passed to `watch()` get
            gradients (others give None).

    >>> import lamina
    >>> w = lamina.Variable([2.0])
    >>> with lamina.GradientTape() as tape:
    ...     y = (w * w).sum()
    >>> tape.gradient(y, w).tolist()
    [4.0]
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched = []
        self._used = False
        self._grad_mode = None

    def __enter__(self):
        self._grad_mode = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        return self

    def __exit__(self, *exc):
        torch.set_grad_enabled(self._grad_mode)
        return False

    def watch(self, tensor):
        """Track `tensor` (or a nested structure of tensors) so gradients flow to it."""
        for t in tree.flatten(tensor):
            if not isinstance(t, torch.Tensor):
                raise ValueError(
                    f"`GradientTape.watch` takes tensors or variables. Received: {type(t)}"
                )
            if not t.requires_grad:
                if t.grad_fn is not None or not (t.is_floating_point() or t.is_complex()):
                    raise ValueError(
                        "Cannot watch a tensor that is not a floating-point leaf tensor. "
                        "Watch it before computing anything from it."
                    )
                t.requires_grad_(True)
            self._watched.append(t)

    def stop_recording(self):
        """Context manager: operations inside are not recorded."""
        return torch.no_grad()

    def reset(self):
        self._watched = []
        self._used = False

    def watched_variables(self):
        return list(self._watched)

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """Gradients of `target` (summed if not scalar) with respect to `sources`.

        `sources` may be any nested structure; the result has the same structure, with
        None for sources that `target` does not depend on.
        """
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients. Create the tape with `persistent=True` to call `gradient()` "
                "several times."
            )
        self._used = True
        targets = [t for t in tree.flatten(target) if isinstance(t, torch.Tensor)]
        with torch.enable_grad():
            if output_gradients is not None:
                grad_outputs = tree.flatten(output_gradients)
                total = sum((t * g).sum() for t, g in zip(targets, grad_outputs))
            else:
                total = sum(t.sum() for t in targets)
        flat_sources = tree.flatten(sources)
        watched = {id(t) for t in self._watched}
        wanted = []
        for s in flat_sources:
            usable = isinstance(s, torch.Tensor) and s.requires_grad and (
                self.watch_accessed_variables or id(s) in watched)
            wanted.append(usable)
        inputs = [s for s, use in zip(flat_sources, wanted) if use]
        grads_iter = iter(())
        if inputs and isinstance(total, torch.Tensor) and total.requires_grad:
            grads_iter = iter(torch.autograd.grad(total, inputs, retain_graph=self.persistent,
                                                  allow_unused=True))
        else:
            grads_iter = iter([None] * len(inputs))
        results = []
        for s, use in zip(flat_sources, wanted):
            grad = next(grads_iter) if use else None
            if grad is None and unconnected_gradients == "zero" and isinstance(s, torch.Tensor):
                grad = torch.zeros_like(s)
            results.append(grad)
        return tree.pack_sequence_as(sources, results)
