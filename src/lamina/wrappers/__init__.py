"""`lamina.wrappers`: lamina models as scikit-learn estimators (`keras.wrappers`).

scikit-learn is optional (`pip install lamina[sklearn]`); without it this package
imports, and creating an estimator raises an `ImportError` that says what to install.
"""

from lamina.wrappers.sklearn_wrapper import (
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
