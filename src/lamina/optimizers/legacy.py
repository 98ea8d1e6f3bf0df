"""`lamina.optimizers.legacy`: Keras 2's optimizers, which Keras 3 (and lamina) refuse."""


class LegacyOptimizerWarning:
    """Constructing any `optimizers.legacy` class raises `ImportError`, as in Keras 3."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            "`keras.optimizers.legacy` is not supported in Keras 3, nor in lamina: use "
            f"`lamina.optimizers.{type(self).__name__}` instead (Keras 3's optimizers "
            "take the same arguments, minus `decay`). Keras 2 code that needs the legacy "
            "optimizers must run on the `tf_keras` package."
        )


class Adagrad(LegacyOptimizerWarning):
    pass


class Adam(LegacyOptimizerWarning):
    pass


class Ftrl(LegacyOptimizerWarning):
    pass


class Optimizer(LegacyOptimizerWarning):
    pass


class RMSprop(LegacyOptimizerWarning):
    pass


class SGD(LegacyOptimizerWarning):
    pass
