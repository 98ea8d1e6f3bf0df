"""Distillation losses: how a teacher's outputs (or inner features) teach a student's.

A distillation loss turns a pair `(teacher_outputs, student_outputs)` into one scalar.
`Distiller` decides which outputs each loss sees: the models' final outputs, or, for a
`FeatureDistillation` naming layers, those layers' outputs.
"""

from lamina import losses as losses_module
from lamina import ops, tree
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


class DistillationLoss:
    """Base class of distillation losses: subclass it and implement `compute_loss`.

    `Distiller` calls `validate_model_compatibility(teacher, student)` once, when it is
    built, and `validate_outputs` then `compute_loss` on every batch.

    >>> import lamina
    >>> from lamina import ops
    >>> class L1Distillation(lamina.distillation.DistillationLoss):
    ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
    ...         return ops.mean(ops.abs(teacher_outputs - student_outputs))
    >>> float(L1Distillation().compute_loss(ops.ones((2, 3)), ops.zeros((2, 3))))
    1.0
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The loss (a scalar tensor) between a teacher's and a student's outputs.

        Args:
            teacher_outputs: a tensor, or a list/dict of tensors (multi-output models).
            student_outputs: the student's, in the same structure.
            **kwargs: extra arguments a custom loss may use.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement `compute_loss(teacher_outputs, "
            "student_outputs, **kwargs)`, returning a scalar tensor."
        )

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Raise a `ValueError` if the two outputs do not have the same structure."""
        _check_same_structure(teacher_outputs, student_outputs, "teacher outputs",
                              "student outputs", type(self).__name__)

    def validate_model_compatibility(self, teacher, student):
        """Raise a `ValueError` if this loss cannot work with these two models (the base
        class accepts any pair)."""


class LogitsDistillation(DistillationLoss):
    """Teach the student the teacher's final outputs, softened by a temperature.

    Both models' outputs (logits) are divided by `temperature`, then compared by `loss`:
    the batch mean of `loss(teacher / temperature, student / temperature)`, summed over the
    outputs of a multi-output model.

    Args:
        temperature: positive number dividing both models' logits. Defaults to 3.0.
        loss: a loss name (`"kl_divergence"`, `"categorical_crossentropy"`, ...), a loss
            instance or function, or a list/dict of those (`None` entries skip an output)
            for multi-output models. The loss receives the scaled logits as they are: as in
            Keras 3.15, no softmax is applied first. Defaults to `"kl_divergence"`.

    >>> import lamina
    >>> from lamina import ops
    >>> loss = lamina.distillation.LogitsDistillation(temperature=2.0, loss="mse")
    >>> float(loss.compute_loss(ops.ones((2, 3)), ops.zeros((2, 3))))  # mean((1/2 - 0)^2)
    0.25
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        if not isinstance(temperature, (int, float)):
            raise ValueError(
                "LogitsDistillation: `temperature` must be a positive number. Received: "
                f"temperature={temperature!r} ({type(temperature).__name__})."
            )
        if temperature <= 0:
            raise ValueError(
                "LogitsDistillation: `temperature` must be positive (it divides the logits). "
                f"Received: temperature={temperature!r}."
            )
        self.temperature = temperature
        self.loss = _resolve_loss(loss, "LogitsDistillation")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The mean of `loss(teacher / temperature, student / temperature)`, summed over
        the outputs."""
        teacher = tree.map_structure(lambda t: t / self.temperature, teacher_outputs)
        student = tree.map_structure(lambda s: s / self.temperature, student_outputs)
        return _structured_loss(self.loss, teacher, student, "LogitsDistillation")

    def get_config(self):
        return {"temperature": self.temperature, "loss": serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config):
        return _with_loss_deserialized(cls, config)


