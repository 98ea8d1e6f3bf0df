"""Call context: the training flag seen by nested layer calls, in one ContextVar."""

import contextvars

TRAINING = contextvars.ContextVar("lamina_training", default=None)


class training_scope:
    """Set the training flag for every layer called inside the `with` block."""

    __slots__ = ("value", "_token")

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        self._token = TRAINING.set(self.value)
        return self

    def __exit__(self, *exc):
        TRAINING.reset(self._token)
        return False
