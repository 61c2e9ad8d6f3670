"""Character classifiers, chosen by name.

Each entry of :data:`CLASSIFIERS` builds an unfitted scikit-learn compatible
classifier with ``predict_proba``. The recognizer always trains them on
integer class indices ``0..k-1`` (it encodes characters itself), which is
what XGBoost requires.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .errors import ConfigError


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, in one compiled pass: what ``scipy.special.softmax(x,
    axis=1)`` gives, for a small part of its call cost on a captcha's few rows.

    Examples
    --------
    >>> softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]])).round(3).tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    if logits.dtype.kind != "f":
        logits = logits.astype(float)
    return _softmax_rows(logits)


@numba.njit(cache=True, nogil=True)
def _softmax_rows(logits: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`softmax` of a 2-D array, in its dtype."""
    out = np.empty(logits.shape, logits.dtype)
    for i in range(logits.shape[0]):
        top = logits[i].max()
        total = 0.0
        for j in range(logits.shape[1]):
            out[i, j] = np.exp(logits[i, j] - top)
            total += out[i, j]
        out[i] /= total
    return out


def by_class(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class ``0..n_classes-1``: a model that
    never saw some class in training gives it zero.

    Examples
    --------
    >>> by_class(np.array([[0.25, 0.75]]), np.array([0, 2]), 3).tolist()
    [[0.25, 0.0, 0.75]]
    """
    if len(classes) == n_classes:  # every class seen: the usual case, no copy
        return proba
    full = np.zeros((len(proba), n_classes), proba.dtype)
    full[:, classes] = proba
    return full


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


class TinyMLP(ClassifierMixin, BaseEstimator):
    """A small network reader: trained by scikit-learn, applied by numpy.

    Projects the inputs on their first ``n_components`` principal axes,
    standardises them, and trains ``n_models``
    :class:`~sklearn.neural_network.MLPClassifier` nets of one hidden layer
    (seeds ``random_state``, ``random_state + 1``, ...; in parallel) whose
    logits are averaged. Everything before the hidden layer's ReLU is linear
    and an average of logits is one wider network, so the fitted model is
    five float32 arrays (the standardisation folded into them): prediction is
    three small matrix products and a softmax, with none of scikit-learn's
    per-call input checks. That is what makes a sub-millisecond captcha and
    a sub-megabyte model file possible.

    Parameters
    ----------
    hidden : int
        Hidden units per net.
    alpha : float
        L2 penalty; strong values keep the probabilities of unseen, misplaced
        windows modest.
    n_components : int or None
        Principal axes kept (capped by the data's size); None: no projection.
    batch_size, learning_rate : int, float
        Adam's minibatch size and step: large batches train several times
        faster than scikit-learn's 200 and read as well.
    max_iter : int
        Training epochs per net.
    n_models : int
        Nets averaged. Four rather than two steadies the reader: with the
        recognizer's defaults, Kaggle seeds 0-4 read as many or more held-out
        captchas on every split (0.980 against 0.978 over the five), at about
        0.02 ms more a captcha.
    n_jobs : int
        Nets trained at once.
    random_state : int
    whiten : bool
        Standardise each principal axis (True), or scale all axes by one
        factor (False), which keeps the weak axes' noise as small as it is
        instead of as loud as the strong axes.

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_ : int
    projection_ : ndarray of float32 or None
        ``(n_features_in_, k)`` principal axes.
    hidden_weights_, hidden_bias_, output_weights_, output_bias_ : ndarray of float32
        The averaged network: ``softmax(relu(X @ projection_ @ hidden_weights_
        + hidden_bias_) @ output_weights_ + output_bias_)``.
    loss_curve_ : list of float
        Training loss per epoch of the first net.

    Examples
    --------
    >>> X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]] * 10)
    >>> y = np.array([0, 1, 1, 0] * 10)
    >>> net = TinyMLP(hidden=16, alpha=1e-4, n_components=None, max_iter=500, n_models=1)
    >>> net.fit(X, y).predict(X[:4]).tolist()
    [0, 1, 1, 0]
    """

    def __init__(
        self, hidden: int = 256, alpha: float = 0.1, n_components: int | None = 100,
        batch_size: int = 512, learning_rate: float = 2e-3, max_iter: int = 200,
        n_models: int = 4, n_jobs: int = 2, random_state: int = 0, whiten: bool = True,
    ) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.n_components = n_components
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.n_models = n_models
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.whiten = whiten

    def fit(self, X: np.ndarray, y: np.ndarray) -> TinyMLP:
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.projection_ = None
        if self.n_components is not None:
            k = min(self.n_components, *X.shape)
            pca = PCA(n_components=k, random_state=self.random_state).fit(X)
            self.projection_ = pca.components_.T.astype(np.float32)
            X = X @ pca.components_.T  # uncentred: the centring is folded into the bias
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        if self.projection_ is not None and not self.whiten:
            scale = np.full_like(scale, np.sqrt(np.mean(scale**2)))
        Z = ((X - mean) / scale).astype(np.float32)
        nets = [
            MLPClassifier(
                hidden_layer_sizes=(self.hidden,), alpha=self.alpha,
                batch_size=min(self.batch_size, len(Z)), learning_rate_init=self.learning_rate,
                max_iter=self.max_iter, random_state=self.random_state + i,
            )
            for i in range(self.n_models)
        ]
        nets = Parallel(n_jobs=min(self.n_jobs, self.n_models))(
            delayed(_fit_quietly)(net, Z, y) for net in nets
        )
        self.classes_ = nets[0].classes_
        w1 = np.hstack([net.coefs_[0] for net in nets]) / scale[:, None]
        self.hidden_weights_ = w1.astype(np.float32)
        self.hidden_bias_ = (
            np.concatenate([net.intercepts_[0] for net in nets]) - mean @ w1
        ).astype(np.float32)
        self.output_weights_ = (np.vstack([net.coefs_[1] for net in nets]) / len(nets)).astype(
            np.float32
        )
        self.output_bias_ = np.mean([net.intercepts_[1] for net in nets], axis=0).astype(
            np.float32
        )
        if len(self.classes_) == 2:  # one logistic output: make it two softmax logits
            self.output_weights_ = np.hstack([-self.output_weights_, self.output_weights_]) / 2
            self.output_bias_ = np.concatenate([-self.output_bias_, self.output_bias_]) / 2
        self.loss_curve_ = list(nets[0].loss_curve_)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Averaged logits, one column per class."""
        X = np.asarray(X, dtype=np.float32)
        if self.projection_ is not None:
            X = X @ self.projection_
        hidden = X @ self.hidden_weights_ + self.hidden_bias_
        return np.maximum(hidden, 0, out=hidden) @ self.output_weights_ + self.output_bias_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def _fit_quietly(net: MLPClassifier, X: np.ndarray, y: np.ndarray) -> MLPClassifier:
    """Fit one net (in a worker process): a net stopped at ``max_iter`` still
    reads well, and its loss curve shows how far it got."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return net.fit(X, y)


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
    "tinymlp": TinyMLP,
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
