import numpy as np
import pytest

from lamina import losses, metrics

RNG = np.random.default_rng(5)
LABELS = RNG.integers(0, 3, size=(6,))
ONE_HOT = np.eye(3, dtype="float32")[LABELS]
LOGITS = RNG.normal(scale=4.0, size=(6, 3)).astype("float32")
PROBS = RNG.dirichlet(np.ones(3), size=6).astype("float32")
WEIGHTS = RNG.uniform(size=6).astype("float32")


def _weighted_mean(values):
    values = np.asarray(values)
    return (values * WEIGHTS).sum() / WEIGHTS.sum()


@pytest.mark.parametrize(
    "metric, fn, y_true, y_pred",
    [
        (metrics.BinaryCrossentropy(label_smoothing=0.1),
         lambda t, p: losses.binary_crossentropy(t, p, label_smoothing=0.1), ONE_HOT, PROBS),
        (metrics.CategoricalCrossentropy(from_logits=True),
         lambda t, p: losses.categorical_crossentropy(t, p, from_logits=True), ONE_HOT, LOGITS),
        (metrics.SparseCategoricalCrossentropy(),
         losses.sparse_categorical_crossentropy, LABELS, PROBS),
        (metrics.KLDivergence(), losses.kl_divergence, ONE_HOT, PROBS),
    ],
)
def test_probabilistic_metrics_are_weighted_means_of_their_loss(metric, fn, y_true, y_pred):
    metric.update_state(y_true, y_pred, sample_weight=WEIGHTS)
    np.testing.assert_allclose(metric.result().numpy(),
                               _weighted_mean(fn(y_true, y_pred).numpy()), rtol=1e-5)


def test_sparse_crossentropy_metric_ignore_class_zeroes_and_masks_weighted_entries():
    # As Keras: ignored entries count as 0 loss, and leave the count only when weighted.
    m = metrics.SparseCategoricalCrossentropy(ignore_class=0)
    m.update_state([0, 1, 2], [[0.2, 0.3, 0.5]] * 3)
    np.testing.assert_allclose(m.result().numpy(), (-np.log(0.3) - np.log(0.5)) / 3, rtol=1e-6)
    m.reset_state()
    m.update_state([0, 1, 2], [[0.2, 0.3, 0.5]] * 3, sample_weight=[1.0, 1.0, 1.0])
    np.testing.assert_allclose(m.result().numpy(), (-np.log(0.3) - np.log(0.5)) / 2, rtol=1e-6)


def test_crossentropy_metrics_reject_bad_label_smoothing():
    with pytest.raises(ValueError, match="BinaryCrossentropy.*label_smoothing.*2.0"):
        metrics.BinaryCrossentropy(label_smoothing=2.0)


def test_probabilistic_metric_configs_match_keras_schema_and_round_trip():
    expected = {
        metrics.BinaryCrossentropy: {"name": "binary_crossentropy", "dtype": "float32",
                                     "from_logits": False, "label_smoothing": 0},
        metrics.CategoricalCrossentropy: {"name": "categorical_crossentropy",
                                          "dtype": "float32", "from_logits": False,
                                          "label_smoothing": 0, "axis": -1},
        metrics.SparseCategoricalCrossentropy: {"name": "sparse_categorical_crossentropy",
                                                "dtype": "float32", "from_logits": False,
                                                "ignore_class": None, "axis": -1},
        metrics.KLDivergence: {"name": "kl_divergence", "dtype": "float32"},
    }
    for cls, config in expected.items():
        assert cls().get_config() == config
        clone = metrics.deserialize(metrics.serialize(cls()))
        assert type(clone) is cls and clone.get_config() == config


def test_metrics_get_resolves_names_to_instances():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("MAE"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("binary_accuracy"), metrics.BinaryAccuracy)
    assert isinstance(metrics.get("bce"), metrics.BinaryCrossentropy)
    assert isinstance(metrics.get(metrics.Mean), metrics.Mean)
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    m = metrics.Sum()
    assert metrics.get(m) is m


def test_metrics_get_suggests_close_matches():
    with pytest.raises(ValueError, match="metric identifier: 'binary_acuracy'.*Did you mean"):
        metrics.get("binary_acuracy")
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 3"):
        metrics.get(3)
