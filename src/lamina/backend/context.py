"""Call context: the training flag seen by nested layer calls, in one ContextVar.

The one training-flag rule. A layer's `call` receives, in this order of precedence:

1. the `training=` argument passed to this call, if not None;
2. the flag of the enclosing call: a layer that resolved its flag passes it to every
   layer it calls, however they are called (`self.sub(x)` without `training` included);
3. the scope set by `fit`/`train_on_batch` (True) or `evaluate`/`predict`/`*_on_batch`
   (False) around each step; it lives in the same ContextVar as 2, so it is per thread
   and per call: `fit` in one thread and `predict` in another each see their own mode;
4. the module's torch mode, when it was switched on with `model.train()` (a plain
   PyTorch loop); layers start in eval mode, so this never applies unless asked;
5. the default of the layer's `call` signature (`training=False` in Dropout,
   `training=True` in RandomFlip), else False. A layer whose flag comes from rules 1-5 with
   a value passes it on (rule 2); one whose `call` default is None passes nothing, so its
   sublayers fall back to their own defaults, as in Keras.

Under Dynamo (`jit_compile`, `torch.compile`, `torch.export`) a ContextVar cannot be read,
so compiled code uses rules 1, 4 and 5; the trainer's steps set module mode for compiled
models. `Layer._full_call` implements the rule (inlined: it is the hot path).
"""

import contextvars

TRAINING = contextvars.ContextVar("lamina_training", default=None)


class training_scope:
    """Set the training flag for every layer called inside the `with` block (rule 3).

    >>> with training_scope(True):
    ...     TRAINING.get()
    True
    """

    __slots__ = ("value", "_token")

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        self._token = TRAINING.set(self.value)
        return self

    def __exit__(self, *exc):
        TRAINING.reset(self._token)
        return False
