"""`Distiller`: a model that trains a student to imitate a frozen teacher.

The training loss of a batch is

    student_loss_weight * student_loss(y, student(x))
    + (1 - student_loss_weight) * sum_i(weight_i * distillation_loss_i(teacher, student))

where each distillation loss sees the final outputs or, for a `FeatureDistillation` naming
layers, those layers' outputs. The feature extractors (functional models sharing the
teacher's or student's layers, returning the final outputs and the named features) are
planned once, in `__init__`; the student's runs in `call`, so a training step runs the
student once.
"""

import warnings

import torch

from lamina import metrics as metrics_module
from lamina import tree
from lamina.backend.dtypes import standardize_dtype
from lamina.distillation.distillation_loss import (
    DistillationLoss,
    FeatureDistillation,
    layer_output,
)
from lamina.models.model import Model
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


class Distiller(Model):
    """Train `student` on labels and on a frozen `teacher`'s outputs (knowledge
    distillation). `distiller.student` is the trained model to keep.

    Args:
        teacher: a trained `lamina.Model`; frozen (`trainable=False`) here.
        student: the `lamina.Model` to train, taking the same inputs.
        distillation_losses: a `DistillationLoss` (`LogitsDistillation`,
            `FeatureDistillation`, or your own) or a list of them.
        distillation_loss_weights: one weight per distillation loss; `None` weighs each 1.
        student_loss_weight: the share, in [0, 1], of the supervised loss (the `loss` given
            to `compile`) in the total; the distillation losses get the rest. Defaults to 0.5.
        name: the model name. Defaults to `"distiller"`.
        **kwargs: other `Model` arguments (`dtype`, `trainable`).

    `fit` logs `loss` (the total, averaged over samples), and `student_loss`,
    `distillation_loss` and `total_loss` (averaged over batches), as Keras does. As in
    Keras, sample weights and the student's regularization losses are not part of the
    total.

    >>> import numpy as np
    >>> import lamina
    >>> from lamina import layers
    >>> from lamina.distillation import Distiller, LogitsDistillation
    >>> def mlp(units):
    ...     inputs = lamina.Input((4,))
    ...     hidden = layers.Dense(units, activation="relu")(inputs)
    ...     return lamina.Model(inputs, layers.Dense(3)(hidden))
    >>> distiller = Distiller(teacher=mlp(16), student=mlp(4),
    ...                       distillation_losses=LogitsDistillation(temperature=2.0))
    >>> distiller.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> history = distiller.fit(np.random.rand(8, 4), np.random.randint(0, 3, 8), verbose=0)
    >>> sorted(history.history)
    ['distillation_loss', 'loss', 'student_loss', 'total_loss']
    >>> distiller.teacher.trainable, distiller.student.trainable
    (False, True)
    """

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        for role, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, Model):
                raise ValueError(
                    f"Distiller: `{role}` must be a lamina.Model. Received: "
                    f"{role}={model!r:.80} ({type(model).__name__})."
                )
        losses = _as_loss_list(distillation_losses)
        if distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(losses)
        elif not isinstance(distillation_loss_weights, (list, tuple)):
            raise TypeError(
                "Distiller: `distillation_loss_weights` must be a list of numbers, one per "
                f"distillation loss. Received: {distillation_loss_weights!r}."
            )
        elif len(distillation_loss_weights) != len(losses):
            raise ValueError(
                f"Distiller: `distillation_loss_weights` has {len(distillation_loss_weights)} "
                f"entries but there are {len(losses)} distillation losses: give one weight "
                f"per loss. Received: distillation_loss_weights={distillation_loss_weights!r}."
            )
        if not isinstance(student_loss_weight, (int, float)):
            raise ValueError(
                "Distiller: `student_loss_weight` must be a number between 0 and 1. "
                f"Received: {student_loss_weight!r} ({type(student_loss_weight).__name__})."
            )
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                "Distiller: `student_loss_weight` must be between 0.0 and 1.0. Received: "
                f"student_loss_weight={student_loss_weight!r}."
            )
        _check_models_match(teacher, student)
        for loss in losses:
            loss.validate_model_compatibility(teacher, student)

        teacher.trainable = False
        # NOTE: teacher first, then student, then the extractors: Keras' tracking order,
        # which names their groups in a `.keras` weights file (layers/functional, ...).
        self.teacher = teacher
        self.student = student
        self.student_loss_weight = student_loss_weight
        self.distillation_losses = distillation_losses if isinstance(
            distillation_losses, (list, tuple)) else losses
        self.distillation_loss_weights = distillation_loss_weights
        self._losses_and_weights = list(zip(losses, distillation_loss_weights))

        teacher_names = _named_layers(losses, "teacher_layer_name")
        student_names = _named_layers(losses, "student_layer_name")
        self._teacher_feature_extractor = _feature_extractor(teacher, teacher_names, "teacher")
        self._student_feature_extractor = _feature_extractor(student, student_names, "student")
        self._teacher_feature_names = teacher_names
        self._student_feature_names = student_names

        self.student_loss_tracker = metrics_module.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics_module.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics_module.Mean(name="total_loss")

    # -- forward ---------------------------------------------------------------------------
    def call(self, inputs, training=None, **kwargs):
        """The student's outputs."""
        extractor = self._student_feature_extractor
        if extractor is None:
            return self.student(inputs, training=training, **kwargs)
        final, features = _split(extractor(inputs, training=training))
        # NOTE: kept for `compute_loss` (which gets `final` as `y_pred`), so a training step
        # runs the student once; set through `__dict__`: plain state, not a torch attribute.
        self.__dict__["_stashed_student"] = (final, features)
        return final

    def _student_outputs(self, x, y_pred, training):
        if self._student_feature_extractor is None:
            return y_pred, {}
        stashed = self.__dict__.pop("_stashed_student", None)
        if stashed is not None and stashed[0] is y_pred:
            return stashed[0], dict(zip(self._student_feature_names, stashed[1]))
        # `y_pred` did not come from this model's last `call` (a direct `compute_loss`).
        final, features = _split(self._student_feature_extractor(x, training=training))
        return final, dict(zip(self._student_feature_names, features))

    def _teacher_outputs(self, x):
        with torch.no_grad():
            extractor = self._teacher_feature_extractor
            if extractor is None:
                return self.teacher(x, training=False), {}
            final, features = _split(extractor(x, training=False))
            return final, dict(zip(self._teacher_feature_names, features))

    # -- training --------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configure training: `loss` is the student's supervised loss (on `y`), required;
        `metrics` are computed on the student's outputs. Other arguments as `Model.compile`.
        """
        if loss is None:
            raise ValueError(
                "Distiller.compile: `loss` (the student's supervised loss) cannot be None. "
                "Pass e.g. loss='sparse_categorical_crossentropy'; set "
                "`student_loss_weight=0.0` in the Distiller to train on the teacher alone."
            )
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def _output_names_for_compile(self):
        return self.student._output_names_for_compile()

    def compile_from_config(self, config):
        if config.get("loss") is None:
            # A file written by Keras, whose Distiller does not save the student loss.
            warnings.warn(
                f"Distiller '{self.name}' was loaded without its training configuration: "
                "the file does not hold the student loss. Call `compile()` to train it.",
                stacklevel=2,
            )
            return
        super().compile_from_config(config)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the student loss and the distillation losses (see the module
        docstring); updates the `student_loss`, `distillation_loss` and `total_loss`
        trackers. `sample_weight` is not used, as in Keras."""
        weight = self.student_loss_weight
        zero = tree.flatten(y_pred)[0].new_zeros(())
        student_loss = zero
        if weight > 0.0 and y is not None:
            if self._compile_loss is None:
                raise ValueError(
                    f"Distiller '{self.name}' has no student loss: call "
                    "`compile(optimizer=..., loss=...)` first."
                )
            student_loss = self._compile_loss(y, y_pred)
        distillation_loss = zero
        if weight < 1.0 and self._losses_and_weights:
            teacher_final, teacher_features = self._teacher_outputs(x)
            student_final, student_features = self._student_outputs(x, y_pred, training)
            for loss, loss_weight in self._losses_and_weights:
                if isinstance(loss, FeatureDistillation):
                    teacher = teacher_features.get(loss.teacher_layer_name, teacher_final)
                    student = student_features.get(loss.student_layer_name, student_final)
                else:
                    teacher, student = teacher_final, student_final
                loss.validate_outputs(teacher, student)
                distillation_loss = distillation_loss + loss_weight * loss.compute_loss(
                    teacher, student)
        total = weight * student_loss + (1.0 - weight) * distillation_loss
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return total

    # -- config ----------------------------------------------------------------------------
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": serialize_keras_object(self.dtype_policy),
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [serialize_keras_object(loss)
                                    for loss, _ in self._losses_and_weights],
            "distillation_loss_weights": self.distillation_loss_weights,
            "student_loss_weight": self.student_loss_weight,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("teacher", "student", "distillation_losses"):
            if key in config:
                config[key] = deserialize_keras_object(config[key], custom_objects)
        return cls(**config)


