"""lamina.metrics against keras.metrics (torch backend) on the same inputs."""

import numpy as np
import pytest
import torch

from lamina import metrics

RNG = np.random.default_rng(20)
N, C = 24, 6
LABELS = RNG.integers(0, C, size=(N,))
ONE_HOT = np.eye(C, dtype="float32")[LABELS]
PROBS = RNG.dirichlet(np.ones(C), size=N).astype("float32")
PROBS[:4] = np.round(PROBS[:4], 1)  # create ties for argmax / top-k
LOGITS = RNG.normal(scale=10.0, size=(N, C)).astype("float32")
LOGITS[0], LOGITS[1] = 50.0, -50.0
BINARY = (RNG.uniform(size=(N, C)) > 0.5).astype("float32")
REGRESS = RNG.normal(size=(N, C)).astype("float32")
ZEROS = np.zeros((N, C), "float32")
WEIGHTS = {
    "none": None,
    "per_sample": RNG.uniform(0, 2, size=(N,)).astype("float32"),
    "column": RNG.uniform(0, 2, size=(N, 1)).astype("float32"),
    "scalar": 0.5,
    "all_zero": np.zeros((N,), "float32"),
}

CASES = [
    ("Accuracy", {}, LABELS, PROBS.argmax(-1)),
    ("BinaryAccuracy", {}, BINARY, PROBS * 3),
    ("BinaryAccuracy", {"threshold": 0.0}, BINARY, LOGITS),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS[:, None], PROBS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS),
    ("TopKCategoricalAccuracy", {}, ONE_HOT, LOGITS),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, LABELS, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 1}, LABELS[:, None], LOGITS),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, LABELS,
     np.argsort(-PROBS, axis=-1)),
    ("MeanSquaredError", {}, REGRESS, PROBS),
    ("MeanAbsoluteError", {}, REGRESS, PROBS),
    ("RootMeanSquaredError", {}, REGRESS, PROBS),
    ("BinaryCrossentropy", {}, BINARY, PROBS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, BINARY, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {}, ZEROS, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS[:, None], LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0}, LABELS, LOGITS),
    ("KLDivergence", {}, PROBS[::-1].copy(), PROBS),
]


def _case_id(case):
    name, kwargs, _, _ = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _value(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metric_classes_match_keras_over_several_updates(K, case, weights):
    name, kwargs, y_true, y_pred = case
    if "ignore_class" in kwargs and weights == "scalar":
        pytest.skip("Keras' in-place masking fails for a scalar sample_weight")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(K.metrics, name)(**kwargs)
    sample_weight = WEIGHTS[weights]
    for batch in (slice(0, 10), slice(10, N)):
        w = sample_weight[batch] if isinstance(sample_weight, np.ndarray) else sample_weight
        ours.update_state(y_true[batch], y_pred[batch], sample_weight=w)
        theirs.update_state(y_true[batch], y_pred[batch], sample_weight=w)
    for ours_var, theirs_var in zip(ours.variables, theirs.variables, strict=True):
        assert ours_var.path == theirs_var.path
        np.testing.assert_allclose(_value(ours_var), _value(theirs_var), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5,
                               atol=1e-6)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()))


@pytest.mark.parametrize("weights", ["none", "per_sample", "column", "scalar"])
def test_reduction_metrics_match_keras(K, weights):
    values = RNG.normal(size=(N, 3, 2)).astype("float32")
    sample_weight = WEIGHTS[weights]
    for name in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, name)(), getattr(K.metrics, name)()
        ours.update_state(values, sample_weight=sample_weight)
        theirs.update_state(values, sample_weight=sample_weight)
        ours.update_state(2.0)
        theirs.update_state(2.0)
        np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5)


def test_elementwise_weights_match_keras(K):
    values = RNG.normal(size=(N, 3)).astype("float32")
    weights = RNG.uniform(size=(N, 3)).astype("float32")
    ours, theirs = metrics.Mean(), K.metrics.Mean()
    ours.update_state(values, sample_weight=weights)
    theirs.update_state(values, sample_weight=weights)
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5)


def test_masked_wrapper_metrics_match_keras(K):
    from keras.src.backend import set_keras_mask

    mask = torch.tensor(RNG.uniform(size=N) > 0.4)
    ours_pred, theirs_pred = torch.tensor(PROBS), torch.tensor(PROBS)
    ours_pred._keras_mask = mask
    set_keras_mask(theirs_pred, mask)
    for weights in (None, WEIGHTS["per_sample"]):
        ours, theirs = metrics.MeanSquaredError(), K.metrics.MeanSquaredError()
        ours.update_state(REGRESS, ours_pred, sample_weight=weights)
        theirs.update_state(REGRESS, theirs_pred, sample_weight=weights)
        np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5)


