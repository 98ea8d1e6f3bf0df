"""Every public callable that takes arrays takes numpy arrays, Python lists and scalars too.

The sweep walks `lamina.activations`, `.regularizers`, `.constraints`, `.initializers`,
`.losses`, `.metrics`, `.optimizers` and `.layers`, and calls each name three ways: on torch
tensors (the reference), on numpy arrays, and on Python lists/scalars. Both non-tensor forms
must give the tensor answer, and Keras 3 (torch backend) must give the same answer on the
same input where it accepts that input (`KERAS_REJECTS` records where it does not; lamina
then still gives the tensor answer). A public name with no case here fails
`test_every_public_name_has_a_case`.

A case is `(id, run, compare, forms)`: `run(ns, wrap)` builds the object from namespace
`ns` (`lamina` or `keras`) and calls it with every array argument passed through `wrap`,
which turns the numpy leaves into the form under test (shapes into tuples of Python ints,
numpy ints or lists). `test_bad_input_names_the_callable_and_what_it_got` reuses the cases
with a string or a ragged list in place of every array.
"""

import re
import types

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")
from ops_oracle import np_sparsemax  # noqa: E402

pytestmark = [
    # Keras' own `Variable.numpy()` trips numpy 2's `__array__(copy=...)` deprecation.
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    # The IoU metrics warn (both libraries) about float weights on integer counts.
    pytest.mark.filterwarnings("ignore:You are passing weight as:UserWarning"),
]

RNG = np.random.default_rng(12)
N, C = 4, 3


def _f32(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape).astype("float32")


LABELS = np.array([0, 2, 1, 2], "int32")
ONE_HOT = np.eye(C, dtype="float32")[LABELS]
PROBS = RNG.dirichlet(np.ones(C), size=N).astype("float32")
PROBS_2 = RNG.dirichlet(np.ones(C), size=N).astype("float32")
BINARY = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]], "float32")
SCORES, SCORES_2 = _f32(N, C), _f32(N, C)
POSITIVE = _f32(N, C, low=0.1, high=2.0)
WEIGHTS = np.array([1.0, 0.5, 0.0, 2.0], "float32")
VALUES = _f32(N)
EMBEDDINGS = _f32(N, 4)
CTC_LABELS = np.array([[1, 2, 0], [2, 0, 0], [1, 1, 2], [2, 1, 0]], "int32")
CTC_LOGITS = _f32(N, 6, C + 1)
KERNEL, BIAS = _f32(3, 4), _f32(4)
GRADS = [[_f32(3, 4), _f32(4)] for _ in range(2)]


class Shape(tuple):
    """A shape argument: a tuple of ints as the reference, numpy ints or a list otherwise."""


def _tensor(a):
    return tuple(int(d) if d is not None else None for d in a) if isinstance(a, Shape) \
        else torch.from_numpy(a.copy())


def _numpy(a):
    return tuple(np.int64(d) if d is not None else None for d in a) if isinstance(a, Shape) \
        else a


def _python(a):
    return [d if d is None else int(d) for d in a] if isinstance(a, Shape) else a.tolist()


FORMS = {"tensor": _tensor, "numpy": _numpy, "python": _python}


def _wrapper(form):
    leaf = FORMS[form]

    def wrap(x):
        if isinstance(x, (np.ndarray, Shape)):
            return leaf(x)
        if isinstance(x, (list, tuple)):
            return type(x)(wrap(v) for v in x)
        if isinstance(x, dict):
            return {k: wrap(v) for k, v in x.items()}
        return x

    return wrap


# --- comparing -------------------------------------------------------------------------


def _is_leaf_list(x, top=True):
    """A (nested) list of Python numbers, or a shape (None only at the top): one value,
    not a structure of values."""
    return isinstance(x, (list, tuple, torch.Size)) and all(
        (v is None and top) or isinstance(v, (bool, int, float, np.number))
        or _is_leaf_list(v, top=False) for v in x)


def _flat(x):
    if isinstance(x, (list, tuple)) and not _is_leaf_list(x):
        return [v for item in x for v in _flat(item)]
    return [x]


def _values(x):
    x = getattr(x, "value", x)  # a Keras Variable
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _is_tensor(x):
    return isinstance(getattr(x, "value", x), torch.Tensor)


def _shape_dims(x):
    """The dims of shape-like `x` as ints (None kept), or None when `x` is not a shape."""
    if isinstance(x, (tuple, list, torch.Size)) and all(
            d is None or isinstance(d, (int, np.integer)) and not isinstance(d, bool)
            for d in x):
        return tuple(d if d is None else int(d) for d in x)
    return None


def assert_same_leaves(ours, expected, case_id, compare="values", tol=1e-6, strict=True):
    """Same structure; tensors where `expected` has tensors (when `strict`); equal shapes,
    dtypes and values (within `tol`; only shapes and dtypes when `compare` is "shape")."""
    ours_flat, expected_flat = _flat(ours), _flat(expected)
    assert len(ours_flat) == len(expected_flat), (
        f"{case_id}: {len(ours_flat)} outputs, expected {len(expected_flat)}")
    for a, b in zip(ours_flat, expected_flat):
        if b is None or a is None:
            assert a is b, f"{case_id}: {a!r} != {b!r}"
            continue
        if _shape_dims(b) is not None and not _is_tensor(b) and not _is_tensor(a):
            assert _shape_dims(a) == _shape_dims(b), f"{case_id}: shape {a} != {b}"
            continue
        if strict and _is_tensor(b):
            assert _is_tensor(a), f"{case_id}: got {type(a).__name__}, expected a tensor"
        a_values, b_values = _values(a), _values(b)
        assert a_values.shape == b_values.shape, (
            f"{case_id}: shape {a_values.shape} != {b_values.shape}")
        if _is_tensor(a) and _is_tensor(b):
            a_dtype, b_dtype = getattr(a, "value", a).dtype, getattr(b, "value", b).dtype
            assert a_dtype == b_dtype, f"{case_id}: dtype {a_dtype} != {b_dtype}"
        if compare == "values":
            np.testing.assert_allclose(a_values.astype("float64"), b_values.astype("float64"),
                                       rtol=tol, atol=tol, equal_nan=True, err_msg=case_id)


