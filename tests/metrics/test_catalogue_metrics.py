"""Behaviour, bad input and no-host-sync checks for the confusion, AUC, F-score, IoU,
regression and correlation metrics (numerics against Keras live in tests/parity)."""

import numpy as np
import pytest
import torch

from lamina import metrics

RNG = np.random.default_rng(3)
Y_TRUE = torch.tensor((RNG.uniform(size=(8, 3)) > 0.5).astype("float32"))
Y_PRED = torch.tensor(RNG.uniform(size=(8, 3)).astype("float32"))
ONE_HOT = torch.eye(3)[torch.tensor(RNG.integers(0, 3, size=8))]
WEIGHTS = torch.tensor(RNG.uniform(size=8).astype("float32"))

NEW_METRICS = [
    (metrics.TruePositives, {}, Y_TRUE, Y_PRED),
    (metrics.FalsePositives, {"thresholds": [0.2, 0.5]}, Y_TRUE, Y_PRED),
    (metrics.TrueNegatives, {}, Y_TRUE, Y_PRED),
    (metrics.FalseNegatives, {}, Y_TRUE, Y_PRED),
    (metrics.Precision, {"top_k": 2}, Y_TRUE, Y_PRED),
    (metrics.Recall, {"class_id": 1, "thresholds": [0.0, 0.5, 1.0]}, Y_TRUE, Y_PRED),
    (metrics.AUC, {}, Y_TRUE, Y_PRED),
    (metrics.AUC, {"multi_label": True, "thresholds": [0.3, 0.6]}, Y_TRUE, Y_PRED),
    (metrics.AUC, {"curve": "PR", "label_weights": [1.0, 2.0, 0.5]}, Y_TRUE, Y_PRED),
    (metrics.SensitivityAtSpecificity, {"specificity": 0.5}, Y_TRUE, Y_PRED),
    (metrics.SpecificityAtSensitivity, {"sensitivity": 0.5}, Y_TRUE, Y_PRED),
    (metrics.PrecisionAtRecall, {"recall": 0.5}, Y_TRUE, Y_PRED),
    (metrics.RecallAtPrecision, {"precision": 0.5}, Y_TRUE, Y_PRED),
    (metrics.F1Score, {}, ONE_HOT, Y_PRED),
    (metrics.FBetaScore, {"average": "micro", "beta": 2.0, "threshold": 0.5}, Y_TRUE, Y_PRED),
    (metrics.IoU, {"num_classes": 3, "target_class_ids": [0, 2]}, ONE_HOT.argmax(1),
     Y_PRED.argmax(1)),
    (metrics.MeanIoU, {"num_classes": 3, "ignore_class": 0, "dtype": "float32"},
     ONE_HOT.argmax(1), Y_PRED.argmax(1)),
    (metrics.BinaryIoU, {"dtype": "float32"}, Y_TRUE, Y_PRED),
    (metrics.OneHotIoU, {"num_classes": 3, "target_class_ids": [1], "dtype": "float32"},
     ONE_HOT, Y_PRED),
    (metrics.OneHotMeanIoU, {"num_classes": 3, "dtype": "float32"}, ONE_HOT, Y_PRED),
    (metrics.Hinge, {}, Y_TRUE, Y_PRED),
    (metrics.SquaredHinge, {}, Y_TRUE, Y_PRED),
    (metrics.CategoricalHinge, {}, ONE_HOT, Y_PRED),
    (metrics.CosineSimilarity, {}, Y_TRUE, Y_PRED),
    (metrics.LogCoshError, {}, Y_TRUE, Y_PRED),
    (metrics.MeanAbsolutePercentageError, {}, Y_TRUE, Y_PRED),
    (metrics.MeanSquaredLogarithmicError, {}, Y_TRUE, Y_PRED),
    (metrics.Poisson, {}, Y_TRUE, Y_PRED),
    (metrics.R2Score, {}, Y_TRUE, Y_PRED),
    (metrics.PearsonCorrelation, {}, Y_TRUE, Y_PRED),
    (metrics.ConcordanceCorrelation, {}, Y_TRUE, Y_PRED),
]