class FeatureDistillation(DistillationLoss):
    """Teach the student the teacher's features: the outputs of named inner layers, or the
    final outputs.

    Args:
        loss: a loss name (`"mse"`, `"mae"`, `"cosine_similarity"`, ...), a loss instance or
            function, or a list/dict of those (`None` entries skip an output) for
            multi-output layers. Defaults to `"mse"`.
        teacher_layer_name: the teacher layer whose output is compared; `None` for the
            teacher's final output. Needs a functional or Sequential teacher.
        student_layer_name: the same for the student.

    >>> import lamina
    >>> from lamina import ops
    >>> loss = lamina.distillation.FeatureDistillation(loss="mae")
    >>> float(loss.compute_loss(ops.ones((2, 4)), ops.zeros((2, 4))))
    1.0
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = _resolve_loss(loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher, student):
        """Raise a `ValueError` if a named layer is missing, or a model whose layer is named
        is not functional/Sequential (a subclassed model has no layer outputs to read)."""
        for role, model, layer_name in (("teacher", teacher, self.teacher_layer_name),
                                        ("student", student, self.student_layer_name)):
            if layer_name is not None:
                layer_output(model, layer_name, role)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The mean of `loss(teacher_features, student_features)`, summed over outputs."""
        return _structured_loss(self.loss, teacher_outputs, student_outputs,
                                "FeatureDistillation")

    def get_config(self):
        return {"loss": serialize_keras_object(self.loss),
                "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config):
        return _with_loss_deserialized(cls, config)


def _with_loss_deserialized(cls, config):
    """`cls(**config)`, the serialized `loss` in `config` made a loss again."""
    config = dict(config)
    if "loss" in config:
        config["loss"] = deserialize_keras_object(config["loss"])
    return cls(**config)


def layer_output(model, layer_name, role):
    """The symbolic output of `model`'s layer `layer_name` (`role`: "teacher"/"student")."""
    if getattr(model, "outputs", None) is None or getattr(model, "inputs", None) is None:
        raise ValueError(
            f"FeatureDistillation reads the output of layer '{layer_name}' of the {role} "
            f"model '{model.name}' ({type(model).__name__}), which has no symbolic inputs and "
            "outputs (a subclassed model, or a Sequential model built without an `Input`). "
            "Use a functional model or a Sequential model starting with `Input`, or leave "
            f"`{role}_layer_name=None` to distill the final outputs (or use "
            "LogitsDistillation)."
        )
    if not isinstance(layer_name, str):
        raise ValueError(
            f"FeatureDistillation: `{role}_layer_name` must be a layer name (str) or None. "
            f"Received: {layer_name!r} ({type(layer_name).__name__})."
        )
    try:
        layer = model.get_layer(layer_name)
    except ValueError as error:
        raise ValueError(f"In {role} model '{model.name}': {error}") from None
    return layer.output


def _resolve_loss(loss, owner):
    """`loss` with every name replaced by Keras' loss function; checked once, here."""

    def resolve(item):
        if item is None:
            return None
        if isinstance(item, str):
            return losses_module.get(item)
        if isinstance(item, dict) and "class_name" in item:
            return losses_module.get(item)
        if callable(item):
            return item
        raise TypeError(
            f"{owner}: each entry of `loss` must be a loss name, a loss instance or "
            f"function, or None. Received: {item!r} ({type(item).__name__})."
        )

    if isinstance(loss, dict) and "class_name" in loss:
        resolved = resolve(loss)
    else:
        resolved = tree.map_structure(resolve, loss)
    if all(entry is None for entry in tree.flatten(resolved)):
        raise ValueError(
            f"{owner}: `loss` must hold at least one loss that is not None. Received: "
            f"loss={loss!r}."
        )
    return resolved


def _check_same_structure(a, b, a_name, b_name, owner):
    if tree.structure_signature(a) != tree.structure_signature(b):
        raise ValueError(
            f"{owner}: the {a_name} and the {b_name} must have the same structure. "
            f"Received: {_describe(a)} and {_describe(b)}."
        )


def _describe(structure):
    def leaf(x):
        shape = getattr(x, "shape", None)
        return f"tensor{tuple(shape)}" if shape is not None else type(x).__name__

    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in structure.items()) + "}"
    if isinstance(structure, (list, tuple)):
        return "[" + ", ".join(_describe(v) for v in structure) + "]"
    return leaf(structure)


def _structured_loss(loss, teacher, student, owner):
    """One loss over a pair of outputs, or a structure of losses over structured outputs
    (None entries skipped, the rest summed). A single loss given structured outputs is
    averaged over them (Keras stacks them, which gives the same value)."""
    if not tree.is_nested(loss):
        _check_same_structure(teacher, student, "teacher outputs", "student outputs", owner)
        pairs = list(zip(tree.flatten(teacher), tree.flatten(student)))
        total = None
        for t, s in pairs:
            value = ops.mean(loss(t, s))
            total = value if total is None else total + value
        return total if len(pairs) == 1 else total / len(pairs)
    for name, outputs in (("teacher outputs", teacher), ("student outputs", student)):
        _check_same_structure(loss, outputs, "`loss` structure", name, owner)
    total = None
    for fn, t, s in zip(tree.flatten(loss), tree.flatten(teacher), tree.flatten(student)):
        if fn is None:
            continue
        value = ops.mean(fn(t, s))
        total = value if total is None else total + value
    return total