# --- the cases -------------------------------------------------------------------------

# (case id, run(ns, wrap), compare, forms): compare is "values", or "shape" for random
# results; forms are the non-tensor forms the case takes.
CASES = []


def case(case_id, compare="values", forms=("numpy", "python")):
    def register(run):
        CASES.append((case_id, run, compare, forms))
        return run

    return register


def _make(ns, factory):
    return factory(ns) if callable(factory) else factory


# activations: elementwise ones also take a Python scalar.
ACTIVATION_KWARGS = {"threshold": {"threshold": 0.1, "default_value": -1.0}}
NOT_ELEMENTWISE = {"softmax", "log_softmax", "sparsemax", "glu"}
X = _f32(2, 4)


def _activation_cases(name):
    kwargs = ACTIVATION_KWARGS.get(name, {})
    inputs = [("x", X)] + ([] if name in NOT_ELEMENTWISE else [("scalar", np.float32(0.7))])
    for label, x in inputs:
        x = np.asarray(x)
        case(f"activations.{name}:{label}")(
            lambda ns, wrap, x=x: getattr(ns.activations, name)(wrap(x), **kwargs))


# regularizers and constraints: called on a weight.
REGULARIZERS = {"L1": {"l1": 0.3}, "L2": {"l2": 0.2}, "L1L2": {"l1": 0.1, "l2": 0.2},
                "OrthogonalRegularizer": {"factor": 0.5}, "Regularizer": {}}
CONSTRAINTS = {"MaxNorm": {"max_value": 1.0}, "MinMaxNorm": {"min_value": 0.5, "rate": 0.7},
               "NonNeg": {}, "UnitNorm": {"axis": 1}, "Constraint": {}}
# Lowercase aliases share their class' case.
ALIASES = {"l1": "L1", "l2": "L2", "l1_l2": "L1L2", "orthogonal_regularizer":
           "OrthogonalRegularizer", "max_norm": "MaxNorm", "min_max_norm": "MinMaxNorm",
           "non_neg": "NonNeg", "unit_norm": "UnitNorm"}


def _weight_cases(module, name, kwargs):
    weights = [("weight", KERNEL)]
    if name in ("L1", "L2", "L1L2", "l1", "l2", "l1_l2", "NonNeg", "non_neg"):
        weights.append(("scalar", np.asarray(np.float32(-0.7))))
    for label, w in weights:
        case(f"{module}.{name}:{label}")(
            lambda ns, wrap, w=w: getattr(getattr(ns, module), name)(**kwargs)(wrap(w)))


# initializers: shapes as lists or numpy ints; Constant's value as an array or a number.
INITIALIZERS = {
    "Constant": {"value": np.asarray(np.float32(0.5))}, "Identity": {}, "Zeros": {},
    "Ones": {}, "STFT": {}, "Orthogonal": {"seed": 3}, "GlorotNormal": {"seed": 3},
    "GlorotUniform": {"seed": 3}, "HeNormal": {"seed": 3}, "HeUniform": {"seed": 3},
    "LecunNormal": {"seed": 3}, "LecunUniform": {"seed": 3}, "RandomNormal": {"seed": 3},
    "RandomUniform": {"seed": 3}, "TruncatedNormal": {"seed": 3},
    "VarianceScaling": {"seed": 3, "scale": 2.0},
}
INITIALIZER_ALIASES = {
    "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal",
    "STFTInitializer": "STFT", "stft": "STFT",
    **{n: c for c in INITIALIZERS for n in [
        "".join("_" + ch.lower() if ch.isupper() else ch for ch in c).lstrip("_")]},
}
DETERMINISTIC_INITIALIZERS = {"Constant", "Identity", "Zeros", "Ones", "STFT"}


def _initializer_cases(name):
    cls_name = INITIALIZER_ALIASES.get(name, name)
    kwargs = INITIALIZERS[cls_name]
    compare = "values" if cls_name in DETERMINISTIC_INITIALIZERS else "shape"
    shape = Shape((4, 1, 3)) if cls_name == "STFT" else Shape((3, 4))  # (frames, 1, bins)
    case(f"initializers.{name}:shape", compare)(
        lambda ns, wrap: getattr(ns.initializers, name)(**wrap(kwargs))(wrap(shape)))
    if cls_name == "Constant":
        for label, value in [("array_value", np.full((4,), 0.25, "float32")),
                             ("int_value", np.asarray(np.int32(2)))]:
            case(f"initializers.{name}:{label}")(
                lambda ns, wrap, v=value: getattr(ns.initializers, name)(wrap(v))((3, 4)))


