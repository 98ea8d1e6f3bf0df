"""scikit-learn estimators around lamina models: a classifier, a regressor, a transformer.

Each builds its model in `fit` (from a callable, or by cloning a compiled `Model`),
trains it with `Model.fit` and answers `predict`/`transform` with `Model.predict`.
"""

import os
import tempfile
import warnings

import numpy as np

from lamina.models.cloning import clone_model
from lamina.models.model import Model
from lamina.saving.saving_api import load_model, save_model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.utils.metadata_routing import MetadataRequest
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:
    # NOTE: placeholders keep the classes definable; `__init__` raises the install hint.
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


class _PickledModel:
    """A model held as the bytes of its `.keras` archive, for pickling a fitted estimator
    (a trained model holds compiled step functions, which pickle cannot store)."""

    def __init__(self, model):
        self.trained = bool(getattr(model.optimizer, "built", False))
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            save_model(model, path, include_optimizer=self.trained)
            with open(path, "rb") as f:
                self.archive = f.read()

    def load(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as f:
                f.write(self.archive)
            with warnings.catch_warnings():
                if not self.trained:
                    # NOTE: a never-trained model has no optimizer state; loading builds a
                    # fresh optimizer and would warn that the (empty) saved state is skipped.
                    warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
                return load_model(path)


def _require_sklearn(owner):
    if sklearn is None:
        raise ImportError(
            f"{owner} needs scikit-learn. Install it with `pip install lamina[sklearn]` "
            "(or `pip install scikit-learn`)."
        )


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes 1-D targets 2-D (a column) and back, for encoders that want 2-D input."""

    def fit(self, y):
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        check_is_fitted(self)
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class _SKLearnBase(BaseEstimator):
    """What the three wrappers share: building, checking and fitting the model.

    Args:
        model: a compiled `Model` (cloned with `clone_model` before each fit unless
            `warm_start`), or a callable `model(X=X, y=y, **model_kwargs)` returning one.
        warm_start: reuse the fitted model's weights in the next `fit` (and train the
            given `Model` itself rather than a clone).
        model_kwargs: extra keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `Model.fit`; those given to `fit` win.

    Attributes:
        model_: the fitted model.
        history_: the `History.history` dict of the last fit.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # weight initialization and shuffling
        return tags

    def __sklearn_clone__(self):
        # NOTE: as Keras: a clone shares `model` (a Model is cloned at fit time anyway)
        # rather than deep-copying a torch module.
        return type(self)(**self.get_params(deep=False))

    def __getstate__(self):
        state = super().__getstate__()
        return {key: _PickledModel(value) if isinstance(value, Model) else value
                for key, value in state.items()}

    def __setstate__(self, state):
        super().__setstate__({key: value.load() if isinstance(value, _PickledModel) else value
                              for key, value in state.items()})

    @property
    def epoch_(self):
        """The number of epochs of the last fit (0 before any)."""
        return len(next(iter(getattr(self, "history_", {}).values()), ()))

    def set_fit_request(self, **aliases):
        """Request metadata (e.g. `sample_weight=True`) for `fit` through scikit-learn's
        metadata routing (enabled with `sklearn.set_config(enable_metadata_routing=True)`).
        """
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_fit_request needs metadata routing: enable it with "
                "`sklearn.set_config(enable_metadata_routing=True)`."
            )
        self._metadata_request = MetadataRequest(owner=type(self).__name__)
        for param, alias in aliases.items():
            self._metadata_request.fit.add_request(param=param, alias=alias)
        return self

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            return self.model if self.warm_start else clone_model(self.model)
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Build (or reuse) the model and train it on `X`, `y`.

        Args:
            X: array-like of shape `(n_samples, n_features)`.
            y: array-like of shape `(n_samples,)` or `(n_samples, n_outputs)`.
            **kwargs: passed to `Model.fit` (over `fit_kwargs`).

        Returns:
            self.
        """
        X, y = validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        if not (isinstance(model, Model) and model.compiled and model.loss is not None
                and model.optimizer is not None):
            raise RuntimeError(
                f"{type(self).__name__}: the model must be a compiled lamina Model with a "
                "loss and an optimizer; call `model.compile(optimizer=..., loss=...)` "
                f"(in the model-building function too). Received: {model!r}"
            )
        history = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.model_ = model
        self.history_ = dict(history.history)
        return self

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        """The model's predictions for `X`, in the targets' form (classes for a classifier)."""
        raw = self._predict_raw(X)  # first: it raises NotFittedError before a fit
        return self._target_encoder.inverse_transform(raw)

    def _process_target(self, y, reset=False):
        type_of_target(y, raise_unknown=True)  # Keras' error for unusable targets
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)


class SKLearnClassifier(ClassifierMixin, _SKLearnBase):
    """A scikit-learn classifier around a lamina model trained on one-hot targets.

    `predict` returns the class with the largest output; `decision_function` returns the
    raw outputs. Arguments and attributes as the shared base (`model`, `warm_start`,
    `model_kwargs`, `fit_kwargs`; `model_`, `history_`), plus `classes_`.

    >>> import numpy as np, lamina
    >>> def build(X, y):
    ...     inputs = lamina.Input((X.shape[1],))
    ...     model = lamina.Model(inputs, lamina.layers.Dense(y.shape[1], "softmax")(inputs))
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> X, y = np.random.rand(16, 3), np.arange(16) % 2
    >>> clf = SKLearnClassifier(build, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, y)
    >>> clf.predict(X).shape, clf.classes_.tolist()
    ((16,), [0, 1])
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def decision_function(self, X):
        """The model's raw outputs for `X` (one column per class)."""
        return self._predict_raw(X)

    def _process_target(self, y, reset=False):
        target_type = type_of_target(y, raise_unknown=True)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                "Only binary and multiclass target types are supported. "
                f"Target type: {target_type}"
            )
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
            self._target_encoder = make_pipeline(
                _TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
        return self._target_encoder.transform(y)


class SKLearnRegressor(RegressorMixin, _SKLearnBase):
    """A scikit-learn regressor around a lamina model (targets passed through).

    Arguments and attributes as `SKLearnClassifier`'s, without `classes_`.

    >>> import numpy as np, lamina
    >>> def build(X, y):
    ...     inputs = lamina.Input((X.shape[1],))
    ...     model = lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.random.rand(16, 3)
    >>> reg = SKLearnRegressor(build, fit_kwargs={"epochs": 1, "verbose": 0})
    >>> reg.fit(X, X.sum(axis=1)).predict(X).shape
    (16,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLearnBase):
    """A scikit-learn transformer (in scikit-learn's sense) whose `transform` is the
    fitted model's prediction, e.g. an embedding step in a `Pipeline`.

    Arguments and attributes as `SKLearnRegressor`'s.

    >>> import numpy as np, lamina
    >>> def build(X, y):
    ...     inputs = lamina.Input((X.shape[1],))
    ...     model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.random.rand(16, 3)
    >>> step = SKLearnTransformer(build, fit_kwargs={"epochs": 1, "verbose": 0})
    >>> step.fit(X, X.sum(axis=1)).transform(X).shape
    (16, 2)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # outputs are floatx, whatever X is
        return tags

    def transform(self, X):
        """The fitted model's outputs for `X`, shape `(n_samples, n_outputs)`."""
        return self._predict_raw(X)
