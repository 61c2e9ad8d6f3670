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
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from .errors import ConfigError


def _svm() -> BaseEstimator:
    # SVC(probability=True) is deprecated; Platt scaling on held-out folds with
    # one final SVC (ensemble=False) gives the same kind of probabilities.
    return CalibratedClassifierCV(
        SVC(C=10.0, gamma="scale", kernel="rbf"), method="sigmoid", cv=3, ensemble=False
    )


def _xgboost() -> BaseEstimator:
    from xgboost import XGBClassifier

    return XGBClassifier(
        n_estimators=200, max_depth=4, learning_rate=0.2, tree_method="hist",
        n_jobs=1, random_state=0,
    )


def _mlp() -> BaseEstimator:
    # Strong L2 keeps the probabilities of unseen, misplaced slices modest,
    # which the segmentation lattice relies on.
    return MLPClassifier(
        hidden_layer_sizes=(256,), alpha=1e-2, max_iter=300, early_stopping=False,
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

    Parameters of a wrapped estimator (the SVC inside the calibrated "svm")
    may be given bare: ``C=3.0`` means ``estimator__C=3.0`` when the wrapper
    has no ``C`` of its own.

    Examples
    --------
    >>> make_classifier("svm", C=3.0).estimator.C
    3.0
    >>> make_classifier("logistic", C=0.5).C
    0.5
    """
    try:
        est = CLASSIFIERS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}"
        ) from None
    own = est.get_params(deep=True)
    routed = {
        k if k in own or f"estimator__{k}" not in own else f"estimator__{k}": v
        for k, v in params.items()
    }
    try:
        return est.set_params(**routed) if routed else est
    except ValueError as exc:
        raise ConfigError(f"bad parameter for classifier {name!r}: {exc}") from None


def classifier_name(estimator: BaseEstimator) -> str:
    """The registry name whose builder makes an estimator of this type."""
    for name, build in CLASSIFIERS.items():
        if type(build()) is type(estimator):
            return name
    raise ConfigError(f"classifier {type(estimator).__name__} is not registered")