FUNCTIONS = [
    ("binary_accuracy", {}, BINARY, PROBS * 3),
    ("binary_accuracy", {"threshold": 0.1}, BINARY[:, 0], PROBS[:, :1]),
    ("categorical_accuracy", {}, ONE_HOT, PROBS),
    ("categorical_accuracy", {}, ONE_HOT.reshape(4, 6, C), PROBS.reshape(4, 6, C)),
    ("sparse_categorical_accuracy", {}, LABELS, PROBS),
    ("sparse_categorical_accuracy", {}, LABELS[:, None], PROBS),
    ("sparse_categorical_accuracy", {}, LABELS.reshape(4, 6), PROBS.reshape(4, 6, C)),
    ("top_k_categorical_accuracy", {"k": 2}, ONE_HOT, PROBS),
    ("top_k_categorical_accuracy", {"k": 1}, ONE_HOT.reshape(4, 6, C), PROBS.reshape(4, 6, C)),
    ("sparse_top_k_categorical_accuracy", {"k": 2}, LABELS, PROBS),
    ("sparse_top_k_categorical_accuracy", {"k": 3}, LABELS.reshape(4, 6, 1),
     PROBS.reshape(4, 6, C)),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", FUNCTIONS,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FUNCTIONS)])
def test_metric_functions_match_keras(K, name, kwargs, y_true, y_pred):
    ours = getattr(metrics, name)(y_true, y_pred, **kwargs)
    theirs = getattr(K.metrics, name)(y_true, y_pred, **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(_value(ours), _value(theirs))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metric_configs_match_keras_and_load_both_ways(K, case):
    name, kwargs, _, _ = case
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(K.metrics, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert metrics.serialize(ours) == K.metrics.serialize(theirs)
    assert K.metrics.deserialize(metrics.serialize(ours)).get_config() == ours.get_config()
    assert metrics.deserialize(K.metrics.serialize(theirs)).get_config() == ours.get_config()
    assert getattr(ours, "_direction", None) == getattr(theirs, "_direction", None)


def test_metric_string_identifiers_resolve_like_keras(K):
    for name in ("mse", "MSE", "mae", "MAE", "bce", "accuracy", "binary_accuracy",
                 "categorical_accuracy", "sparse_categorical_accuracy",
                 "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                 "mean_squared_error", "root_mean_squared_error", "binary_crossentropy",
                 "categorical_crossentropy", "sparse_categorical_crossentropy",
                 "kl_divergence", "KLDivergence", "mean", "sum", "Mean"):
        assert type(metrics.get(name)).__name__ == type(K.metrics.get(name)).__name__, name
        assert metrics.get(name).name == K.metrics.get(name).name


# --- the rest of the catalogue ----------------------------------------------------------

SCORES = RNG.uniform(size=(N, C)).astype("float32")
SCORES[:3] = np.round(SCORES[:3], 1)  # predictions exactly on thresholds
SCORES[3] = 0.0
SCORES[4] = 1.0
BINARY_1D = BINARY[:, 0]
SCORES_1D = SCORES[:, 1]
POSITIVE = RNG.uniform(0.1, 3.0, size=(N, C)).astype("float32")
SEG_TRUE = RNG.integers(0, 4, size=(N, 5))
SEG_PRED = np.where(RNG.uniform(size=(N, 5)) > 0.4, SEG_TRUE, RNG.integers(0, 4, size=(N, 5)))
FEW_THRESHOLDS = [0.0, 0.3, 0.5, 0.7, 1.0]

MORE_CASES = [
    ("TruePositives", {}, BINARY, SCORES),
    ("FalsePositives", {"thresholds": FEW_THRESHOLDS}, BINARY, SCORES),
    ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}, BINARY_1D, SCORES_1D),
    ("FalseNegatives", {"thresholds": 0.3}, ZEROS, SCORES),
    ("Precision", {}, BINARY, SCORES),
    ("Precision", {"thresholds": FEW_THRESHOLDS}, BINARY_1D, SCORES_1D),
    ("Precision", {"top_k": 2}, BINARY, SCORES),
    ("Precision", {"top_k": 2, "class_id": 1, "thresholds": [0.2, 0.6]}, BINARY, SCORES),
    ("Recall", {}, BINARY, SCORES),
    ("Recall", {"class_id": 2}, BINARY, SCORES),
    ("Recall", {"top_k": 3}, ZEROS, SCORES),
    ("AUC", {}, BINARY, SCORES),
    ("AUC", {"num_thresholds": 7}, BINARY_1D, SCORES_1D),
    ("AUC", {"curve": "PR"}, BINARY, SCORES),
    ("AUC", {"curve": "PR", "summation_method": "minoring", "num_thresholds": 50}, BINARY,
     SCORES),
    ("AUC", {"summation_method": "majoring", "from_logits": True}, BINARY, LOGITS),
    ("AUC", {"thresholds": [0.1, 0.4, 0.45, 0.8]}, BINARY, SCORES),
    ("AUC", {"multi_label": True}, BINARY, SCORES),
    ("AUC", {"multi_label": True, "num_labels": C, "curve": "PR",
             "label_weights": [0.5, 1.0, 0.0, 2.0, 1.0, 1.0]}, BINARY, SCORES),
    ("AUC", {"label_weights": [0.5, 1.0, 0.0, 2.0, 1.0, 1.0]}, BINARY, SCORES),
    ("AUC", {}, ZEROS, SCORES),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, BINARY, SCORES),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 20}, BINARY, SCORES),
    ("PrecisionAtRecall", {"recall": 0.4, "class_id": 0}, BINARY, SCORES),
    ("RecallAtPrecision", {"precision": 0.55}, BINARY, SCORES),
    ("RecallAtPrecision", {"precision": 0.99}, ZEROS, SCORES),
    ("F1Score", {}, ONE_HOT, PROBS),
    ("F1Score", {"average": "macro", "threshold": 0.3}, BINARY, SCORES),
    ("FBetaScore", {"average": "weighted", "beta": 2.0}, ONE_HOT, PROBS),
    ("FBetaScore", {"average": "micro", "beta": 0.5, "threshold": 0.5}, BINARY, SCORES),
    ("FBetaScore", {"average": "macro"}, ZEROS, ZEROS),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2], "dtype": "float32"}, SEG_TRUE,
     SEG_PRED),
    ("MeanIoU", {"num_classes": 4, "ignore_class": 1, "dtype": "float32"}, SEG_TRUE, SEG_PRED),
    ("BinaryIoU", {"threshold": 0.3, "dtype": "float32"}, BINARY, SCORES),
    ("BinaryIoU", {"target_class_ids": [1], "dtype": "float32"}, ZEROS, SCORES),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3], "dtype": "float32"},
     ONE_HOT, PROBS),
    ("OneHotMeanIoU", {"num_classes": C, "dtype": "float32"}, ONE_HOT, PROBS),
    ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, SEG_TRUE[:, 0], SEG_PRED[:, 0]),
    ("BinaryIoU", {"dtype": "float32"}, BINARY_1D, SCORES_1D),
    ("Hinge", {}, BINARY, LOGITS),
    ("SquaredHinge", {}, BINARY, REGRESS),
    ("CategoricalHinge", {}, ONE_HOT, REGRESS),
    ("CosineSimilarity", {}, REGRESS, PROBS),
    ("LogCoshError", {}, REGRESS, PROBS),
    ("MeanAbsolutePercentageError", {}, REGRESS, PROBS),
    ("MeanSquaredLogarithmicError", {}, POSITIVE, PROBS),
    ("Poisson", {}, POSITIVE, PROBS),
    ("R2Score", {}, REGRESS, REGRESS + PROBS),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, REGRESS, PROBS),
    ("R2Score", {"class_aggregation": None, "num_regressors": 3}, REGRESS, REGRESS * 0.5),
    ("PearsonCorrelation", {}, REGRESS, REGRESS + PROBS),
    ("ConcordanceCorrelation", {}, REGRESS, REGRESS + PROBS),
    ("ConcordanceCorrelation", {}, ZEROS, ZEROS),
]
INTEGER_STATE = ("IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU")


