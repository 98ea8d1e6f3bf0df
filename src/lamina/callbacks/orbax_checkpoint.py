"""`OrbaxCheckpoint`: Keras' Orbax-backed checkpointing, which lamina does not provide."""

from lamina.callbacks.callback import Callback


class OrbaxCheckpoint(Callback):
    """Keras' checkpointing through Orbax (a JAX library); raises `NotImplementedError`.

    >>> OrbaxCheckpoint("/tmp/ckpt")
    Traceback (most recent call last):
    ...
    NotImplementedError: OrbaxCheckpoint is not available in lamina: ...
    """

    def __init__(self, directory, *args, **kwargs):
        raise NotImplementedError(
            "OrbaxCheckpoint is not available in lamina: Orbax checkpoints JAX arrays, and "
            "lamina's state is torch tensors. Use `lamina.callbacks.ModelCheckpoint` (a "
            ".keras or .weights.h5 file per save, Keras' format) or "
            "`lamina.callbacks.BackupAndRestore` (resumable training state)."
        )
