"""Closed-form checks, config round trips and bad input for the losses beyond MSE/MAE and
the crossentropies (numerics against Keras live in tests/parity)."""

import math

import numpy as np
import pytest
import torch

from lamina import losses

RNG = np.random.default_rng(5)
Y = RNG.normal(size=(6, 4)).astype("float32")
P = RNG.normal(size=(6, 4)).astype("float32")


@pytest.mark.parametrize(
    "fn, reference",
    [
        (losses.huber, lambda t, p: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2,
                                             np.abs(p - t) - 0.5).mean(-1)),
        (losses.log_cosh, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
        (losses.mean_absolute_percentage_error,
         lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), 1e-7)).mean(-1)),
        (losses.mean_squared_logarithmic_error,
         lambda t, p: ((np.log1p(np.maximum(p, 1e-7)) - np.log1p(np.maximum(t, 1e-7))) ** 2)
         .mean(-1)),
        (losses.poisson, lambda t, p: (np.abs(p) - t * np.log(np.abs(p) + 1e-7)).mean(-1)),
        (losses.cosine_similarity,
         lambda t, p: -(t * p).sum(-1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1)),
        (losses.squared_hinge, lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1)),
        (losses.categorical_hinge, lambda t, p: np.maximum(
            ((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0)),
    ],
)
def test_losses_match_numpy_closed_forms(fn, reference):
    y_pred = np.abs(P) if fn is losses.poisson else P
    np.testing.assert_allclose(fn(Y, y_pred).numpy(), reference(Y, y_pred), rtol=1e-5,
                               atol=1e-6)


def test_hinge_maps_binary_labels_to_signs_but_keeps_signed_ones():
    zero_one = (RNG.uniform(size=(6, 4)) > 0.5).astype("float32")
    signed = 2 * zero_one - 1
    np.testing.assert_allclose(losses.hinge(zero_one, P).numpy(),
                               losses.hinge(signed, P).numpy())
    np.testing.assert_allclose(losses.hinge(signed, P).numpy(),
                               np.maximum(1 - signed * P, 0).mean(-1), rtol=1e-6)


def test_log_cosh_does_not_overflow_for_large_errors():
    value = losses.log_cosh([[0.0]], [[500.0]])
    assert torch.isfinite(value).all()
    assert float(value[0]) == pytest.approx(500.0 - math.log(2.0))


def test_focal_losses_reduce_to_crossentropy_when_gamma_is_zero():
    y_true = (RNG.uniform(size=(6, 4)) > 0.5).astype("float32")
    probs = RNG.uniform(0.05, 0.95, size=(6, 4)).astype("float32")
    np.testing.assert_allclose(
        losses.binary_focal_crossentropy(y_true, probs, gamma=0.0).numpy(),
        losses.binary_crossentropy(y_true, probs).numpy(), rtol=1e-5)
    one_hot = np.eye(4, dtype="float32")[RNG.integers(0, 4, 6)]
    dist = probs / probs.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        losses.categorical_focal_crossentropy(one_hot, dist, gamma=0.0, alpha=1.0).numpy(),
        losses.categorical_crossentropy(one_hot, dist).numpy(), rtol=1e-5)


def test_dice_and_tversky_agree_at_one_half():
    y_true = (RNG.uniform(size=(6, 4)) > 0.5).astype("float32")
    probs = RNG.uniform(size=(6, 4)).astype("float32")
    np.testing.assert_allclose(losses.dice(y_true, probs, axis=1).numpy(),
                               losses.tversky(y_true, probs, axis=1).numpy(), rtol=1e-5)
    assert float(losses.dice(y_true, y_true)) == pytest.approx(0.0, abs=1e-6)


def test_ctc_matches_torch_ctc_loss():
    logits = torch.tensor(RNG.normal(size=(3, 7, 5)).astype("float32"))
    labels = torch.tensor([[1, 2, 0], [4, 4, 3], [2, 0, 0]])
    ours = losses.ctc(labels, logits)
    expected = torch.nn.functional.ctc_loss(
        logits.log_softmax(-1).transpose(0, 1), labels, torch.full((3,), 7),
        torch.tensor([2, 3, 1]), reduction="none")
    torch.testing.assert_close(ours, expected)


