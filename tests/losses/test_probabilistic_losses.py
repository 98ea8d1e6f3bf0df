import numpy as np
import pytest
import torch

from lamina import losses

EPS = 1e-7
RNG = np.random.default_rng(2)
LABELS = RNG.integers(0, 4, size=(6,))
ONE_HOT = np.eye(4, dtype="float32")[LABELS]
PROBS = RNG.dirichlet(np.ones(4), size=6).astype("float32")
LOGITS = RNG.normal(scale=3.0, size=(6, 4)).astype("float32")


def _log_softmax(x):
    x = x.astype("float64")
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _bce_reference(y, p):
    p = np.clip(p.astype("float64"), EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)


def test_binary_crossentropy_on_probabilities_matches_numpy():
    y = (RNG.uniform(size=(6, 4)) > 0.5).astype("float32")
    out = losses.binary_crossentropy(y, PROBS)
    np.testing.assert_allclose(out.numpy(), _bce_reference(y, PROBS), rtol=1e-5)


def test_binary_crossentropy_clips_saturated_probabilities():
    out = losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 1.0]])
    # float32 rounds 1 - 1e-7 to 1 - 2**-23, so the two clipped terms differ slightly.
    upper = np.float64(np.float32(1 - EPS))
    expected = (-np.log(np.float64(np.float32(EPS))) - np.log(1 - upper)) / 2
    np.testing.assert_allclose(out.numpy(), [expected], rtol=1e-5)
    assert np.isfinite(out.numpy()).all()


def test_binary_crossentropy_from_logits_is_stable_at_extremes():
    logits = np.array([[50.0, -50.0, 0.0]], "float32")
    y = np.array([[0.0, 1.0, 1.0]], "float32")
    out = losses.binary_crossentropy(y, logits, from_logits=True)
    expected = np.mean([50.0, 50.0, np.log(2.0)])
    np.testing.assert_allclose(out.numpy(), [expected], rtol=1e-6)


def test_binary_crossentropy_label_smoothing_moves_targets_towards_half():
    y = np.array([[1.0, 0.0]], "float32")
    out = losses.binary_crossentropy(y, PROBS[:1, :2], label_smoothing=0.2)
    smoothed = y * 0.8 + 0.1
    np.testing.assert_allclose(out.numpy(), _bce_reference(smoothed, PROBS[:1, :2]), rtol=1e-5)


def test_binary_crossentropy_axis_chooses_the_averaged_axis():
    y = (RNG.uniform(size=(3, 5)) > 0.5).astype("float32")
    p = RNG.uniform(0.05, 0.95, size=(3, 5)).astype("float32")
    out = losses.binary_crossentropy(y, p, axis=0)
    p64 = p.astype("float64")
    ref = -(y * np.log(p64) + (1 - y) * np.log(1 - p64)).mean(0)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5)


def test_categorical_crossentropy_on_probabilities_matches_numpy():
    out = losses.categorical_crossentropy(ONE_HOT, PROBS)
    ref = -(ONE_HOT * np.log(np.clip(PROBS / PROBS.sum(-1, keepdims=True), EPS, 1 - EPS))).sum(-1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5)


def test_categorical_crossentropy_normalises_unnormalised_probabilities():
    a = losses.categorical_crossentropy(ONE_HOT, PROBS)
    b = losses.categorical_crossentropy(ONE_HOT, PROBS * 3.0)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)


def test_categorical_crossentropy_from_logits_with_label_smoothing_matches_numpy():
    out = losses.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True, label_smoothing=0.1)
    smoothed = ONE_HOT * 0.9 + 0.1 / 4
    ref = -(smoothed * _log_softmax(LOGITS)).sum(-1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5)


def test_categorical_crossentropy_from_extreme_logits_is_finite():
    logits = np.array([[50.0, -50.0, -50.0]], "float32")
    out = losses.categorical_crossentropy([[0.0, 1.0, 0.0]], logits, from_logits=True)
    np.testing.assert_allclose(out.numpy(), [100.0], rtol=1e-6)


def test_categorical_crossentropy_warns_on_single_class_predictions():
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        losses.categorical_crossentropy([[1.0]], [[0.3]])


def test_sparse_categorical_crossentropy_matches_one_hot_version():
    for y_true in (LABELS, LABELS[:, None]):
        sparse = losses.sparse_categorical_crossentropy(y_true, LOGITS, from_logits=True)
        dense = losses.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True)
        np.testing.assert_allclose(sparse.numpy(), dense.numpy(), rtol=1e-6)
    sparse = losses.sparse_categorical_crossentropy(LABELS, PROBS)
    dense = losses.categorical_crossentropy(ONE_HOT, PROBS)
    np.testing.assert_allclose(sparse.numpy(), dense.numpy(), rtol=1e-6)


