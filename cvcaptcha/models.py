"""Character classifiers, chosen by name.

Each entry of :data:`CLASSIFIERS` builds an unfitted scikit-learn compatible
classifier with ``predict_proba``. The recognizer always trains them on
integer class indices ``0..k-1`` (it encodes characters itself), which is
what XGBoost requires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .errors import ConfigError


class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA to at most ``n_components`` dimensions.

    Plain :class:`~sklearn.decomposition.PCA` refuses more components than
    samples or features; a captcha family with small crops or a tiny training
    set should still train, with as many components as its data holds.

    Examples
    --------
    >>> CappedPCA(64).fit(np.eye(5)).transform(np.eye(5)).shape
    (5, 5)
    """

    def __init__(self, n_components: int = 64, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> CappedPCA:
        k = min(self.n_components, *np.shape(X))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self.pca_.transform(X)


def _svm() -> BaseEstimator:
    # PCA to 64 dimensions first: as accurate on character windows, and the
    # support vectors (the model's size and its predict time) shrink ~8x.
    # SVC(probability=True) is deprecated; calibrate one final SVC (ensemble=False)
    # on held-out folds instead. Temperature scaling, one softmax over the SVC's
    # decision values, keeps the SVC's own ranking of the classes: per-class
    # sigmoids over its vote-shaped one-vs-rest scores can misrank a class (seen
    # reading most 3s as 2s on one Kaggle training set).
    svm = CalibratedClassifierCV(
        SVC(C=10.0, gamma="scale", kernel="rbf"),
        method="temperature", cv=2, ensemble=False, n_jobs=2,
    )
    return Pipeline([("pca", CappedPCA(64)), ("svm", svm)])


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

    Parameters of a wrapped estimator (the SVC inside the "svm" pipeline)
    may be given bare: ``C=3.0`` means ``svm__estimator__C=3.0`` when exactly
    one nested parameter ends in ``__C``.

    Examples
    --------
    >>> make_classifier("svm", C=3.0).get_params()["svm__estimator__C"]
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
    routed = {}
    for key, value in params.items():
        nested = [k for k in own if k.endswith(f"__{key}")]
        routed[nested[0] if key not in own and len(nested) == 1 else key] = value
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