def test_circle_masks_zero_losses_out_of_the_mean():
    labels = np.array([0, 0, 1, 1])
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], "float32")
    per_sample = losses.circle(labels, emb)
    assert per_sample._keras_mask.dtype == torch.bool
    values = per_sample.detach()
    kept = values[values > 0]
    expected = kept.mean() if kept.numel() else torch.tensor(0.0)
    torch.testing.assert_close(losses.Circle()(labels, emb), expected)


CLASSES = [
    (losses.MeanAbsolutePercentageError, {}), (losses.MeanSquaredLogarithmicError, {}),
    (losses.Huber, {"delta": 2.0}), (losses.LogCosh, {}), (losses.CosineSimilarity, {}),
    (losses.Poisson, {}), (losses.Hinge, {}), (losses.SquaredHinge, {}),
    (losses.CategoricalHinge, {}),
    (losses.BinaryFocalCrossentropy, {"gamma": 1.0, "apply_class_balancing": True}),
    (losses.CategoricalFocalCrossentropy, {"alpha": 0.5}),
    (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.7}),
    (losses.Dice, {"axis": 1}), (losses.Tversky, {"alpha": 0.1, "beta": 0.9}),
    (losses.CTC, {}), (losses.Circle, {"gamma": 32.0}),
]


@pytest.mark.parametrize("cls, kwargs", CLASSES, ids=[c.__name__ for c, _ in CLASSES])
def test_loss_config_round_trips_and_resolves_by_name(cls, kwargs):
    loss = cls(reduction="sum", name="custom", **kwargs)
    clone = losses.deserialize(losses.serialize(loss))
    assert type(clone) is cls and clone.get_config() == loss.get_config()
    assert clone.reduction == "sum" and clone.name == "custom"
    assert type(losses.get(cls.__name__)) is cls
    assert isinstance(losses.get({"class_name": cls.__name__, "config": {}}), cls)


@pytest.mark.parametrize("name", ["mape", "MAPE", "msle", "MSLE", "huber", "log_cosh",
                                  "logcosh", "poisson", "hinge", "squared_hinge",
                                  "categorical_hinge", "cosine_similarity", "dice", "tversky",
                                  "ctc", "circle", "binary_focal_crossentropy",
                                  "categorical_focal_crossentropy"])
def test_loss_functions_resolve_by_string(name):
    fn = losses.get(name)
    assert callable(fn) and not isinstance(fn, type)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: losses.BinaryFocalCrossentropy(label_smoothing=1.5), ValueError,
         "`label_smoothing` must be in"),
        (lambda: losses.CategoricalFocalCrossentropy(axis=True), ValueError,
         "`axis` must be of type `int`"),
        (lambda: losses.CategoricalGeneralizedCrossEntropy(q=1.0), ValueError,
         r"q must be in the interval \(0, 1\)"),
        (lambda: losses.Huber(reduction="average"), ValueError, "reduction='average'"),
        (lambda: losses.ctc(np.ones((2, 3, 1)), np.ones((2, 3, 4))), ValueError,
         r"y_true.shape=\(2, 3, 1\)"),
        (lambda: losses.ctc(np.ones((2, 3)), np.ones((2, 3))), ValueError,
         r"y_pred.shape=\(2, 3\)"),
        (lambda: losses.hinge(np.ones((2, 3)), np.ones((2, 4))), ValueError,
         r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"),
        (lambda: losses.huber(np.ones((2, 3)), np.ones((2, 4))), ValueError,
         r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"),
        (lambda: losses.dice(np.ones((2, 3)), np.ones((2, 4))), ValueError,
         r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"),
        (lambda: losses.binary_focal_crossentropy(np.ones((2, 3)), np.ones((2, 4))),
         ValueError, r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"),
        (lambda: losses.categorical_generalized_cross_entropy(
            np.ones((3,)), np.ones((2, 4)), q=0.5), ValueError, r"y_true.shape=\(3,\)"),
        (lambda: losses.circle(np.ones((3,)), np.ones((2, 4))), ValueError,
         r"y_true.shape=\(3,\), y_pred.shape=\(2, 4\)"),
    ],
)
def test_bad_input_is_rejected_with_names_and_shapes(make, error, match):
    with pytest.raises(error, match=match):
        make()
