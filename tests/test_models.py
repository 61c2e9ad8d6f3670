"""Classifier registry: every name builds, fits on class indices and gives probabilities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special
from sklearn.exceptions import ConvergenceWarning

from cvcaptcha.errors import ConfigError
from cvcaptcha.models import CLASSIFIERS, CappedPCA, classifier_name, make_classifier, softmax


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = rng.normal(size=(90, 6)) + y[:, None] * 3.0
    return X, y


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_classifier_fits_indices_and_predicts_proba_without_warnings(name, blobs) -> None:
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # 90 points: not the point here
        clf = make_classifier(name).fit(X, y)
        proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba.argmax(axis=1) == y).mean() > 0.9
    assert classifier_name(clf) == name


def test_bare_svc_parameters_reach_the_wrapped_svc() -> None:
    assert make_classifier("svm", C=3.0).get_params()["svm__estimator__C"] == 3.0
    assert make_classifier("svm", n_components=8).get_params()["pca__n_components"] == 8
    assert make_classifier("logistic", C=0.5).C == 0.5


def test_capped_pca_keeps_what_small_data_holds() -> None:
    X = np.random.default_rng(0).random((6, 40))
    assert CappedPCA(64).fit(X).transform(X).shape == (6, 6)
    assert CappedPCA(4).fit(X).transform(X).shape == (6, 4)


def test_unknown_name_or_parameter_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="choose from"):
        make_classifier("forest")
    with pytest.raises(ConfigError, match="bad parameter"):
        make_classifier("mlp", nonsense=1)


def _reference_net(Z: np.ndarray, y: np.ndarray, alpha: float):
    """The one scikit-learn net a one-net TinyMLP of 8 units trains on inputs ``Z``."""
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(
            (8,), alpha=alpha, batch_size=512, learning_rate_init=2e-3, max_iter=50,
            random_state=0,
        ).fit(Z, y)


def test_tiny_mlp_is_the_trained_net_with_standardisation_folded_in(blobs) -> None:
    from cvcaptcha.models import TinyMLP

    X, y = blobs
    X = X * np.array([1, 10, 100, 0.1, 1, 1]) + 5  # scales the net must not see
    tiny = TinyMLP(hidden=8, alpha=1e-3, n_components=None, max_iter=50, n_models=1, n_jobs=1)
    tiny.fit(X, y)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    net = _reference_net(Z.astype(np.float32), y, alpha=1e-3)
    np.testing.assert_allclose(tiny.predict_proba(X), net.predict_proba(Z), atol=1e-4)
    assert tiny.hidden_weights_.dtype == np.float32 and tiny.n_features_in_ == 6


def test_tiny_mlp_projection_is_pca_then_standardisation(blobs) -> None:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from cvcaptcha.models import TinyMLP

    X, y = blobs
    tiny = TinyMLP(hidden=8, n_components=3, max_iter=50, n_models=1, n_jobs=1).fit(X, y)
    assert tiny.projection_.shape == (6, 3)
    pca = PCA(3, random_state=0).fit(X)
    Z = StandardScaler().fit_transform(pca.transform(X)).astype(np.float32)
    net = _reference_net(Z, y, alpha=0.1)
    np.testing.assert_allclose(tiny.predict_proba(X), net.predict_proba(Z), atol=1e-4)


def test_tiny_mlp_without_whitening_keeps_the_axes_relative_spreads(blobs) -> None:
    from sklearn.decomposition import PCA

    from cvcaptcha.models import TinyMLP

    X, y = blobs
    tiny = TinyMLP(hidden=8, n_components=3, max_iter=50, n_models=1, n_jobs=1, whiten=False)
    tiny.fit(X, y)
    P = PCA(3, random_state=0).fit_transform(X)
    Z = (P / np.sqrt(np.mean(P.var(axis=0)))).astype(np.float32)  # one scale for every axis
    assert Z.std(axis=0)[0] > 2 * Z.std(axis=0)[2]
    net = _reference_net(Z, y, alpha=0.1)
    np.testing.assert_allclose(tiny.predict_proba(X), net.predict_proba(Z), atol=1e-4)


def test_tiny_mlp_averages_its_nets_logits_and_handles_two_classes(blobs) -> None:
    from cvcaptcha.models import TinyMLP

    X, y = blobs
    kw = {"hidden": 8, "n_components": None, "max_iter": 30}
    one = TinyMLP(**kw, n_models=1, n_jobs=1, random_state=0).fit(X, y)
    other = TinyMLP(**kw, n_models=1, n_jobs=1, random_state=1).fit(X, y)
    both = TinyMLP(**kw, n_models=2, n_jobs=2, random_state=0).fit(X, y)
    assert both.hidden_weights_.shape == (6, 16)
    mean = (one.decision_function(X) + other.decision_function(X)) / 2
    np.testing.assert_allclose(both.decision_function(X), mean, atol=1e-4)
    binary = TinyMLP(hidden=8, alpha=1e-3, max_iter=500, n_models=2, n_jobs=1)
    binary.fit(X[y < 2], y[y < 2])
    proba = binary.predict_proba(X[y < 2])
    assert proba.shape == (60, 2) and (proba.argmax(axis=1) == y[y < 2]).mean() > 0.9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_equals_scipy_and_keeps_dtype_and_input(dtype) -> None:
    # large enough that exp overflows without the shift
    logits = (np.random.default_rng(0).normal(size=(7, 5)) * 300).astype(dtype)
    before = logits.copy()
    ours = softmax(logits)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, scipy.special.softmax(logits, axis=1), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(logits, before)
