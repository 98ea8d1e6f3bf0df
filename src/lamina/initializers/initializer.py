"""`Initializer`: the base of every weight initializer (built-in or user-written)."""


class Initializer:
    """Makes the initial value of a weight: `initializer(shape, dtype=None)` returns a
    tensor of that shape.

    Subclasses implement `__call__` and, when they take arguments, `get_config`.

    >>> import torch, lamina
    >>> class Twos(lamina.initializers.Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return torch.full(shape, 2.0)
    >>> Twos()((2,)).tolist()
    [2.0, 2.0]
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"Initializer subclasses must implement the `__call__()` method. "
            f"{type(self).__name__} does not."
        )

    def get_config(self):
        """The constructor arguments, as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuild an initializer from `get_config()`'s output."""
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        return f"<{type(self).__name__} {self.get_config()}>"
