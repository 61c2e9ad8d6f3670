"""Character classifiers, chosen by name.

Each entry of :data:`CLASSIFIERS` builds an unfitted scikit-learn compatible
classifier with ``predict_proba``. The recognizer always trains them on
integer class indices ``0..k-1`` (it encodes characters itself), which is
what XGBoost requires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from .errors import ConfigError


def _svm() -> BaseEstimator:
    return SVC(C=10.0, gamma="scale", kernel="rbf", probability=True, random_state=0)


def _xgboost() -> BaseEstimator:
    from xgboost import XGBClassifier

    return XGBClassifier(
        n_estimators=200, max_depth=4, learning_rate=0.2, tree_method="hist",
        n_jobs=1, random_state=0,
    )


def _mlp() -> BaseEstimator:
    return MLPClassifier(
        hidden_layer_sizes=(128,), alpha=1e-3, max_iter=300, early_stopping=False,
        random_state=0,
    )


def _logistic() -> BaseEstimator:
    return LogisticRegression(C=1.0, max_iter=2000)


CLASSIFIERS: dict[str, Callable[[], BaseEstimator]] = {
    "svm": _svm,
    "xgboost": _xgboost,
    "mlp": _mlp,
    "logistic": _logistic,
}


def make_classifier(name: str, **params: Any) -> BaseEstimator:
    """Build a registered classifier by name, with parameters overriding its defaults.

    Examples
    --------
    >>> make_classifier("svm", C=3.0).C
    3.0
    """
    try:
        est = CLASSIFIERS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}"
        ) from None
    return est.set_params(**params) if params else est


def classifier_name(estimator: BaseEstimator) -> str:
    """The registry name whose builder makes an estimator of this type."""
    for name, build in CLASSIFIERS.items():
        if type(build()) is type(estimator):
            return name
    raise ConfigError(f"classifier {type(estimator).__name__} is not registered")