def test_sparse_categorical_crossentropy_handles_sequence_outputs():
    labels = RNG.integers(0, 4, size=(2, 3))
    logits = RNG.normal(size=(2, 3, 4)).astype("float32")
    out = losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    ref = -np.take_along_axis(_log_softmax(logits), labels[..., None], -1)[..., 0]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5)


def test_sparse_categorical_crossentropy_ignore_class_zeroes_and_masks_entries():
    labels = np.array([0, 1, 2])
    probs = np.array([[0.2, 0.3, 0.5]] * 3, "float32")
    per_sample = losses.sparse_categorical_crossentropy(labels, probs, ignore_class=0)
    np.testing.assert_allclose(per_sample.numpy(), [0.0, -np.log(0.3), -np.log(0.5)], rtol=1e-6)
    assert per_sample._keras_mask.tolist() == [False, True, True]
    mean = losses.SparseCategoricalCrossentropy(ignore_class=0)(labels, probs)
    np.testing.assert_allclose(mean.numpy(), (-np.log(0.3) - np.log(0.5)) / 2, rtol=1e-5)


def test_kl_divergence_matches_numpy_and_clips():
    q = RNG.dirichlet(np.ones(4), size=6).astype("float32")
    out = losses.kl_divergence(ONE_HOT, q)
    t = np.clip(ONE_HOT, EPS, 1.0).astype("float64")
    ref = (t * np.log(t / np.clip(q, EPS, 1.0))).sum(-1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)


def test_all_zero_labels_give_finite_losses():
    zeros = np.zeros((3, 4), "float32")
    for value in (
        losses.CategoricalCrossentropy()(zeros, PROBS[:3]),
        losses.BinaryCrossentropy()(zeros, PROBS[:3]),
        losses.KLDivergence()(zeros, PROBS[:3]),
    ):
        assert np.isfinite(value.numpy())
    assert losses.CategoricalCrossentropy()(zeros, PROBS[:3]).item() == 0.0


def test_from_logits_gradients_are_finite_at_extremes():
    logits = torch.tensor([[50.0, -50.0], [-50.0, 50.0]], requires_grad=True)
    loss = losses.BinaryCrossentropy(from_logits=True)([[0.0, 1.0], [1.0, 0.0]], logits)
    loss = loss + losses.CategoricalCrossentropy(from_logits=True)([[0.0, 1.0], [1.0, 0.0]],
                                                                  logits)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("smoothing", [-0.1, 1.5])
def test_crossentropies_reject_label_smoothing_outside_unit_interval(smoothing):
    with pytest.raises(ValueError, match=r"BinaryCrossentropy.*label_smoothing.*\[0, 1\]"):
        losses.BinaryCrossentropy(label_smoothing=smoothing)
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy.*label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=smoothing)
    with pytest.raises(ValueError, match=r"binary_crossentropy.*label_smoothing"):
        losses.binary_crossentropy([[1.0]], [[0.5]], label_smoothing=smoothing)


def test_crossentropies_reject_mismatched_shapes_naming_both():
    with pytest.raises(ValueError, match=r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"):
        losses.BinaryCrossentropy()(np.ones((2, 3)), np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"):
        losses.CategoricalCrossentropy()(np.ones((2, 3)), np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"):
        losses.SparseCategoricalCrossentropy()(np.ones((2, 3)), np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"kl_divergence.*\(2, 3\).*\(2, 4\)"):
        losses.KLDivergence()(np.ones((2, 3)), np.full((2, 4), 0.5))


def test_crossentropy_rejects_bool_axis_and_unsupported_sparse_axis():
    with pytest.raises(ValueError, match="`axis` must be of type `int`"):
        losses.categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.5]], axis=True)
    with pytest.raises(ValueError, match="only the last axis.*axis=0"):
        losses.sparse_categorical_crossentropy([1], [[0.5, 0.5]], axis=0)


def test_probabilistic_loss_configs_match_keras_schema():
    assert losses.BinaryCrossentropy(from_logits=True).get_config() == {
        "name": "binary_crossentropy", "reduction": "sum_over_batch_size",
        "from_logits": True, "label_smoothing": 0.0, "axis": -1}
    assert losses.SparseCategoricalCrossentropy(ignore_class=3).get_config() == {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
        "from_logits": False, "ignore_class": 3}
    assert losses.KLDivergence().get_config() == {
        "name": "kl_divergence", "reduction": "sum_over_batch_size"}
