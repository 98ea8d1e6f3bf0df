"""The scikit-learn wrappers pass scikit-learn's estimator checks that Keras' pass, and
behave as Keras' (model from a callable or a compiled Model, warm start, fit kwargs)."""

import importlib
import inspect
import pickle
import sys

import keras
import numpy as np
import pytest
import sklearn
from sklearn.utils.estimator_checks import parametrize_with_checks

import lamina
from lamina.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer


def dense_model(X, y, loss, out_activation="softmax", hidden=(10,), seed=None):
    """An MLP sized from the data, as in Keras' wrapper tests; `seed` makes the build and
    the fit reproducible (scikit-learn's checks compare two fits)."""
    if seed is not None:
        lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((X.shape[1],))
    x = inputs
    for units in hidden:
        x = lamina.layers.Dense(units, activation="relu")(x)
    outputs = lamina.layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=out_activation)(x)
    model = lamina.Model(inputs, outputs)
    model.compile(loss=loss, optimizer="rmsprop")
    return model


# Keras' own list of the checks its wrappers are expected to fail (keras/src/wrappers).
EXPECTED_FAILED_CHECKS = {
    "SKLearnClassifier": {
        "check_classifiers_regression_target": "not an issue in sklearn>=1.6",
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
        "check_classifiers_one_label_sample_weights": "0 sample weight is not ignored",
        "check_classifiers_classes":
            "with small test cases the estimator returns not all classes sometimes",
        "check_classifier_data_not_an_array": "This test assumes reproducibility in fit.",
        "check_supervised_y_2d": "This test assumes reproducibility in fit.",
        "check_fit_idempotent": "This test assumes reproducibility in fit.",
        "check_classifiers_train": "decision_function can return both probabilities and logits",
    },
    "SKLearnRegressor": {
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
    },
    "SKLearnTransformer": {
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
    },
}

QUIET = {"verbose": 0}


@parametrize_with_checks(
    [
        SKLearnClassifier(dense_model, model_kwargs={"loss": "categorical_crossentropy",
                                                      "hidden": (20, 20, 20)},
                          fit_kwargs={"epochs": 5, **QUIET}),
        # NOTE: Keras' test keeps the softmax output here, which makes every prediction 1.0;
        # a linear output with a seeded build checks real predictions.
        SKLearnRegressor(dense_model, model_kwargs={"loss": "mse", "out_activation": None,
                                                     "seed": 1}, fit_kwargs=QUIET),
        SKLearnTransformer(dense_model, model_kwargs={"loss": "mse", "out_activation": None,
                                                       "seed": 1}, fit_kwargs=QUIET),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS[type(estimator).__name__],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    X, y = sklearn.datasets.make_classification(
        n_samples=40, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
        random_state=0)
    return X.astype("float32"), y


def _compiled_model(n_features, n_outputs, activation=None):
    inputs = lamina.Input((n_features,))
    model = lamina.Model(inputs, lamina.layers.Dense(n_outputs, activation=activation)(inputs))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_classifier_predicts_the_argmax_of_decision_function_as_classes(blobs):
    X, y = blobs
    clf = SKLearnClassifier(_compiled_model(4, 3, "softmax"), fit_kwargs=QUIET).fit(X, y + 10)
    scores = clf.decision_function(X)
    assert scores.shape == (40, 3)
    assert clf.classes_.tolist() == [10, 11, 12]
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])


def test_a_given_model_is_cloned_unless_warm_start(blobs):
    X, y = blobs
    model = _compiled_model(4, 3, "softmax")
    before = [w.copy() for w in model.get_weights()]
    clf = SKLearnClassifier(model, fit_kwargs=QUIET).fit(X, y)
    assert clf.model_ is not model
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)

    warm = SKLearnClassifier(model, warm_start=True, fit_kwargs=QUIET).fit(X, y)
    assert warm.model_ is model
    assert not np.array_equal(before[0], model.get_weights()[0])
    trained = [w.copy() for w in model.get_weights()]
    warm.fit(X, y, epochs=1)  # continues from the trained weights, on the same model
    assert warm.model_ is model
    assert not np.array_equal(trained[0], model.get_weights()[0])


def test_fit_arguments_override_fit_kwargs_without_changing_them(blobs):
    X, y = blobs
    fit_kwargs = {"epochs": 1, **QUIET}
    clf = SKLearnClassifier(_compiled_model(4, 3, "softmax"), fit_kwargs=fit_kwargs)
    clf.fit(X, y, epochs=3)
    assert clf.epoch_ == 3 and len(clf.history_["loss"]) == 3
    assert fit_kwargs == {"epochs": 1, **QUIET}


def test_model_kwargs_reach_the_building_function(blobs):
    X, y = blobs
    seen = {}

    def build(X, y, units):
        seen.update(units=units, X=X.shape, y=y.shape)
        return _compiled_model(X.shape[1], units, "softmax")

    SKLearnClassifier(build, model_kwargs={"units": 3}, fit_kwargs=QUIET).fit(X, y)
    assert seen == {"units": 3, "X": (40, 4), "y": (40, 3)}  # y arrives one-hot


def test_an_uncompiled_model_is_refused_with_the_fix():
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
    with pytest.raises(RuntimeError, match=r"compiled lamina Model .*model.compile"):
        SKLearnRegressor(model).fit(np.ones((4, 2)), np.ones(4))


def test_classifier_refuses_continuous_targets():
    with pytest.raises(ValueError, match="Only binary and multiclass target types"):
        SKLearnClassifier(_compiled_model(2, 1)).fit(np.ones((4, 2)), [0.5, 1.5, 2.5, 3.5])


def test_wrappers_need_scikit_learn_and_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(lamina, "wrappers", lamina.wrappers)  # restored after the reimport
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [m for m in sys.modules if m.startswith("lamina.wrappers")]:
        monkeypatch.delitem(sys.modules, name)
    wrappers = importlib.import_module("lamina.wrappers")
    with pytest.raises(ImportError, match=r"pip install lamina\[sklearn\]"):
        wrappers.SKLearnRegressor(model=None)


@pytest.mark.parametrize("name", ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"])
def test_signatures_equal_keras(name):
    assert inspect.signature(getattr(lamina.wrappers, name)) == inspect.signature(
        getattr(keras.wrappers, name))


def test_set_fit_request_needs_metadata_routing_and_records_the_request():
    estimator = SKLearnRegressor(dense_model)
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        estimator.set_fit_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        assert estimator.set_fit_request(sample_weight=True) is estimator
        assert estimator.get_metadata_routing().fit.requests == {"sample_weight": True}


def test_a_fitted_estimator_pickles_with_its_model(blobs):
    X, y = blobs
    clf = SKLearnClassifier(_compiled_model(4, 3, "softmax"), fit_kwargs=QUIET).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), clf.decision_function(X))
    assert restored.history_ == clf.history_
