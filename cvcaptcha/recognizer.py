"""The whole pipeline as one scikit-learn estimator.

``CaptchaRecognizer`` chains preprocess -> segment -> features -> classifier.
It learns everything about the captcha family from the training data: the
label length, the alphabet and the typical character width.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .errors import ConfigError, LabelError
from .features import char_crops, compute_features
from .io import ImageLike, check_labels, read_image
from .models import make_classifier
from .preprocess import preprocess
from .segment import make_segmenter


@dataclass
class Prediction:
    """What the recognizer read in one captcha.

    ``confidence`` is the product of the per-character probabilities: the
    model's probability that the whole text is right.
    """

    text: str
    confidence: float
    char_confidences: list[float]
    cuts: np.ndarray = field(repr=False)


class CaptchaRecognizer(BaseEstimator):
    """Read text captchas: threshold, cut into characters, classify each.

    Parameters
    ----------
    threshold : {"otsu", "adaptive"}
        Binarisation method.
    open_frac : float
        Morphological opening size as a fraction of the image height (0: off).
    speck_frac : float
        Remove ink components smaller than this fraction of height squared.
    segmenter : str
        Name of a segmentation strategy in :data:`cvcaptcha.segment.SEGMENTERS`.
    char_height, char_width : int
        Size every character crop is normalised to.
    features : str
        Name of a feature kind in :data:`cvcaptcha.features.FEATURES`.
    hog_orientations, hog_cell, hog_block : int
        HOG parameters (orientation bins, cell side in pixels, block side in cells).
    classifier : str or estimator
        A name from :data:`cvcaptcha.models.CLASSIFIERS` or an unfitted
        classifier with ``predict_proba``; its parameters are reachable as
        ``classifier__<param>``.
    verbose : bool
        Show progress bars.

    Attributes
    ----------
    n_chars_ : int
        Label length learned from the training labels.
    alphabet_ : str
        Sorted characters seen in the training labels; class ``i`` is ``alphabet_[i]``.
    segmenter_ : Segmenter
        The fitted segmentation strategy.
    classifier_ : estimator
        The fitted character classifier.
    image_shape_ : tuple of int
        Median (height, width) of the training images.
    fit_summary_ : dict
        Training set size and time.

    Examples
    --------
    >>> rec = CaptchaRecognizer(classifier="svm")
    >>> rec.set_params(classifier__C=3.0).get_params()["classifier__C"]
    3.0
    """

    def __init__(
        self,
        threshold: str = "otsu",
        open_frac: float = 0.0,
        speck_frac: float = 0.002,
        segmenter: str = "projection",
        char_height: int = 32,
        char_width: int = 24,
        features: str = "hog",
        hog_orientations: int = 9,
        hog_cell: int = 4,
        hog_block: int = 2,
        classifier: Any = "svm",
        verbose: bool = False,
    ) -> None:
        self.threshold = threshold
        self.open_frac = open_frac
        self.speck_frac = speck_frac
        self.segmenter = segmenter
        self.char_height = char_height
        self.char_width = char_width
        self.features = features
        self.hog_orientations = hog_orientations
        self.hog_cell = hog_cell
        self.hog_block = hog_block
        self.classifier = classifier
        self.verbose = verbose

    # -- parameters -------------------------------------------------------
    def set_params(self, **params: Any) -> CaptchaRecognizer:
        """Set parameters; a classifier given by name becomes its estimator so
        that ``classifier__<param>`` can follow in the same call."""
        if isinstance(params.get("classifier"), str):
            params["classifier"] = make_classifier(params["classifier"])
        elif isinstance(self.classifier, str) and any(k.startswith("classifier__") for k in params):
            self.classifier = make_classifier(self.classifier)
        return super().set_params(**params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=False)
        if deep and isinstance(self.classifier, str):
            est = make_classifier(self.classifier)
            params.update({f"classifier__{k}": v for k, v in est.get_params().items()})
        elif deep:
            params.update(
                {f"classifier__{k}": v for k, v in self.classifier.get_params().items()}
            )
        return params

    def _classifier_estimator(self) -> BaseEstimator:
        if isinstance(self.classifier, str):
            return make_classifier(self.classifier)
        if not hasattr(self.classifier, "fit"):
            raise ConfigError(f"classifier must be a name or an estimator, not {self.classifier!r}")
        return clone(self.classifier)

    # -- pipeline stages ----------------------------------------------------
    def _mask(self, image: ImageLike) -> np.ndarray:
        return preprocess(read_image(image), self.threshold, self.open_frac, self.speck_frac)

    def _features(self, mask: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        crops = char_crops(mask, cuts, (self.char_height, self.char_width))
        params = (
            {"orientations": self.hog_orientations, "cell": self.hog_cell, "block": self.hog_block}
            if self.features == "hog"
            else {}
        )
        return compute_features(crops, self.features, **params)

    def _progress(self, items: Sequence[Any], desc: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="img", disable=not self.verbose, leave=False)

    # -- estimator API -------------------------------------------------------
    def fit(self, images: Sequence[ImageLike], labels: Sequence[str]) -> CaptchaRecognizer:
        """Learn geometry, alphabet and the character classifier.

        Parameters
        ----------
        images : sequence of arrays, paths or bytes
        labels : sequence of str
            The text of each captcha; all of one length.

        Returns
        -------
        self
        """
        start = time.perf_counter()
        labels = [str(label) for label in labels]
        if len(images) != len(labels):
            raise LabelError(f"{len(images)} images but {len(labels)} labels")
        n_chars = check_labels(labels)
        alphabet = "".join(sorted(set("".join(labels))))
        masks = [self._mask(img) for img in self._progress(images, "preprocess")]
        segmenter = make_segmenter(self.segmenter).fit(masks, n_chars)
        index = {c: i for i, c in enumerate(alphabet)}
        X = np.concatenate(
            [self._features(m, segmenter.cut(m, n_chars)) for m in self._progress(masks, "features")]
        )
        y = np.array([index[c] for label in labels for c in label])
        classifier = self._classifier_estimator()
        if len(alphabet) == 1:
            raise LabelError("training labels use a single character; nothing to learn")
        classifier.fit(X, y)
        self.n_chars_ = n_chars
        self.alphabet_ = alphabet
        self.segmenter_ = segmenter
        self.classifier_ = classifier
        self.image_shape_ = tuple(int(v) for v in np.median([m.shape for m in masks], axis=0))
        self.fit_summary_ = {
            "n_images": len(labels),
            "n_chars": len(y),
            "fit_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def predict_details(self, images: Sequence[ImageLike]) -> list[Prediction]:
        """Read each captcha, with per-character confidences and the cuts used."""
        check_is_fitted(self, "classifier_")
        n = self.n_chars_
        cuts_all, feats = [], []
        for img in self._progress(images, "predict"):
            mask = self._mask(img)
            cuts = self.segmenter_.cut(mask, n)
            cuts_all.append(cuts)
            feats.append(self._features(mask, cuts))
        if not feats:
            return []
        proba = self.classifier_.predict_proba(np.concatenate(feats)).reshape(len(feats), n, -1)
        best = proba.argmax(axis=2)
        out = []
        for cuts, idx, p in zip(cuts_all, best, proba):
            conf = p[np.arange(n), idx]
            out.append(
                Prediction(
                    text="".join(self.alphabet_[i] for i in idx),
                    confidence=float(np.prod(conf)),
                    char_confidences=[float(c) for c in conf],
                    cuts=cuts,
                )
            )
        return out

    def predict(self, images: Sequence[ImageLike]) -> list[str]:
        """The text of each captcha."""
        return [p.text for p in self.predict_details(images)]

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise :class:`LabelError` for labels this model cannot produce."""
        check_is_fitted(self, "classifier_")
        allowed = set(self.alphabet_)
        for label in labels:
            if len(label) != self.n_chars_:
                raise LabelError(
                    f"label {label!r} has {len(label)} characters; the model reads {self.n_chars_}"
                )
            unknown = sorted(set(label) - allowed)
            if unknown:
                raise LabelError(
                    f"label {label!r} has characters the model cannot emit: {''.join(unknown)!r}"
                )

    def score(self, images: Sequence[ImageLike], labels: Sequence[str]) -> float:
        """Whole-captcha accuracy: the share of captchas read exactly right."""
        labels = [str(label) for label in labels]
        self.check_labels(labels)
        predicted = self.predict(images)
        return float(np.mean([p == t for p, t in zip(predicted, labels)]))


def evaluate(
    model: CaptchaRecognizer, images: Sequence[ImageLike], labels: Sequence[str]
) -> dict[str, float]:
    """Whole-captcha and character accuracy, and time per captcha.

    Returns
    -------
    dict
        ``n``, ``captcha_accuracy``, ``char_accuracy``, ``ms_per_captcha``.
    """
    labels = [str(label) for label in labels]
    model.check_labels(labels)
    start = time.perf_counter()
    predicted = model.predict(images)
    elapsed = time.perf_counter() - start
    chars = [a == b for p, t in zip(predicted, labels) for a, b in zip(p, t)]
    return {
        "n": len(labels),
        "captcha_accuracy": float(np.mean([p == t for p, t in zip(predicted, labels)])),
        "char_accuracy": float(np.mean(chars)),
        "ms_per_captcha": 1000.0 * elapsed / max(1, len(labels)),
    }
