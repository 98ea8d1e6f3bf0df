"""Python generators and iterators that yield `x`, `(x, y)` or `(x, y, sample_weight)`.

A generator cannot be rewound: it is consumed across epochs, never restarted.
"""

import inspect

from lamina.trainers.data import data_utils


def is_python_iterator(x):
    """True for generators and other one-shot iterators (objects with `__next__`)."""
    return inspect.isgenerator(x) or (hasattr(x, "__next__") and hasattr(x, "__iter__"))


class GeneratorAdapter:
    """Streams batches from a Python iterator; each item is unpacked into
    `(x, y, sample_weight)`."""

    reiterable = False
    num_batches = None

    def __init__(self, generator):
        self._generator = generator

    def iter_pass(self):
        for item in self._generator:
            yield data_utils.unpack_x_y_sample_weight(item)

    def on_pass_end(self):
        pass