# losses: classes (with sample_weight) and functions, on (y_true, y_pred).
LOSSES = {
    "BinaryCrossentropy": ({}, BINARY, PROBS),
    "BinaryFocalCrossentropy": ({}, BINARY, PROBS),
    "CTC": ({}, CTC_LABELS, CTC_LOGITS),
    "CategoricalCrossentropy": ({}, ONE_HOT, PROBS),
    "CategoricalFocalCrossentropy": ({}, ONE_HOT, PROBS),
    "CategoricalGeneralizedCrossEntropy": ({"q": 0.5}, LABELS, PROBS),
    "CategoricalHinge": ({}, ONE_HOT, SCORES),
    "Circle": ({}, LABELS, EMBEDDINGS),
    "CosineSimilarity": ({}, SCORES_2, SCORES),
    "Dice": ({}, BINARY, PROBS),
    "Hinge": ({}, BINARY, SCORES),
    "Huber": ({"delta": 0.5}, SCORES_2, SCORES),
    "KLDivergence": ({}, PROBS_2, PROBS),
    "LogCosh": ({}, SCORES_2, SCORES),
    "MeanAbsoluteError": ({}, SCORES_2, SCORES),
    "MeanAbsolutePercentageError": ({}, SCORES_2, SCORES),
    "MeanSquaredError": ({}, SCORES_2, SCORES),
    "MeanSquaredLogarithmicError": ({}, POSITIVE, PROBS),
    "Poisson": ({}, POSITIVE, PROBS),
    "SparseCategoricalCrossentropy": ({}, LABELS, PROBS),
    "SquaredHinge": ({}, BINARY, SCORES),
    "Tversky": ({}, BINARY, PROBS),
    "LossFunctionWrapper": (lambda ns: {"fn": ns.losses.mean_squared_error}, SCORES_2, SCORES),
}
ONE_VALUE_PER_BATCH = {"Dice", "Tversky"}  # per-sample weights do not apply
LOSS_FUNCTION_CLASSES = {
    "huber": "Huber", "kl_divergence": "KLDivergence", "ctc": "CTC",
    "categorical_generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy",
}


def _snake(name):
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def _class_for_function(name, table):
    by_snake = {_snake(c): c for c in table}
    return LOSS_FUNCTION_CLASSES.get(name) or by_snake.get(name) or by_snake.get(
        name.replace("_", ""))


def _loss_cases(name):
    if name in LOSSES:
        kwargs, y_true, y_pred = LOSSES[name]
        weight = None if name in ONE_VALUE_PER_BATCH else WEIGHTS
        case(f"losses.{name}:__call__")(
            lambda ns, wrap: getattr(ns.losses, name)(**_make(ns, kwargs))(
                wrap(y_true), wrap(y_pred), sample_weight=wrap(weight)))
        return
    if name == "reduce_weighted_values":
        case(f"losses.{name}")(
            lambda ns, wrap: ns.losses.reduce_weighted_values(
                wrap(VALUES), sample_weight=wrap(WEIGHTS), dtype="float32"))
        return
    kwargs, y_true, y_pred = LOSSES[_class_for_function(name, LOSSES)]
    case(f"losses.{name}")(
        lambda ns, wrap: getattr(ns.losses, name)(wrap(y_true), wrap(y_pred), **kwargs))


# metrics: classes through update_state + result and __call__; functions directly.
REGRESSION = (SCORES_2, SCORES)
METRICS = {
    "AUC": ({}, BINARY, PROBS), "Accuracy": ({}, LABELS, np.array([0, 1, 1, 2], "int32")),
    "BinaryAccuracy": ({}, BINARY, PROBS), "BinaryCrossentropy": ({}, BINARY, PROBS),
    "BinaryIoU": ({}, BINARY[:, 0], PROBS[:, 0]), "CategoricalAccuracy": ({}, ONE_HOT, PROBS),
    "CategoricalCrossentropy": ({}, ONE_HOT, PROBS), "CategoricalHinge": ({}, ONE_HOT, SCORES),
    "ConcordanceCorrelation": ({}, *REGRESSION), "CosineSimilarity": ({}, *REGRESSION),
    "F1Score": ({"threshold": 0.4}, ONE_HOT, PROBS),
    "FBetaScore": ({"beta": 2.0, "threshold": 0.4}, ONE_HOT, PROBS),
    "FalseNegatives": ({}, BINARY, PROBS), "FalsePositives": ({}, BINARY, PROBS),
    "TrueNegatives": ({}, BINARY, PROBS), "TruePositives": ({}, BINARY, PROBS),
    "Hinge": ({}, BINARY, SCORES), "SquaredHinge": ({}, BINARY, SCORES),
    "IoU": ({"num_classes": C, "target_class_ids": [0, 2]}, LABELS,
            np.array([0, 1, 1, 2], "int32")),
    "MeanIoU": ({"num_classes": C}, LABELS, np.array([0, 1, 1, 2], "int32")),
    "OneHotIoU": ({"num_classes": C, "target_class_ids": [1, 2]}, ONE_HOT, PROBS),
    "OneHotMeanIoU": ({"num_classes": C}, ONE_HOT, PROBS),
    "KLDivergence": ({}, PROBS_2, PROBS), "LogCoshError": ({}, *REGRESSION),
    "MeanAbsoluteError": ({}, *REGRESSION), "MeanAbsolutePercentageError": ({}, *REGRESSION),
    "MeanSquaredError": ({}, *REGRESSION), "RootMeanSquaredError": ({}, *REGRESSION),
    "MeanSquaredLogarithmicError": ({}, POSITIVE, PROBS), "Poisson": ({}, POSITIVE, PROBS),
    "PearsonCorrelation": ({}, *REGRESSION), "R2Score": ({}, *REGRESSION),
    "Precision": ({}, BINARY, PROBS), "Recall": ({}, BINARY, PROBS),
    "PrecisionAtRecall": ({"recall": 0.5}, BINARY, PROBS),
    "RecallAtPrecision": ({"precision": 0.5}, BINARY, PROBS),
    "SensitivityAtSpecificity": ({"specificity": 0.5}, BINARY, PROBS),
    "SpecificityAtSensitivity": ({"sensitivity": 0.5}, BINARY, PROBS),
    "SparseCategoricalAccuracy": ({}, LABELS, PROBS),
    "SparseCategoricalCrossentropy": ({}, LABELS, PROBS),
    "SparseTopKCategoricalAccuracy": ({"k": 2}, LABELS, PROBS),
    "TopKCategoricalAccuracy": ({"k": 2}, ONE_HOT, PROBS),
    "MeanMetricWrapper": (lambda ns: {"fn": ns.metrics.mean_absolute_error}, *REGRESSION),
    "Mean": ({}, VALUES, None), "Sum": ({}, VALUES, None),
}
METRIC_FUNCTION_KWARGS = {"sparse_top_k_categorical_accuracy": {"k": 2},
                          "top_k_categorical_accuracy": {"k": 2}}
