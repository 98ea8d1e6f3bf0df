"""`DataAdapter`: what `EpochIterator` asks of the adapter behind each kind of input.

One adapter per kind (`ArrayAdapter`, `GeneratorAdapter`, `PyDatasetAdapter`,
`DataLoaderAdapter`); none inherits from this class, they only have its shape.
"""

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DataAdapter(Protocol):
    """A source of batches, read pass by pass.

    Attributes:
        reiterable: whether `iter_pass` may be called again for a new pass (arrays,
            PyDatasets, DataLoaders); False for a one-shot generator, which is consumed
            across epochs and never restarted.
        num_batches: batches per pass, or None when unknown (generators, endless
            PyDatasets, iterable-style DataLoaders).

    An adapter that can be repositioned (for resuming an interrupted `fit`) also has
    `get_state()`, returning its position in the running pass, and `resume(state)`.

    >>> from lamina.trainers.data.generators import GeneratorAdapter
    >>> isinstance(GeneratorAdapter(iter([])), DataAdapter)
    True
    """

    reiterable: bool
    num_batches: int | None

    def iter_pass(self) -> Iterator[Any]:
        """Yield the batches of one pass (or, for a generator, of what is left)."""
        ...

    def on_pass_end(self) -> None:
        """Called after a pass has been read to its end (PyDataset's `on_epoch_end`)."""
        ...