def _update_both(ours, theirs, y_true, y_pred, sample_weight):
    for batch in (slice(0, 10), slice(10, N)):
        w = sample_weight[batch] if isinstance(sample_weight, np.ndarray) else sample_weight
        ours.update_state(y_true[batch], y_pred[batch], sample_weight=w)
        theirs.update_state(y_true[batch], y_pred[batch], sample_weight=w)


@pytest.mark.parametrize("weights", ["none", "per_sample", "scalar", "all_zero"])
@pytest.mark.parametrize("case", MORE_CASES, ids=_case_id)
def test_more_metric_classes_match_keras_over_several_updates(K, case, weights):
    name, kwargs, y_true, y_pred = case
    if name in ("F1Score", "FBetaScore") and weights == "scalar":
        pytest.skip("Keras' F-scores need per-sample weights")
    if name in INTEGER_STATE and y_true.ndim > 1 and weights in ("per_sample", "all_zero"):
        pytest.skip("IoU weights are per label (the flattened inputs), not per sample")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(K.metrics, name)(**kwargs)
    _update_both(ours, theirs, y_true, y_pred, WEIGHTS[weights])
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    for ours_var, theirs_var in zip(ours.variables, theirs.variables, strict=True):
        assert tuple(ours_var.shape) == tuple(theirs_var.shape)
        np.testing.assert_allclose(_value(ours_var), _value(theirs_var), rtol=1e-5, atol=1e-5,
                                   err_msg=ours_var.path)
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5,
                               atol=1e-5)
    ours.reset_state()
    theirs.reset_state()
    for ours_var, theirs_var in zip(ours.variables, theirs.variables, strict=True):
        np.testing.assert_array_equal(_value(ours_var), _value(theirs_var))


