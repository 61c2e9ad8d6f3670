"""Classifier registry: every name builds, fits on class indices and gives probabilities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from cvcaptcha.errors import ConfigError
from cvcaptcha.models import CLASSIFIERS, CappedPCA, classifier_name, make_classifier


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
