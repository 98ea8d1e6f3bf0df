"""Keras 3's `keras.distillation`: train a small student model to imitate a teacher.

`Distiller` is a `Model` whose `fit` trains the student on labels and on the teacher's
outputs; `LogitsDistillation` and `FeatureDistillation` say what the student imitates,
and `DistillationLoss` is the base class for your own.
"""

from lamina.distillation.distillation_loss import (
    DistillationLoss,
    FeatureDistillation,
    LogitsDistillation,
)
from lamina.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