METRIC_FUNCTION_INPUTS = {
    "binary_focal_crossentropy": (BINARY, PROBS), "categorical_focal_crossentropy":
    (ONE_HOT, PROBS), "huber": REGRESSION, "log_cosh": REGRESSION,
    "concordance_correlation": REGRESSION, "pearson_correlation": REGRESSION,
}


def _snapshot(x):
    return getattr(x, "value", x).detach().clone()


def _metric_cases(name):
    if name in METRICS:
        kwargs, y_true, y_pred = METRICS[name]
        data = (y_true,) if y_pred is None else (y_true, y_pred)

        def run(ns, wrap):
            metric = getattr(ns.metrics, name)(**_make(ns, kwargs))
            metric.update_state(*wrap(data), sample_weight=wrap(WEIGHTS))
            first = _snapshot(metric.result())  # Keras' result may be the state itself
            return [first, metric(*wrap(data), sample_weight=wrap(WEIGHTS))]

        case(f"metrics.{name}:update_state")(run)
        return
    if name in METRIC_FUNCTION_INPUTS:
        y_true, y_pred = METRIC_FUNCTION_INPUTS[name]
    else:
        y_true, y_pred = METRICS[_class_for_function(name, METRICS)
                                 or _class_for_function(name, LOSSES)][1:]
    kwargs = METRIC_FUNCTION_KWARGS.get(name, {})
    case(f"metrics.{name}")(
        lambda ns, wrap: getattr(ns.metrics, name)(wrap(y_true), wrap(y_pred), **kwargs))


# optimizers: `apply_gradients` with array gradients, `apply` with them as a list.
OPTIMIZERS = {"LossScaleOptimizer": lambda ns: ns.optimizers.LossScaleOptimizer(
    ns.optimizers.SGD(0.1), initial_scale=4.0),
    "MultiOptimizer": lambda ns: ns.optimizers.MultiOptimizer(ns.optimizers.OptimizerMap(
        ns.optimizers.SGD(0.1), {".*": ns.optimizers.Adam(0.1)}))}


def _optimizer_cases(name):
    def build(ns):
        variables = [ns.Variable(KERNEL.copy()), ns.Variable(BIAS.copy())]
        factory = OPTIMIZERS.get(name, lambda ns: getattr(ns.optimizers, name)(0.1))
        return factory(ns), variables

    def apply_gradients(ns, wrap):
        optimizer, variables = build(ns)
        for grads in GRADS:
            optimizer.apply_gradients(zip(wrap(grads), variables))
        return [v.value for v in variables]

    def apply(ns, wrap):
        optimizer, variables = build(ns)
        for grads in GRADS:
            optimizer.apply(wrap(grads), variables)
        return [v.value for v in variables]

    case(f"optimizers.{name}:apply_gradients")(apply_gradients)
    case(f"optimizers.{name}:apply")(apply)


# layers: __call__, compute_mask and compute_output_shape. An entry is
# `(factory(ns) or kwargs, input shapes, call style)`; the style says how the inputs are
# passed: "one" (a single array), "list" (one list of arrays), "args" (positionally).
# Layers missing here are built with no arguments on an input shaped by their name.
def _cell(cls_name, units=4, states=1):
    return (lambda ns: getattr(ns.layers, cls_name)(units),
            [(2, 3), [(2, units)] * states], "args")


def _rnn(inner):
    return lambda ns: ns.layers.RNN(inner(ns))