def test_integer_iou_state_matches_keras_and_warns_on_float_weights(K):
    ours, theirs = metrics.MeanIoU(num_classes=4), K.metrics.MeanIoU(num_classes=4)
    _update_both(ours, theirs, SEG_TRUE, SEG_PRED, None)
    assert ours.total_cm.dtype == torch.int32
    np.testing.assert_array_equal(_value(ours.total_cm), _value(theirs.total_cm))
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-6)
    weights = np.full((N, 5), 2.7, "float32")
    with pytest.warns(UserWarning, match="passing weight as `float`"):
        ours.update_state(SEG_TRUE, SEG_PRED, sample_weight=weights)
    with pytest.warns(UserWarning):
        theirs.update_state(SEG_TRUE, SEG_PRED, sample_weight=weights)
    np.testing.assert_array_equal(_value(ours.total_cm), _value(theirs.total_cm))


MORE_METRIC_FUNCTIONS = [
    ("hinge", {}, BINARY, LOGITS), ("squared_hinge", {}, BINARY, REGRESS),
    ("categorical_hinge", {}, ONE_HOT, REGRESS), ("poisson", {}, POSITIVE, PROBS),
    ("huber", {"delta": 0.5}, REGRESS, PROBS), ("log_cosh", {}, REGRESS, PROBS),
    ("mean_absolute_percentage_error", {}, REGRESS, PROBS),
    ("mean_squared_logarithmic_error", {}, POSITIVE, PROBS),
    ("binary_focal_crossentropy", {"gamma": 1.0}, BINARY, PROBS),
    ("categorical_focal_crossentropy", {}, ONE_HOT, PROBS),
    ("pearson_correlation", {}, REGRESS, REGRESS + PROBS),
    ("pearson_correlation", {"axis": 0}, REGRESS, REGRESS + PROBS),
    ("concordance_correlation", {}, REGRESS, REGRESS + PROBS),
    ("concordance_correlation", {"axis": 0}, REGRESS[:, 0], PROBS[:, 0]),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", MORE_METRIC_FUNCTIONS,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(MORE_METRIC_FUNCTIONS)])
def test_more_metric_functions_match_keras(K, name, kwargs, y_true, y_pred):
    ours = getattr(metrics, name)(y_true, y_pred, **kwargs)
    theirs = getattr(K.metrics, name)(y_true, y_pred, **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(_value(ours), _value(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", MORE_CASES, ids=_case_id)
def test_more_metric_configs_match_keras_and_load_both_ways(K, case):
    name, kwargs, y_true, y_pred = case
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(K.metrics, name)(**kwargs)
    theirs_config = theirs.get_config()
    if "label_weights" in kwargs:
        # Keras puts its weights tensor in the config; lamina writes a JSON-able list.
        theirs_config["label_weights"] = theirs_config["label_weights"].tolist()
        assert ours.get_config() == theirs_config
        assert K.metrics.deserialize(metrics.serialize(ours)).get_config()[
            "label_weights"].tolist() == kwargs["label_weights"]
        return
    assert ours.get_config() == theirs_config
    assert metrics.serialize(ours) == K.metrics.serialize(theirs)
    assert K.metrics.deserialize(metrics.serialize(ours)).get_config() == ours.get_config()
    assert metrics.deserialize(K.metrics.serialize(theirs)).get_config() == ours.get_config()
    assert getattr(ours, "_direction", None) == getattr(theirs, "_direction", None)


def test_every_keras_metric_name_resolves_like_keras(K):
    from keras.src.metrics import ALL_OBJECTS_DICT

    public = {n for n in dir(K.metrics) if not n.startswith("_")}
    assert public - {"deserialize", "get", "serialize"} <= set(dir(metrics))
    needs_args = {"IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU", "SensitivityAtSpecificity",
                  "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision"}
    for name, theirs in ALL_OBJECTS_DICT.items():
        if name in ("Metric", "MeanMetricWrapper", "metric", "mean_metric_wrapper"):
            continue
        if theirs.__name__ in needs_args:
            assert metrics.ALL_OBJECTS[name].__name__ == theirs.__name__, name
            continue
        ours, theirs = metrics.get(name), K.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
        assert ours.name == theirs.name, name