def _ids(cases):
    return [f"{cls.__name__}-{i}" for i, (cls, *_) in enumerate(cases)]


@pytest.fixture
def no_host_sync(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("host sync in update_state")

    for attr in ("item", "__bool__", "cpu", "__float__", "__int__", "tolist", "numpy"):
        monkeypatch.setattr(torch.Tensor, attr, refuse)


@pytest.mark.parametrize("cls, kwargs, y_true, y_pred", NEW_METRICS, ids=_ids(NEW_METRICS))
def test_update_state_does_not_sync_with_the_host(cls, kwargs, y_true, y_pred, request):
    metric = cls(**kwargs)
    weights = None if cls.__name__.endswith("IoU") else WEIGHTS
    metric.update_state(y_true, y_pred)  # first call may build lazily created state
    request.getfixturevalue("no_host_sync")
    metric.update_state(y_true, y_pred, sample_weight=weights)
    metric.update_state(y_true, y_pred)


@pytest.mark.parametrize("cls, kwargs, y_true, y_pred", NEW_METRICS, ids=_ids(NEW_METRICS))
def test_config_round_trip_and_string_lookup(cls, kwargs, y_true, y_pred):
    metric = cls(**kwargs)
    metric.update_state(y_true, y_pred)
    clone = metrics.deserialize(metrics.serialize(metric))
    assert type(clone) is cls and clone.get_config() == metric.get_config()
    clone.update_state(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(clone.result()), np.asarray(metric.result()),
                               rtol=1e-6)
    assert metrics.ALL_OBJECTS[cls.__name__] is cls


def test_confusion_counts_match_a_numpy_reference_at_every_threshold():
    thresholds = [0.0, 0.25, 0.5, 0.75, 1.0]  # evenly spaced: the bucketed path
    uneven = [0.1, 0.35, 0.8]  # the broadcast-comparison path
    for ts in (thresholds, uneven):
        tp, fp = metrics.TruePositives(thresholds=ts), metrics.FalsePositives(thresholds=ts)
        tn, fn = metrics.TrueNegatives(thresholds=ts), metrics.FalseNegatives(thresholds=ts)
        for m in (tp, fp, tn, fn):
            m.update_state(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
        above = Y_PRED.numpy()[None] > np.array(ts)[:, None, None]
        pos = Y_TRUE.numpy()[None] > 0
        w = WEIGHTS.numpy()[None, :, None]
        for m, mask in ((tp, above & pos), (fp, above & ~pos), (tn, ~above & ~pos),
                        (fn, ~above & pos)):
            np.testing.assert_allclose(m.result().numpy(), (mask * w).sum(axis=(1, 2)),
                                       rtol=1e-5)


def test_auc_of_a_perfect_ranking_is_one_and_of_a_reversed_one_is_zero():
    y_true = torch.tensor([0.0, 0.0, 1.0, 1.0])
    scores = torch.tensor([0.1, 0.2, 0.8, 0.9])
    for curve in ("ROC", "PR"):
        good, bad = metrics.AUC(curve=curve), metrics.AUC(curve=curve)
        good.update_state(y_true, scores)
        bad.update_state(y_true, 1.0 - scores)
        assert float(good.result()) == pytest.approx(1.0, abs=1e-3)
        assert float(bad.result()) < 0.6


def test_r2_score_matches_the_closed_form():
    y_true = RNG.normal(size=(20, 2)).astype("float32")
    y_pred = (y_true + RNG.normal(scale=0.3, size=(20, 2))).astype("float32")
    m = metrics.R2Score(class_aggregation=None)
    m.update_state(y_true, y_pred)
    expected = 1 - ((y_true - y_pred) ** 2).sum(0) / ((y_true - y_true.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-5)


def test_mean_iou_matches_a_counted_reference():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    m = metrics.MeanIoU(num_classes=3)
    m.update_state(y_true, y_pred)
    # class 0: tp 1, fp 1, fn 1; class 1: tp 2, fp 1; class 2: tp 1, fn 1
    assert float(m.result()) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3, rel=1e-5)


def test_metrics_follow_the_inputs_device_with_their_thresholds():
    m = metrics.AUC()
    m.update_state(Y_TRUE.double().float(), Y_PRED)
    assert m.true_positives.device == Y_PRED.device
    assert m._thresholds_tensor.device == Y_PRED.device


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: metrics.Precision(thresholds=[0.5, 1.5]), "threshold values must be in"),
        (lambda: metrics.TruePositives(thresholds=-0.1), "threshold values must be in"),
        (lambda: metrics.Recall(top_k=0), "`top_k` must be a positive integer"),
        (lambda: metrics.AUC(num_thresholds=1), "`num_thresholds` must be an integer > 1"),
        (lambda: metrics.AUC(curve="XY"), "invalid `curve`"),
        (lambda: metrics.AUC(summation_method="mean"), "invalid `summation_method`"),
        (lambda: metrics.AUC(label_weights=[1.0, -1.0]), "non-negative"),
        (lambda: metrics.SensitivityAtSpecificity(1.5), r"`specificity` must be in the range"),
        (lambda: metrics.RecallAtPrecision(0.5, num_thresholds=0), "`num_thresholds`"),
        (lambda: metrics.FBetaScore(beta=1), "should be a Python float"),
        (lambda: metrics.FBetaScore(beta=-1.0), "should be > 0"),
        (lambda: metrics.F1Score(average="mean"), "invalid `average`"),
        (lambda: metrics.F1Score(threshold=1.5), "0 < threshold <= 1"),
        (lambda: metrics.IoU(3, target_class_ids=[3]), r"out of range, which is \[0, 3\)"),
        (lambda: metrics.MeanIoU(num_classes=0), "`num_classes` must be a positive integer"),
        (lambda: metrics.R2Score(class_aggregation="sum"), "`class_aggregation`"),
        (lambda: metrics.R2Score(num_regressors=-1), "`num_regressors`"),
    ],
)
def test_invalid_arguments_are_rejected_with_the_argument_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "metric, y_true, y_pred, match",
    [
        (metrics.Precision(), Y_TRUE, Y_PRED[:, :2],
         r"y_true.shape=\(8, 3\), y_pred.shape=\(8, 2\)"),
        (metrics.AUC(), Y_TRUE[:4], Y_PRED, r"y_true.shape=\(4, 3\), y_pred.shape=\(8, 3\)"),
        (metrics.AUC(multi_label=True), Y_TRUE[:, 0], Y_PRED[:, 0], "must have rank 2"),
        (metrics.F1Score(), Y_TRUE[:, 0], Y_PRED[:, 0], "expects 2D inputs"),
        (metrics.F1Score(), Y_TRUE, Y_PRED[:, :2], r"y_pred.shape=\(8, 2\)"),
        (metrics.R2Score(), Y_TRUE[:, :2], Y_PRED, r"y_true.shape=\(8, 2\)"),
        (metrics.MeanIoU(3), ONE_HOT.argmax(1)[:5], Y_PRED.argmax(1), r"y_true.shape=\(5,\)"),
        (metrics.Hinge(), Y_TRUE, Y_PRED[:, :2], r"y_true.shape=\(8, 3\), y_pred.shape=\(8, 2\)"),
    ],
)
def test_mismatched_shapes_name_both_shapes(metric, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metric.update_state(y_true, y_pred)


def test_precision_sample_weight_that_cannot_broadcast_is_rejected():
    with pytest.raises(ValueError, match=r"sample_weight.shape=\(5, 1\)"):
        metrics.Precision().update_state(Y_TRUE, Y_PRED, sample_weight=WEIGHTS[:5])


def test_f_score_result_before_any_update_explains_why():
    with pytest.raises(ValueError, match="needs at least one `update_state"):
        metrics.F1Score().result()


def test_the_no_host_sync_guard_catches_syncs(no_host_sync):
    x = torch.ones(2)
    for sync in (lambda: bool(x[0]), lambda: x.item(), lambda: float(x[0]), lambda: x.cpu(),
                 lambda: x.tolist(), lambda: x.numpy(), lambda: int(x[0])):
        with pytest.raises(AssertionError, match="host sync"):
            sync()