LAYERS = {
    "Activation": (lambda ns: ns.layers.Activation("tanh"), None, "one"),
    "AdditiveAttention": ({}, [(2, 5, 3), (2, 4, 3)], "list"),
    "Attention": ({}, [(2, 5, 3), (2, 4, 3)], "list"),
    "AlphaDropout": ({"rate": 0.5}, None, "one"),
    "Dropout": ({"rate": 0.5}, None, "one"),
    "GaussianDropout": ({"rate": 0.5}, None, "one"),
    "GaussianNoise": ({"stddev": 0.5}, None, "one"),
    "SpatialDropout1D": ({"rate": 0.5}, None, "one"),
    "SpatialDropout2D": ({"rate": 0.5}, None, "one"),
    "SpatialDropout3D": ({"rate": 0.5}, None, "one"),
    "Bidirectional": (lambda ns: ns.layers.Bidirectional(
        ns.layers.LSTM(3, return_sequences=True)), None, "one"),
    "ConvLSTM1D": ({"filters": 2, "kernel_size": 2}, (2, 3, 6, 2), "one"),
    "ConvLSTM2D": ({"filters": 2, "kernel_size": 2}, (2, 3, 5, 5, 2), "one"),
    "ConvLSTM3D": ({"filters": 2, "kernel_size": 2}, (2, 2, 3, 3, 3, 2), "one"),
    "Dense": ({"units": 4}, (2, 3), "one"),
    "Dot": ({"axes": 1}, [(2, 3), (2, 3)], "list"),
    "EinsumDense": ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"},
                    (2, 3), "one"),
    "Embedding": ({"input_dim": 10, "output_dim": 4, "mask_zero": True}, "tokens", "one"),
    "ReversibleEmbedding": ({"input_dim": 10, "output_dim": 4, "mask_zero": True}, "tokens",
                            "one"),
    "GRU": ({"units": 3, "return_sequences": True}, None, "one"),
    "LSTM": ({"units": 3, "return_sequences": True}, None, "one"),
    "SimpleRNN": ({"units": 3, "return_sequences": True}, None, "one"),
    "GRUCell": _cell("GRUCell"), "SimpleRNNCell": _cell("SimpleRNNCell"),
    "LSTMCell": _cell("LSTMCell", states=2),
    "RNN": (_rnn(lambda ns: ns.layers.SimpleRNNCell(3)), None, "one"),
    "StackedRNNCells": (_rnn(lambda ns: ns.layers.StackedRNNCells(
        [ns.layers.SimpleRNNCell(3), ns.layers.GRUCell(2)])), None, "one"),
    "GroupNormalization": ({"groups": 3}, None, "one"),
    "GroupQueryAttention": ({"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
                            [(2, 5, 3), (2, 4, 3)], "args"),
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 2}, [(2, 5, 3), (2, 4, 3)], "args"),
    "Lambda": (lambda ns: ns.layers.Lambda(lambda x: x * 2.0), None, "one"),
    "Masking": ({}, "masked", "one"),
    "Permute": ({"dims": (2, 1)}, None, "one"),
    "RepeatVector": ({"n": 3}, (2, 3), "one"),
    "Reshape": ({"target_shape": (3, 5)}, None, "one"),
    "Rescaling": ({"scale": 0.5, "offset": 1.0}, (2, 6, 6, 3), "one"),
    "Resizing": ({"height": 4, "width": 4}, (2, 6, 6, 3), "one"),
    "RandomRotation": ({"factor": 0.0}, (2, 6, 6, 3), "one"),
    "Normalization": ({"mean": [0.5, -1.0, 2.0], "variance": [2.0, 1.0, 0.5]}, None, "one"),
    "Discretization": ({"bin_boundaries": [-1.0, 0.0, 1.0], "output_mode": "count"}, None,
                       "one"),
    "CategoryEncoding": ({"num_tokens": 10, "output_mode": "count"}, "tokens", "one"),
    "IntegerLookup": ({"vocabulary": [0, 3, 7, 9], "output_mode": "count"}, "tokens", "one"),
    "Hashing": ({"num_bins": 5, "output_mode": "count"}, "tokens", "one"),
    "CenterCrop": ({"height": 4, "width": 4}, (2, 6, 6, 3), "one"),
    "RandomCrop": ({"height": 4, "width": 4, "seed": 1}, (2, 6, 6, 3), "one"),
    "RandomZoom": ({"height_factor": 0.0}, (2, 6, 6, 3), "one"),
    "RandomTranslation": ({"height_factor": 0.0, "width_factor": 0.0}, (2, 6, 6, 3), "one"),
    "RandomShear": ({}, (2, 6, 6, 3), "one"),
    "RandomPerspective": ({"scale": 0.0}, (2, 6, 6, 3), "one"),
    "RandomContrast": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomBrightness": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomGrayscale": ({}, (2, 6, 6, 3), "one"),
    "RandomHue": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomSaturation": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomColorDegeneration": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomSharpness": ({"factor": 0.2}, (2, 6, 6, 3), "one"),
    "RandomPosterization": ({"factor": 4}, (2, 6, 6, 3), "one"),
    "RandomInvert": ({}, (2, 6, 6, 3), "one"),
    "Solarization": ({}, (2, 6, 6, 3), "one"),
    "AutoContrast": ({}, (2, 6, 6, 3), "one"),
    "Equalization": ({}, (2, 6, 6, 3), "one"),
    "ContrastLimitedAdaptiveHistogramEqualization": ({"tile_grid_size": (2, 2)},
                                                     (2, 6, 6, 3), "one"),
    "RandomColorJitter": ({"brightness_factor": 0.2, "hue_factor": 0.1}, (2, 6, 6, 3), "one"),
    "RandomErasing": ({}, (2, 6, 6, 3), "one"),
    "RandomGaussianBlur": ({}, (2, 6, 6, 3), "one"),
    "MixUp": ({}, (2, 6, 6, 3), "one"),
    "CutMix": ({}, (2, 6, 6, 3), "one"),
    "Pipeline": (lambda ns: ns.layers.Pipeline([ns.layers.RandomFlip(seed=1)]), (2, 6, 6, 3),
                 "one"),
    "RandAugment": ({"seed": 1}, (2, 6, 6, 3), "one"),
    "AugMix": ({"seed": 1}, (2, 6, 6, 3), "one"),
    "MaxNumBoundingBoxes": ({"max_number": 3}, (2, 6, 6, 3), "one"),
    "RandomElasticTransform": ({"seed": 1}, (2, 6, 6, 3), "one"),
    "SpectralNormalization": (lambda ns: ns.layers.SpectralNormalization(ns.layers.Dense(3)),
                              (2, 3), "one"),
    "TimeDistributed": (lambda ns: ns.layers.TimeDistributed(ns.layers.Dense(2)), None, "one"),
    "TorchModuleWrapper": (lambda ns: ns.layers.TorchModuleWrapper(
        torch.nn.Linear(3, 2, dtype=torch.float32)), None, "one"),
    "Identity": ({}, None, "one"),
    "STFTSpectrogram": ({"frame_length": 8, "window": None}, (2, 32, 2), "one"),
    "MelSpectrogram": ({"fft_length": 16, "sequence_stride": 8, "num_mel_bins": 4}, (2, 64),
                       "one"),
}
LAYERS["GroupedQueryAttention"] = LAYERS["GroupQueryAttention"]
for _name in ("Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract"):
    LAYERS[_name] = ({}, [(2, 5, 3), (2, 5, 3)], "list")