def _as_loss_list(distillation_losses):
    if distillation_losses is None:
        raise ValueError(
            "Distiller: `distillation_losses` cannot be None. Pass a distillation loss "
            "(e.g. LogitsDistillation() or FeatureDistillation()) or a list of them."
        )
    losses = list(distillation_losses) if isinstance(distillation_losses, (list, tuple)) \
        else [distillation_losses]
    for i, loss in enumerate(losses):
        if not isinstance(loss, DistillationLoss):
            where = f" (entry {i})" if isinstance(distillation_losses, (list, tuple)) else ""
            raise TypeError(
                f"Distiller: `distillation_losses`{where} must hold "
                "lamina.distillation.DistillationLoss instances (LogitsDistillation, "
                f"FeatureDistillation, or a subclass). Received: {loss!r:.80} "
                f"({type(loss).__name__})."
            )
    return losses


def _symbolic(model, attribute):
    """`model.inputs`/`model.outputs` as a flat list, or None for a subclassed model."""
    value = getattr(model, attribute, None)
    return None if value is None else tree.flatten(value)


def _check_models_match(teacher, student):
    """Functional/Sequential models must take the same inputs and give outputs of the same
    shapes and dtype (`None` dimensions match anything)."""
    for attribute in ("inputs", "outputs"):
        kind = attribute[:-1]
        ours, theirs = _symbolic(teacher, attribute), _symbolic(student, attribute)
        if ours is None or theirs is None:
            continue
        if len(ours) != len(theirs):
            raise ValueError(
                f"Distiller: the teacher has {len(ours)} {attribute} and the student "
                f"{len(theirs)}; they must match."
            )
        for t, s in zip(ours, theirs):
            t_shape, s_shape = tuple(t.shape), tuple(s.shape)
            if len(t_shape) != len(s_shape) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(t_shape, s_shape)):
                raise ValueError(
                    f"Distiller: teacher and student {kind} shapes are incompatible. "
                    f"Teacher: {t_shape}, Student: {s_shape}. Every dimension must match "
                    "(None matches any size)."
                )
    outputs = _symbolic(teacher, "outputs"), _symbolic(student, "outputs")
    if None not in outputs:
        for t, s in zip(*outputs):
            t_dtype, s_dtype = standardize_dtype(t.dtype), standardize_dtype(s.dtype)
            if t_dtype != s_dtype:
                raise ValueError(
                    "Distiller: teacher and student output dtypes must match. Teacher: "
                    f"{t_dtype}, Student: {s_dtype}."
                )


def _named_layers(losses, attribute):
    """The layer names the losses read from one model, each once, in order."""
    names = []
    for loss in losses:
        name = getattr(loss, attribute, None) if isinstance(loss, FeatureDistillation) \
            else None
        if name is not None and name not in names:
            names.append(name)
    return names


def _feature_extractor(model, layer_names, role):
    """A functional model sharing `model`'s layers that returns `[final outputs,
    [feature, ...]]`; None when no loss names one of its layers."""
    if not layer_names:
        return None
    features = [layer_output(model, name, role) for name in layer_names]
    return Model(model.inputs, [model.output, features],
                 name=f"{model.name}_multi_feature_extractor")


def _split(outputs):
    final, features = outputs
    return final, list(features)
