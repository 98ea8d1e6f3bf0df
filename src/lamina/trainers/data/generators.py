"""Python generators and iterators that yield `x`, `(x, y)` or `(x, y, sample_weight)`.

A generator cannot be rewound: it is consumed across epochs, never restarted.
"""

import inspect


def is_python_iterator(x):
    """True for generators and other one-shot iterators (objects with `__next__`)."""
    return inspect.isgenerator(x) or (hasattr(x, "__next__") and hasattr(x, "__iter__"))


class GeneratorAdapter:
    """Streams the items of a Python iterator as they are (`EpochIterator` unpacks them)."""

    reiterable = False
    num_batches = None

    def __init__(self, generator):
        self._generator = generator

    def iter_pass(self):
        yield from self._generator

    def on_pass_end(self):
        pass