for _rank in ("1D", "2D", "3D"):
    for _base, _kwargs in [("Conv", {"filters": 4, "kernel_size": 2}),
                           ("Convolution", {"filters": 4, "kernel_size": 2}),
                           ("SeparableConv", {"filters": 4, "kernel_size": 2}),
                           ("SeparableConvolution", {"filters": 4, "kernel_size": 2}),
                           ("DepthwiseConv", {"kernel_size": 2}),
                           ("AveragePooling", {"pool_size": 2}), ("AvgPool", {"pool_size": 2}),
                           ("AdaptiveAveragePooling", {"output_size": 2}),
                           ("AdaptiveMaxPooling", {"output_size": 2})]:
        LAYERS[_base + _rank] = (_kwargs, None, "one")
        if _base.startswith("Conv"):
            LAYERS[_base + _rank + "Transpose"] = (_kwargs, None, "one")
# Merging functions take the list of inputs (and the layer's arguments).
MERGE_FUNCTIONS = {"add": {}, "average": {}, "concatenate": {}, "maximum": {}, "minimum": {},
                   "multiply": {}, "subtract": {}, "dot": {"axes": 1}}
# Recurrent layers read a list `mask` as one mask per input (sequence, initial states), as
# Keras does, so their `compute_mask` takes a mask as an array or tensor only.
MASK_LISTS = {"GRU", "LSTM", "SimpleRNN", "RNN", "StackedRNNCells", "Bidirectional",
              "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}
# Layers whose plain call is random (their `call` defaults to training=True, as in Keras).
RANDOM_WHEN_CALLED = {"RandomFlip", "RandomRotation", "RandomCrop", "RandomZoom",
                      "RandomTranslation", "RandomShear", "RandomPerspective",
                      "RandomContrast", "RandomBrightness", "RandomGrayscale", "RandomHue",
                      "RandomSaturation", "RandomColorDegeneration", "RandomSharpness",
                      "RandomPosterization", "RandomInvert", "RandomColorJitter",
                      "RandomErasing", "RandomGaussianBlur", "MixUp", "CutMix", "Pipeline",
                      "RandAugment", "AugMix", "RandomElasticTransform"}
# Public layer names that are not called on data, or abstract bases, with why.
NOT_CALLED_ON_DATA = {
    "Input": "a function returning a KerasTensor",
    "InputLayer": "holds a KerasTensor; never called on data",
    "InputSpec": "a spec, not a layer",
    "Layer": "abstract base: compute_mask only (below)",
    "Merge": "abstract base of the merging layers",
    "StringLookup": "takes strings, which live on the host, not in tensors "
                    "(tests/layers/preprocessing/test_lookup_layers.py)",
    "HashedCrossing": "crosses features of shape (batch,) or (batch, 1), unlike the sweep's "
                      "inputs (tests/layers/preprocessing/test_hashing_layers.py)",
    "TextVectorization": "takes strings, which live on the host, not in tensors "
                         "(tests/layers/preprocessing/test_text_vectorization.py)",
    "Wrapper": "abstract base of the layers that wrap a layer",
    **{n: "JAX/TensorFlow only: raises on construction (tests/layers/core/"
          "test_wrapper_and_backend_only.py)" for n in ("JaxLayer", "FlaxLayer", "TFSMLayer")},
}


def _default_input_shape(name):
    for suffix, shape in [("1D", (2, 8, 3)), ("2D", (2, 6, 6, 3)), ("3D", (2, 4, 4, 4, 2))]:
        if name.removesuffix("Transpose").endswith(suffix):
            return shape
    return (2, 5, 3)


def _layer_inputs(name, shapes):
    if shapes is None:
        shapes = _default_input_shape(name)
    if shapes == "tokens":
        return np.array([[3, 1, 0, 0, 7], [2, 9, 4, 0, 0]], "int32")
    if shapes == "masked":
        x = _f32(2, 5, 3)
        x[0, 3:] = 0.0
        x[1, 1] = 0.0
        return x
    if isinstance(shapes, list):
        return [_layer_inputs(name, s) for s in shapes]
    return _f32(*shapes)


def _shape_of(x):
    if isinstance(x, list):
        return [_shape_of(v) for v in x]
    return Shape((None, *x.shape[1:]))


def _mask_for(x):
    if isinstance(x, list):
        return [_mask_for(v) for v in x]
    mask = np.ones(x.shape[:2], bool)
    mask[0, -2:] = False
    return mask


def _pass(style, layer_method, args):
    if style == "args":
        return layer_method(*args)
    return layer_method(args)


_BUILT = {}  # (case id, namespace) -> a layer built on the tensor inputs


def _layer(ns, case_id, factory, name, x, style):
    """One layer per case and namespace, built on the tensor form; Keras' copy gets
    lamina's weights so values compare."""
    key = (case_id, ns.__name__)
    if key not in _BUILT:
        layer = getattr(ns.layers, name)(**factory) if isinstance(factory, dict) \
            else factory(ns)
        _pass(style, layer, _wrapper("tensor")(x))
        if ns is keras:
            ours = _BUILT[(case_id, "lamina")]
            layer.set_weights([w for w in ours.get_weights()])
        _BUILT[key] = layer
    return _BUILT[key]


def _layer_cases(name):
    if name in NOT_CALLED_ON_DATA:
        return
    if name in LAYERS:
        factory, shapes, style = LAYERS[name]
    else:
        factory, shapes, style = {}, None, "one"
    x = _layer_inputs(name, shapes)
    call_id, cid = f"layers.{name}:__call__", f"layers.{name}"

    def get(ns):
        if ns is keras:
            _layer(lamina, cid, factory, name, x, style)
        return _layer(ns, cid, factory, name, x, style)

    # NOTE: a Python list passed to a layer is a list of inputs (Keras reads it so too).
    # Augmentations default to training=True: each call draws anew, so only shapes compare.
    compare = "shape" if name in RANDOM_WHEN_CALLED else "values"
    case(call_id, compare=compare, forms=("numpy",))(
        lambda ns, wrap: _pass(style, get(ns), wrap(x)))
    if style != "args" or name.endswith("Attention"):
        shapes = _shape_of(x)
        case(f"layers.{name}:compute_output_shape")(
            lambda ns, wrap: _pass(style, get(ns).compute_output_shape, wrap(shapes)))
    if style != "args":
        mask = _mask_for(x)
        forms = ("numpy",) if name in MASK_LISTS else ("numpy", "python")
        case(f"layers.{name}:compute_mask", forms=forms)(
            lambda ns, wrap: get(ns).compute_mask(wrap(x), wrap(mask)))


def _merge_function_cases(name):
    kwargs = MERGE_FUNCTIONS[name]
    x = [_f32(2, 3), _f32(2, 3)]
    case(f"layers.{name}", forms=("numpy",))(  # they call a layer: lists are structure
        lambda ns, wrap: getattr(ns.layers, name)(wrap(x), **kwargs))


case("layers.Layer:compute_mask")(
    lambda ns, wrap: ns.layers.Layer().compute_mask(wrap(X), wrap(X > 0)))


# --- enumerating the public API --------------------------------------------------------

# Public names that take no arrays (lookup and (de)serialization, catalogues), and
# abstract bases with nothing to call.
NOT_ARRAY_CALLABLES = {"get", "serialize", "deserialize", "ALL_OBJECTS", "ALL_OBJECTS_DICT",
                       "ALL_FUNCTIONS", "OptimizerMap"}
ABSTRACT = {"losses.Loss", "metrics.Metric", "optimizers.Optimizer",
            "initializers.Initializer"}
NAMESPACES = ("activations", "regularizers", "constraints", "initializers", "losses",
              "metrics", "optimizers", "layers")


def public_names(module):
    return sorted(
        n for n in dir(module)
        if not n.startswith("_") and n not in NOT_ARRAY_CALLABLES
        and not isinstance(getattr(module, n), types.ModuleType)
    )


def _cases_for(namespace, name):
    if f"{namespace}.{name}" in ABSTRACT:
        return
    if namespace == "activations":
        _activation_cases(name)
    elif namespace in ("regularizers", "constraints"):
        table = REGULARIZERS if namespace == "regularizers" else CONSTRAINTS
        _weight_cases(namespace, name, table[ALIASES.get(name, name)])
    elif namespace == "initializers":
        _initializer_cases(name)
    elif namespace == "losses":
        _loss_cases(name)
    elif namespace == "metrics":
        _metric_cases(name)
    elif namespace == "optimizers":
        _optimizer_cases(name)
    elif name in MERGE_FUNCTIONS:
        _merge_function_cases(name)
    else:
        _layer_cases(name)


UNCOVERED = []
for _namespace in NAMESPACES:
    for _name in public_names(getattr(lamina, _namespace)):
        try:
            _cases_for(_namespace, _name)
        except (KeyError, TypeError):  # no table entry: `test_every_public_name...` fails
            UNCOVERED.append(f"{_namespace}.{_name}")


def test_every_public_name_has_a_case():
    covered = {c[0].split(":")[0] for c in CASES} | ABSTRACT
    covered |= {f"layers.{n}" for n in NOT_CALLED_ON_DATA}
    names = {f"{ns}.{n}" for ns in NAMESPACES for n in public_names(getattr(lamina, ns))}
    assert UNCOVERED == []
    assert sorted(names - covered) == []


# --- running them ----------------------------------------------------------------------

# Where Keras 3 (torch backend) raises on the non-tensor form; lamina accepts it and gives
# the tensor answer. The test fails when Keras starts accepting one (update the table).
_BOTH, _PYTHON, _NUMPY = ("numpy", "python"), ("python",), ("numpy",)
_FOREACH_OPTIMIZERS = ("Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Lion", "Nadam",
                       "RMSprop", "SGD",
                       "MultiOptimizer")  # Keras hands the gradients to torch._foreach_*
_KERAS_REJECTS = {
    # Keras reads `.shape`/`.dtype` off the input before converting it.
    "activations.softmax:x": _PYTHON,
    **{f"regularizers.{n}:{w}": _PYTHON for n in ("L1", "L2", "L1L2", "l1", "l2", "l1_l2")
       for w in ("weight", "scalar")},
    "regularizers.OrthogonalRegularizer:weight": _PYTHON,
    "regularizers.orthogonal_regularizer:weight": _PYTHON,
    "losses.CTC:__call__": _PYTHON, "losses.ctc": _PYTHON,
    "losses.Circle:__call__": _PYTHON,
    "losses.CategoricalGeneralizedCrossEntropy:__call__": _PYTHON,
    "losses.categorical_generalized_cross_entropy": _BOTH,
    "losses.SparseCategoricalCrossentropy:__call__": _PYTHON,
    "losses.sparse_categorical_crossentropy": _PYTHON,
    "metrics.SparseCategoricalCrossentropy:update_state": _PYTHON,
    "metrics.sparse_categorical_crossentropy": _PYTHON,
    "layers.Concatenate:compute_mask": _PYTHON,
    # Keras concatenates the shape with a tuple, or cannot infer it from numpy ints.
    **{f"layers.ConvLSTM{r}D:compute_output_shape": _PYTHON for r in (1, 2, 3)},
    "layers.Lambda:compute_output_shape": _NUMPY,
    **{f"optimizers.{n}:{m}": _BOTH for n in _FOREACH_OPTIMIZERS
       for m in ("apply", "apply_gradients")},
}
KERAS_REJECTS = {f"{c}[{form}]" for c, forms in _KERAS_REJECTS.items() for form in forms}
# Cases Keras fails even on tensors (not an array question): lamina is checked alone.
# (Keras' wrapper and Pipeline have none; lamina's Pipeline asks its layers.)
KERAS_CANNOT = {"layers.TorchModuleWrapper:compute_output_shape",
                "layers.Pipeline:compute_output_shape"}
# (Keras 3 builds the lookups and Hashing on TensorFlow, which the dev extra installs.)
# Public names Keras does not have (lamina extras and aliases).
LAMINA_ONLY = {"losses.LossFunctionWrapper", "losses.reduce_weighted_values",
               "layers.GroupedQueryAttention"}
# Where Keras' torch backend departs from the math, a numpy reference stands in for it.
NUMPY_REFERENCES = {"activations.sparsemax:x": lambda: np_sparsemax(X)}

PARAMS = [pytest.param(c, form, id=f"{c[0]}[{form}]") for c in CASES for form in c[3]]


def _keras_passes_through(reference, theirs):
    """Keras hands back (part of) the input as given where lamina's tensor form gives a
    tensor (e.g. `Layer.compute_mask` returns `previous_mask`): lamina may do the same."""
    ref_flat, theirs_flat = _flat(reference), _flat(theirs)
    return len(ref_flat) == len(theirs_flat) and any(
        _is_tensor(r) and not _is_tensor(t) for r, t in zip(ref_flat, theirs_flat))


@pytest.mark.parametrize("case, form", PARAMS)
def test_public_callable_accepts_arrays(case, form):
    case_id, run, compare, _ = case
    tag = f"{case_id}[{form}]"
    keras.backend.clear_session(free_memory=False)
    reference = run(lamina, _wrapper("tensor"))
    ours = run(lamina, _wrapper(form))
    name = case_id.split(":")[0]
    if name in LAMINA_ONLY:
        assert_same_leaves(ours, reference, tag)
        return
    if case_id in KERAS_CANNOT:
        # (a mask handed back as given, as Keras' base `compute_mask` does, may stay an array)
        assert_same_leaves(ours, reference, tag, strict=not _keras_passes_through(reference, ours))
        with pytest.raises(Exception):  # noqa: B017, PT011 - Keras' own failure
            run(keras, _wrapper("tensor"))
        return
    try:
        theirs = run(keras, _wrapper(form))
    except Exception as error:  # noqa: BLE001 - which error Keras raises is not ours
        assert tag in KERAS_REJECTS, (
            f"Keras rejects {tag} ({type(error).__name__}: {error}): add it to KERAS_REJECTS")
        assert_same_leaves(ours, reference, tag)
        return
    assert tag not in KERAS_REJECTS, f"Keras accepts {tag} now: take it out of KERAS_REJECTS"
    assert_same_leaves(ours, reference, tag, compare,
                       strict=not _keras_passes_through(reference, theirs))
    numpy_reference = NUMPY_REFERENCES.get(case_id)
    if numpy_reference is not None:
        theirs = numpy_reference()
    assert_same_leaves(ours, theirs, f"{tag} vs keras", compare, tol=1e-5,
                       strict=numpy_reference is None)


# --- bad input -------------------------------------------------------------------------

BAD_INPUTS = {"str": ("abc", TypeError, "'abc', a str"),
              "ragged": ([[1.0, 2.0], [3.0]], ValueError, "a ragged nested list")}
# Layers that compute a mask from their inputs or masks (the others hand `mask` back).
MASK_COMPUTING = {"Masking", "Embedding", "Attention", "AdditiveAttention", "Add", "Average",
                  "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract"}
ARRAY_METHODS = {"regularizers": "__call__", "constraints": "__call__", "losses": "__call__",
                 "metrics": "update_state"}


def _bad_input_cases():
    """Every case that passes arrays to a public callable, with the name its error must
    show: `Class.method` for objects, the function's name for functions."""
    cases = []
    for case_id, run, _, _ in CASES:
        family, rest = case_id.split(".", 1)
        name, _, method = rest.partition(":")
        public = getattr(getattr(lamina, family), name)
        if family == "initializers" or (family == "layers" and (
                method != "compute_mask" or name not in MASK_COMPUTING)):
            continue  # shapes, or a layer call (structure): not arrays
        if isinstance(public, type):
            method = method if family in ("optimizers", "layers") else ARRAY_METHODS[family]
            where = f"{public.__name__}.{method}"
        else:
            where = public.__name__
        cases.append(pytest.param(run, where, id=case_id))
    return cases


@pytest.mark.parametrize("bad", list(BAD_INPUTS))
@pytest.mark.parametrize("run, where", _bad_input_cases())
def test_bad_input_names_the_callable_and_what_it_got(run, where, bad):
    value, error, received = BAD_INPUTS[bad]

    def wrap(x):
        if isinstance(x, np.ndarray):
            return value
        if isinstance(x, (list, tuple)):
            return type(x)(wrap(v) for v in x)
        return x

    with pytest.raises(error, match=rf"^{re.escape(where)}: .* Received: .*{received}"):
        run(lamina, wrap)
