"""The whole pipeline as one scikit-learn estimator.

``CaptchaRecognizer`` chains preprocess -> segment -> features -> classifier.
It learns everything about the captcha family from the training data: the
label length, the alphabet and the typical character width.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression

from .errors import ConfigError, LabelError
from .features import (
    char_crops,
    check_features,
    compute_features,
    hog_map,
    ink_windows,
    map_columns,
    window_features,
    window_scores,
)
from .io import ImageLike, check_labels, read_image
from .models import make_classifier, softmax
from .preprocess import ink_levels, preprocess, resize_height, rotate_scale, thicken
from .segment import Scorer, Segmenter, make_segmenter


@dataclass
class Prepared:
    """One captcha after the front end: everything segmentation and features read.

    All arrays are at the recognizer's working height; ``scale`` maps their
    coordinates back to the original image (divide by it).
    """

    mask: np.ndarray
    scale: float
    ink: np.ndarray
    #: HOG map of the ink levels, one row per block column (see
    #: :func:`~cvcaptcha.features.map_columns`)
    hog: np.ndarray


def prepare(image: np.ndarray, params: dict[str, Any]) -> Prepared:
    """Resize, binarise, measure ink levels and take the HOG map of one grey image.

    ``params`` holds the recognizer's front-end parameters (see
    :meth:`CaptchaRecognizer.front_params`); nothing here depends on the
    classifier, which is what makes the result cacheable across classifier
    settings and folds.
    """
    gray, scale = resize_height(image, params["height"]) if params["height"] else (image, 1.0)
    mask = preprocess(
        gray, params["threshold"], params["open_frac"], params["speck_frac"], params["line_frac"]
    )
    return _with_hog(mask, scale, ink_levels(gray), params)


def _with_hog(mask: np.ndarray, scale: float, ink: np.ndarray, params: dict[str, Any]) -> Prepared:
    """A prepared captcha from its mask, scale and ink levels, with the HOG map of that ink."""
    hog = hog_map(ink, params["hog_orientations"], params["hog_cell"], params["hog_block"])
    return Prepared(mask, scale, ink, map_columns(hog))


#: Version of what :func:`prepare` returns; bumped whenever its contents change
#: (2: HOG maps kept as :func:`~cvcaptcha.features.map_columns`).
PREPARED_VERSION: int = 2


def prepare_all(
    images: list[np.ndarray], params: dict[str, Any], version: int = PREPARED_VERSION
) -> list[Prepared]:
    """:func:`prepare` for every image (the unit the recognizer's ``memory`` caches).

    ``version`` is only part of the cache key: joblib hashes this function's
    arguments and code, not :func:`prepare`'s, so without it a cache written by
    an older version would be read back.
    """
    return [prepare(img, params) for img in images]


def stroke_variant(prep: Prepared, params: dict[str, Any], pixels: int) -> Prepared:
    """The captcha with every stroke ``pixels`` thicker (or thinner, when
    negative): a grey dilation or erosion of its ink, and of its mask.

    Training copies cut from it teach the reader the pen widths a captcha
    family varies by, which shifted copies alone do not.
    """
    return _with_hog(thicken(prep.mask, pixels), prep.scale, thicken(prep.ink, pixels), params)


def warp_variant(prep: Prepared, params: dict[str, Any], angle: float, scale: float) -> Prepared:
    """The captcha turned by ``angle`` degrees and scaled by ``scale`` about its
    centre: glyphs drawn at other slants and sizes."""
    return _with_hog(
        rotate_scale(prep.mask, angle, scale, nearest=True), prep.scale,
        rotate_scale(prep.ink, angle, scale), params,
    )


#: Largest turn (degrees) and relative size change of ``warp_jitter`` copies.
WARP_DEGREES: float = 8.0
WARP_SCALE: float = 0.1


#: Parameters of the front end: a change to any of them invalidates cached preparation.
FRONT_PARAMS: tuple[str, ...] = (
    "height", "threshold", "open_frac", "speck_frac", "line_frac",
    "hog_orientations", "hog_cell", "hog_block",
)

#: Strategies ``segmenter="auto"`` chooses from, the first winning ties.
AUTO_SEGMENTERS: tuple[str, ...] = ("window", "components")
#: Most training and validation captchas ``segmenter="auto"`` uses for its choice.
AUTO_SIZES: tuple[int, int] = (200, 150)

#: The locator's window is a character plus this fraction of its width on each
#: side: enough of the neighbours to tell a centred window from a straddling one.
LOCATOR_CONTEXT: float = 0.2


def softmax_logits(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from a linear model's scores; a single column is
    a binary model's log-odds of its second class.

    Examples
    --------
    >>> softmax_logits(np.zeros((1, 3))).round(3).tolist()
    [[0.333, 0.333, 0.333]]
    >>> softmax_logits(np.zeros((1, 1))).tolist()
    [[0.5, 0.5]]
    """
    if logits.shape[1] == 1:
        logits = np.hstack([np.zeros_like(logits), logits])
    return softmax(logits)


def _by_class(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class ``0..n_classes-1``: a model that
    never saw some class in training gives it zero.

    Examples
    --------
    >>> _by_class(np.array([[0.25, 0.75]]), np.array([0, 2]), 3).tolist()
    [[0.25, 0.0, 0.75]]
    """
    if len(classes) == n_classes:  # every class seen: the usual case, no copy
        return proba
    full = np.zeros((len(proba), n_classes), proba.dtype)
    full[:, classes] = proba
    return full


@numba.njit(cache=True, nogil=True)
def _window_starts(
    cuts: np.ndarray, cell: int, cells: int, last: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through the recognizer
    """First HOG cell column of the ``cells``-wide window centred on each of
    ``cuts``, moved into ``0..last``, in one compiled pass (numpy takes six
    calls for a few numbers, and a prediction asks twice)."""
    rows = np.empty(len(cuts), np.int64)
    for i in range(len(cuts)):
        start = round((cuts[i, 0] + cuts[i, 1]) / (2 * cell) - cells / 2)  # half to even
        rows[i] = min(max(start, 0), last)
    return rows


@numba.njit(cache=True, nogil=True)
def _best_logs(
    table: np.ndarray, rows: np.ndarray, n_chars: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through the recognizer
    """Log of the best class's probability (floored at 1e-6) in each of a
    locator table's ``rows``, repeated for every character position: the
    free-decoding score of each candidate window, in one compiled pass."""
    out = np.empty((len(rows), n_chars))
    for i in range(len(rows)):
        out[i, :] = np.log(max(table[rows[i]].max(), np.float32(1e-6)))
    return out


@numba.njit(cache=True, nogil=True)
def _vote(
    proba: np.ndarray, table: np.ndarray, rows: np.ndarray, weight: float
) -> np.ndarray:  # pragma: no cover - compiled; tested through the recognizer
    """Each character's ``proba`` times the locator table's row for it
    (floored at 1e-9) to the power ``weight``, normalised to sum to one.

    The table leaves the reject class out; renormalising its rows over the
    characters first would only scale each product, which the last step undoes.
    """
    out = np.empty(proba.shape)
    for i in range(len(rows)):
        located = table[rows[i]]
        for j in range(proba.shape[1]):
            out[i, j] = proba[i, j] * max(located[j], np.float32(1e-9)) ** np.float32(weight)
        out[i] /= out[i].sum()
    return out


def _seen_rows(intervals: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Row of each of ``cuts`` in ``intervals`` (windows a scorer read), or -1
    where it is not among them as it stands.

    Examples
    --------
    >>> _seen_rows(np.array([[0, 10], [2, 12], [4, 14]]), np.array([[2, 12], [3, 13]])).tolist()
    [1, -1]
    """
    return _match_rows(np.asarray(intervals, np.int64), np.asarray(cuts, np.int64))


@numba.njit(cache=True, nogil=True)
def _match_rows(
    intervals: np.ndarray, cuts: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through _seen_rows
    """:func:`_seen_rows` in one compiled pass over a few dozen windows."""
    rows = np.full(len(cuts), -1, np.int64)
    for i in range(len(cuts)):
        for j in range(len(intervals)):
            if intervals[j, 0] == cuts[i, 0] and intervals[j, 1] == cuts[i, 1]:
                rows[i] = j
                break
    return rows


@numba.njit(cache=True, nogil=True)
def _joint_logs(
    proba: np.ndarray, table: np.ndarray, rows: np.ndarray, weight: float, targets: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through the recognizer
    """Recentring's scores: ``log(proba) + weight * log(table[rows])`` (both
    floored at 1e-6) of class ``targets[k]`` for column ``k``, or of the best
    class in every column when ``targets`` is empty (free decoding), in one
    compiled pass instead of a dozen numpy calls."""
    n_chars = max(len(targets), 1)
    out = np.empty((len(proba), n_chars))
    logs = np.empty(proba.shape[1])
    for i in range(len(proba)):
        located = table[rows[i]]
        for c in range(proba.shape[1]):
            logs[c] = np.log(max(proba[i, c], 1e-6)) + weight * np.log(
                max(located[c], np.float32(1e-6))
            )
        if len(targets):
            for k in range(n_chars):
                out[i, k] = logs[targets[k]]
        else:
            out[i, 0] = logs.max()
    return out


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
    height : int
        Every captcha is first scaled to this many rows (aspect kept), so the
        learned geometry and HOG cells mean the same at any input size; 0
        keeps the original size.
    threshold : {"otsu", "adaptive"}
        Binarisation method.
    open_frac : float
        Morphological opening size as a fraction of the image height (0: off).
    speck_frac : float
        Remove ink components smaller than this fraction of height squared.
    line_frac : float
        Remove near-horizontal noise lines thinner than this fraction of the
        height (a vertical opening; 0: off).
    segmenter : str
        Name of a segmentation strategy in :data:`cvcaptcha.segment.SEGMENTERS`,
        or ``"auto"``. A guided strategy (``"window"``, ``"lattice"``) lets the
        classifier choose the cuts. ``"auto"`` tries each of
        :data:`AUTO_SEGMENTERS` on a seeded split of the training set (at most
        ``AUTO_SIZES`` captchas to train and to validate on) and keeps the one
        that reads more held-out captchas: touching glyphs at a steady pitch
        favour ``"window"``, well separated glyphs at an irregular pitch
        ``"components"``.
    segmenter_params : dict or None
        Constructor parameters of segmentation strategies, by strategy name,
        e.g. ``{"window": {"pitch_weight": 1.0}}``; a strategy not named
        keeps its defaults. Searchable as one parameter (a grid of such dicts).
    align_rounds : int
        For guided strategies: after training on the strategy's unguided cuts,
        re-cut every training captcha by forced alignment (the lattice path
        constrained to the known label) and retrain, this many times. Each
        round gives the classifier cleaner, better-centred characters.
    augment : int
        Extra training copies of each character, its slice moved sideways at
        random by up to ``jitter`` of the learned width: teaches the classifier
        the slightly misplaced cuts it will meet at prediction time.
    jitter : float
        Largest edge move of ``augment``, as a fraction of the character width.
    stroke_jitter : float
        Share of the reading classifier's ``augment`` copies cut from the
        captcha with its strokes one pixel thicker or thinner (half each, see
        :func:`stroke_variant`): pen width varies within a family. 0: off.
    warp_jitter : float
        Share of the reading classifier's ``augment`` copies cut from the
        captcha turned by up to :data:`WARP_DEGREES` and scaled by up to
        :data:`WARP_SCALE` (see :func:`warp_variant`). 0: off.
    shift_reads : int
        At prediction, each character is also read with its window moved
        sideways, ``shift_reads`` times on each side (evenly up to
        ``shift_span``), and the reader's probabilities are averaged: a cut a
        few pixels off is then read as well as a centred one. On five Kaggle
        splits (the same trained models, before recentring) 0 / 1 / 2 read
        0.945 / 0.965 / 0.964 of the held-out captchas, but on synthetic
        families whose cuts are less exact (``components``) 1 read 0-2.5
        points fewer than 2; with recentring 0 reads 0.973 against 0.979.
    shift_span : float
        Largest move of ``shift_reads``, as a fraction of the character width.
    shift_below : float
        A character whose centred read's best class is less sure than this is
        unsure. With a segmenter that recentres (see
        :meth:`~cvcaptcha.segment.Window.recentre`), a captcha with an unsure
        character is recentred by the reader; then each character still
        unsure is also read at the moved windows (``shift_reads``) and the
        reads are averaged. A sure reading is kept as it is: most characters
        are read surely, so this skips most of the reader's work. Above 1:
        every captcha and character (see README for the figures).
    locator_weight : float
        For guided strategies: each character's reading multiplies the
        reader's probabilities by the locator's class probabilities at the
        chosen window raised to this power (then normalised), and recentring
        (see :meth:`~cvcaptcha.segment.Window.recentre`) adds this much of the
        locator's log-probabilities to the reader's. The locator is a second,
        differently built classifier (linear, on the HOG map), so a small vote
        breaks the reader's near-ties (see README for the figures). 0: the
        reader alone.
    reject : float
        For guided strategies: misplaced slices (straddling two characters)
        added to training per character, as an extra reject class; 0: none.
    reject_overlap : float
        A slice is misplaced when its intersection over union with every
        character of the aligned cuts is below this.
    char_height, char_width : int
        Size every character crop is normalised to.
    context : float
        Each slice is widened by this fraction of the learned character width
        on both sides before cropping (window features: the window is this
        much wider than a character on each side): overlapping characters are
        cut off by any partition, and seeing the edges of the neighbours helps
        the classifier tell a well placed slice from a misplaced one.
    features : str
        ``"hogmap"`` (windows of one HOG map of the whole captcha's ink
        levels, centred on each slice) or a crop feature kind in
        :data:`cvcaptcha.features.FEATURES` (``"hog"``, ``"pixels"``: computed
        on each slice's ink cropped and scaled to ``char_height`` x ``char_width``).
    hog_orientations, hog_cell, hog_block : int
        HOG parameters (orientation bins, cell side in pixels, block side in cells).
    classifier : str or estimator
        A name from :data:`cvcaptcha.models.CLASSIFIERS` or an unfitted
        classifier with ``predict_proba``; its parameters are reachable as
        ``classifier__<param>``.
    random_state : int
        Seed of the random choices made in training (jittered and reject slices).
    memory : None, str or joblib.Memory
        Cache of the front end (resizing, binarisation, HOG maps), keyed by the
        images and the front-end parameters, like scikit-learn's
        ``Pipeline(memory=...)``: a grid search then prepares each image once
        per front-end setting instead of once per classifier setting and fold.
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
        The fitted character classifier. Trained on class indices: ``i`` is
        ``alphabet_[i]``; with a guided segmenter and ``reject > 0`` there is
        one more class, ``len(alphabet_)``, for misplaced slices.
    image_shape_ : tuple of int
        Median (height, width) of the training images.
    scale_ : float
        Median working-height scale of the training images.
    fit_summary_ : dict
        Training set size, segmenter used (with the validation accuracy of each
        candidate when ``segmenter="auto"``), forced-alignment rounds run and time.

    Examples
    --------
    >>> rec = CaptchaRecognizer(classifier="logistic")
    >>> rec.set_params(classifier__C=3.0).get_params()["classifier__C"]
    3.0
    """

    def __init__(
        self,
        height: int = 40,
        threshold: str = "otsu",
        open_frac: float = 0.0,
        speck_frac: float = 0.002,
        line_frac: float = 0.07,
        segmenter: str = "auto",
        segmenter_params: dict[str, dict[str, float]] | None = None,
        align_rounds: int = 1,
        augment: int = 6,
        jitter: float = 0.2,
        stroke_jitter: float = 0.0,
        warp_jitter: float = 0.0,
        shift_reads: int = 2,
        shift_span: float = 0.2,
        shift_below: float = 0.95,
        locator_weight: float = 0.2,
        reject: float = 4.0,
        reject_overlap: float = 0.5,
        char_height: int = 24,
        char_width: int = 20,
        context: float = 0.35,
        features: str = "ink",
        hog_orientations: int = 9,
        hog_cell: int = 4,
        hog_block: int = 2,
        classifier: Any = "tinymlp",
        random_state: int = 0,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        self.height = height
        self.threshold = threshold
        self.open_frac = open_frac
        self.speck_frac = speck_frac
        self.line_frac = line_frac
        self.segmenter = segmenter
        self.segmenter_params = segmenter_params
        self.align_rounds = align_rounds
        self.augment = augment
        self.jitter = jitter
        self.stroke_jitter = stroke_jitter
        self.warp_jitter = warp_jitter
        self.shift_reads = shift_reads
        self.shift_span = shift_span
        self.shift_below = shift_below
        self.locator_weight = locator_weight
        self.reject = reject
        self.reject_overlap = reject_overlap
        self.char_height = char_height
        self.char_width = char_width
        self.context = context
        self.features = features
        self.hog_orientations = hog_orientations
        self.hog_cell = hog_cell
        self.hog_block = hog_block
        self.classifier = classifier
        self.random_state = random_state
        self.memory = memory
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

    def _make_segmenter(self, name: str) -> Segmenter:
        """The named strategy with its ``segmenter_params``."""
        params = self.segmenter_params or {}
        if not isinstance(params, dict) or not all(isinstance(p, dict) for p in params.values()):
            raise ConfigError(
                "segmenter_params must map strategy names to parameter dicts, "
                f"not {params!r}"
            )
        return make_segmenter(name, **params.get(name, {}))

    # -- pipeline stages ----------------------------------------------------
    def front_params(self) -> dict[str, Any]:
        """The parameters the front end (:func:`prepare`) depends on."""
        return {k: getattr(self, k) for k in FRONT_PARAMS}

    def _prepare(self, images: Sequence[ImageLike], desc: str) -> list[Prepared]:
        """Read and prepare every image, through the ``memory`` cache when set."""
        check_features(self.features)
        grays = [read_image(img) for img in self._progress(images, desc)]
        if self.memory is None:
            return prepare_all(grays, self.front_params())
        from joblib import Memory

        memory = self.memory if isinstance(self.memory, Memory) else Memory(self.memory, verbose=0)
        return memory.cache(prepare_all)(grays, self.front_params())

    def _window_cells(self, context: float) -> int:
        """Width in HOG cells of a window holding a character plus ``context``."""
        width = self.segmenter_.char_width_ if hasattr(self.segmenter_, "char_width_") else 0.0
        cells = int(round(width * (1 + 2 * context) / self.hog_cell))
        return max(self.hog_block, cells)

    def _starts(self, cuts: np.ndarray, context: float, last: int) -> np.ndarray:
        """First HOG cell column of the window centred on each slice, moved into
        ``0..last``."""
        cells = self._window_cells(context)
        return _window_starts(np.asarray(cuts), self.hog_cell, cells, last)

    def _features(self, prep: Prepared, cuts: np.ndarray) -> np.ndarray:
        """The reading classifier's features of each slice (see ``features``)."""
        width = getattr(self.segmenter_, "char_width_", 0.0)
        if self.features == "hogmap":
            return self._hog_windows(prep, cuts, self.context)
        if self.features == "ink":
            size = (self.char_height, self.char_width)
            # the centres: sum / 2 is cuts.mean(axis=1) for a fraction of its cost
            return ink_windows(prep.ink, cuts.sum(axis=1) / 2, width * (1 + 2 * self.context), size)
        margin = int(round(self.context * width))
        if margin:
            cuts = np.clip(cuts + np.array([-margin, margin]), 0, prep.mask.shape[1])
        crops = char_crops(prep.mask, cuts, (self.char_height, self.char_width))
        params = (
            {"orientations": self.hog_orientations, "cell": self.hog_cell, "block": self.hog_block}
            if self.features == "hog"
            else {}
        )
        return compute_features(crops, self.features, **params)

    def _progress(self, items: Sequence[Any], desc: str) -> Any:
        """``items``, behind a progress bar when verbose and long enough to need one."""
        if not self.verbose or len(items) < 50:
            return items  # a disabled bar still costs a tenth of a fast prediction
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="img", leave=False)

    # -- estimator API -------------------------------------------------------
    def fit(self, images: Sequence[ImageLike], labels: Sequence[str]) -> CaptchaRecognizer:
        """Learn geometry, alphabet and the character classifier.

        The classifier first learns from the segmenter's own cuts. With a
        guided segmenter those are only a bootstrap: each of ``align_rounds``
        then re-cuts every training captcha by forced alignment (the lattice
        path scored with the label's classes), refits the width and margin
        priors on the aligned cuts and retrains the classifier on the cleaner characters.

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
        check_labels(labels)
        if len(set("".join(labels))) == 1:
            raise LabelError("training labels use a single character; nothing to learn")
        for strategy in self.segmenter_params or {}:  # refuse a bad recipe before the work
            self._make_segmenter(strategy)
        preps = self._prepare(images, "prepare")
        summary: dict[str, Any] = {}
        name = self.segmenter
        if name == "auto":
            scores = self._auto_scores(preps, labels)
            name = max(scores, key=scores.get)  # type: ignore[arg-type]
            summary["auto_captcha_accuracy"] = scores
        rounds = self._fit_prepared(preps, labels, name)
        self.fit_summary_ = {
            "n_images": len(labels),
            "n_chars": len(labels) * self.n_chars_,
            "segmenter": name,
            **summary,
            "align_rounds": rounds,
            "fit_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def _fit_prepared(self, preps: list[Prepared], labels: list[str], segmenter_name: str) -> int:
        """Fit on prepared captchas (labels already checked) with one named segmenter;
        returns the alignment rounds run."""
        n_chars = len(labels[0])
        alphabet = "".join(sorted(set("".join(labels))))
        masks = [p.mask for p in preps]
        segmenter = self._make_segmenter(segmenter_name).fit(masks, n_chars)
        index = {c: i for i, c in enumerate(alphabet)}
        targets = np.array([[index[c] for c in label] for label in labels])
        cuts = [segmenter.cut(m, n_chars) for m in masks]
        self.n_chars_ = n_chars
        self.alphabet_ = alphabet
        self.segmenter_ = segmenter
        rng = np.random.default_rng(self.random_state)
        rounds = self.align_rounds if segmenter.guided else 0
        locator = None
        if segmenter.guided:
            locator = self._fit_locator(preps, cuts, targets, rng)
        for _ in range(rounds):
            tables = self._tables(preps)
            cuts = [
                segmenter.cut(p.mask, n_chars, scorer=self._scorer(table, t))
                for p, table, t in zip(preps, tables, self._progress(targets, "align"))
            ]
            segmenter.learn_cuts(masks, cuts)
            locator = self._fit_locator(preps, cuts, targets, rng, locator)
        self._fit_reader(preps, cuts, targets, rng)
        if segmenter.guided:
            self._fit_recentred(preps, cuts, targets, rng)
        self.image_shape_ = tuple(
            int(v) for v in np.median([self._original_shape(p) for p in preps], axis=0)
        )
        self.scale_ = float(np.median([p.scale for p in preps]))
        return rounds

    def _fit_recentred(
        self, preps: list[Prepared], cuts: list[np.ndarray], targets: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Retrain the reader on the training cuts recentred by forced alignment
        with the reader itself (see :meth:`~cvcaptcha.segment.Segmenter.recentre`),
        when the segmenter recentres: it then learns each character where it
        will read it at prediction, not where the locator's coarser grid put it."""
        if not self.segmenter_.recentres:
            return
        moved = [
            self.segmenter_.recentre(p.mask, c, self._reader_scorer(p, table, t))
            for p, c, table, t in zip(
                preps, cuts, self._tables(preps), self._progress(targets, "recentre")
            )
        ]
        self._fit_reader(preps, moved, targets, rng)

    def _fit_reader(
        self, preps: list[Prepared], cuts: list[np.ndarray], targets: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Train the reading classifier on the characters ``cuts`` give, with
        ``augment`` moved copies of each."""
        X, y = self._training_set(
            preps, cuts, targets, rng, self._features, self.augment, reject=False,
            strokes=self.stroke_jitter, warps=self.warp_jitter,
        )
        self.classifier_ = self._classifier_estimator().fit(X, y)

    def _auto_scores(self, preps: list[Prepared], labels: list[str]) -> dict[str, float]:
        """Held-out captcha accuracy of each of :data:`AUTO_SEGMENTERS`, trained on
        at most ``AUTO_SIZES[0]`` captchas of a seeded split, validated on at most
        ``AUTO_SIZES[1]`` (a quarter of the set when it is small)."""
        order = np.random.default_rng(self.random_state).permutation(len(labels))
        n_val = min(AUTO_SIZES[1], len(labels) // 4)
        if n_val == 0:
            return {AUTO_SEGMENTERS[0]: float("nan")}
        val, train = order[:n_val], order[n_val:][: AUTO_SIZES[0]]
        scores = {}
        for name in self._progress(AUTO_SEGMENTERS, "choose segmenter"):
            # One jittered copy per character is enough to rank the strategies.
            trial = clone(self).set_params(
                segmenter=name, augment=min(self.augment, 1), verbose=False
            )
            trial._fit_prepared([preps[i] for i in train], [labels[i] for i in train], name)
            texts = trial._texts([preps[i] for i in val])
            scores[name] = float(np.mean([t == labels[i] for t, i in zip(texts, val)]))
        return scores

    @staticmethod
    def _original_shape(prep: Prepared) -> tuple[int, int]:
        """(height, width) of the image a prepared captcha came from."""
        h, w = prep.mask.shape
        return int(round(h / prep.scale)), int(round(w / prep.scale))

    def _training_set(
        self,
        preps: list[Prepared],
        cuts: list[np.ndarray],
        targets: np.ndarray,
        rng: np.random.Generator,
        features: Callable[[Prepared, np.ndarray], np.ndarray],
        augment: int,
        reject: bool,
        strokes: float = 0.0,
        warps: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features and class indices of the characters ``cuts`` give.

        Each character also appears ``augment`` more times, moved sideways by up
        to ``jitter`` of its width, a ``strokes`` share of these cut from the
        captcha with thicker or thinner strokes (:func:`stroke_variant`) and a
        ``warps`` share from it turned and scaled at random (:func:`warp_variant`);
        with ``reject``, misplaced lattice slices (straddling two characters)
        are added as one more class, index ``len(alphabet_)``.
        """
        n_reject = int(round(self.reject * self.n_chars_)) if reject else 0
        spread = self.jitter * getattr(self.segmenter_, "char_width_", 0.0)
        params = self.front_params()
        # shares of the moved copies cut from each kind of variant, and how to make it
        makers: list[tuple[float, Callable[[Prepared], Prepared]]] = [
            (strokes / 2, lambda p: stroke_variant(p, params, 1)),
            (strokes / 2, lambda p: stroke_variant(p, params, -1)),
            (warps, lambda p: warp_variant(
                p, params, rng.uniform(-WARP_DEGREES, WARP_DEGREES),
                1 + rng.uniform(-WARP_SCALE, WARP_SCALE),
            )),
        ]
        shares = [share for share, _ in makers]
        X, y = [], []
        for prep, cut, target in zip(preps, cuts, targets):
            slices, labels = [cut], [target]
            if augment and spread >= 0.5:
                moved = np.repeat(cut, augment, axis=0)
                moved = moved + np.round(rng.uniform(-spread, spread, (len(moved), 1))).astype(int)
                moved = np.clip(moved, 0, prep.mask.shape[1])
                moved_labels = np.repeat(target, augment)
                if any(shares):
                    kind = rng.choice(len(makers) + 1, len(moved), p=[1 - sum(shares), *shares])
                    for k, (_, make) in enumerate(makers, start=1):
                        if (kind == k).any():
                            X.append(features(make(prep), moved[kind == k]))
                            y.append(moved_labels[kind == k])
                    moved, moved_labels = moved[kind == 0], moved_labels[kind == 0]
                slices.append(moved)
                labels.append(moved_labels)
            if n_reject:
                slices.append(self._misplaced(prep.mask, cut, n_reject, rng))
                labels.append(np.full(len(slices[-1]), len(self.alphabet_)))
            X.append(features(prep, np.concatenate(slices)))
            y.append(np.concatenate(labels))
        return np.concatenate(X), np.concatenate(y)

    def _locator_features(self, prep: Prepared, cuts: np.ndarray) -> np.ndarray:
        """HOG-map windows the locator reads, centred on each slice."""
        return self._hog_windows(prep, cuts, LOCATOR_CONTEXT)

    def _hog_windows(self, prep: Prepared, cuts: np.ndarray, context: float) -> np.ndarray:
        """HOG-map windows centred on each slice, a character plus ``context`` wide."""
        blocks = self._window_cells(context) - self.hog_block + 1
        starts = self._starts(cuts, context, len(prep.hog) - 1)
        return window_features(prep.hog, starts, blocks)

    def _fit_locator(
        self,
        preps: list[Prepared],
        cuts: list[np.ndarray],
        targets: np.ndarray,
        rng: np.random.Generator,
        previous: LogisticRegression | None = None,
    ) -> LogisticRegression:
        """Train the locator: a linear model over HOG-map windows that scores
        where characters are centred, for guided segmenters; a ``previous``
        locator (an earlier alignment round's) is the starting point.

        It learns every character class plus a reject class of misplaced
        windows, so a window between two characters scores low. Kept as plain
        arrays (``locator_coef_``, ``locator_intercept_``, ``locator_classes_``)
        and applied with numpy: scoring every window position of a captcha is
        then one small matrix product. One jittered copy per character is enough
        here (the reading classifier gets ``augment``), which keeps this fit fast.
        """
        X, y = self._training_set(
            preps, cuts, targets, rng, self._locator_features, min(self.augment, 1), reject=True
        )
        # A locator that only bootstraps an alignment round need not converge, and
        # the final one ranks window positions well before lbfgs has converged.
        max_iter = 100 if previous is None and self.align_rounds else 200
        if previous is None or previous.coef_.shape[1] != X.shape[1]:
            # none yet, or the re-learned pitch changed the window size
            previous = LogisticRegression(C=1.0, warm_start=True)
        model = previous.set_params(max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        # C order: window_scores reads it as one row per (class, window column)
        self.locator_coef_ = np.ascontiguousarray(model.coef_, dtype=np.float32)
        self.locator_intercept_ = model.intercept_.astype(np.float32)
        self.locator_classes_ = model.classes_.astype(int)
        return model

    def _misplaced(
        self, mask: np.ndarray, cuts: np.ndarray, count: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Up to ``count`` random lattice slices overlapping no character of ``cuts`` well."""
        intervals = self.segmenter_.lattice(mask, self.n_chars_)[0]
        inter = np.minimum(intervals[:, None, 1], cuts[None, :, 1]) - np.maximum(
            intervals[:, None, 0], cuts[None, :, 0]
        )
        union = np.maximum(intervals[:, None, 1], cuts[None, :, 1]) - np.minimum(
            intervals[:, None, 0], cuts[None, :, 0]
        )
        iou = np.clip(inter, 0, None) / np.maximum(union, 1)
        pool = intervals[iou.max(axis=1) < self.reject_overlap]
        return pool[rng.choice(len(pool), min(count, len(pool)), replace=False)]

    def _class_proba(self, X: np.ndarray) -> np.ndarray:
        """The reading classifier's probabilities, columns following ``alphabet_``."""
        proba = self.classifier_.predict_proba(X).astype(np.float64)
        return _by_class(proba, self.classifier_.classes_, len(self.alphabet_))

    def _tables(self, preps: list[Prepared]) -> list[np.ndarray | None]:
        """The locator's character probabilities at every window position of each
        captcha (see :func:`~cvcaptcha.features.window_scores`); ``None`` for
        each when the segmenter is not guided (there is no locator).

        Every candidate a guided segmenter can ask about is one of these
        windows, so segmentation then only looks rows up. Columns follow
        ``alphabet_``; the reject class is left out, so a row sums to less than
        one where the window looks misplaced.
        """
        if not self.segmenter_.guided:
            return [None] * len(preps)
        blocks = self._window_cells(LOCATOR_CONTEXT) - self.hog_block + 1
        tables: list[np.ndarray | None] = []
        for p in preps:
            logits = window_scores(p.hog, self.locator_coef_, self.locator_intercept_, blocks)
            proba = softmax_logits(logits)
            tables.append(_by_class(proba, self.locator_classes_, len(self.alphabet_) + 1)[:, :-1])
        return tables

    def _scorer(self, table: np.ndarray, targets: np.ndarray | None = None) -> Scorer:
        """A lattice scorer from a captcha's locator table: log-probability of the
        best class, or of ``targets[k]`` at position ``k`` for forced alignment."""

        def score(mask: np.ndarray, intervals: np.ndarray) -> np.ndarray:
            rows = self._table_rows(table, intervals)
            if targets is None:  # free decoding reads one number per window
                return _best_logs(table, rows, self.n_chars_)
            return np.log(np.clip(table[rows][:, targets], 1e-6, 1.0))

        return score

    def _reader_scorer(
        self, prep: Prepared, table: np.ndarray, targets: np.ndarray | None = None,
        seen: dict[str, np.ndarray] | None = None,
    ) -> Scorer:
        """A finer scorer for :meth:`~cvcaptcha.segment.Segmenter.recentre`: the
        reader's log-probabilities of each window plus ``locator_weight`` times
        the locator's, of the best class (free decoding) or of ``targets[k]`` at
        position ``k`` (forced alignment). With ``seen`` (windows already read:
        ``intervals`` left to right and their ``proba``), those windows are not
        read again, and ``seen`` then holds the windows scored (see :func:`_seen_rows`)."""

        wanted = np.empty(0, np.int64) if targets is None else np.asarray(targets, np.int64)

        def score(mask: np.ndarray, intervals: np.ndarray) -> np.ndarray:
            proba = self._window_reads(prep, intervals, seen)
            rows = self._table_rows(table, intervals)
            logs = _joint_logs(proba, table, rows, float(self.locator_weight), wanted)
            if targets is None:  # one column: every position scores the best class
                return np.broadcast_to(logs, (len(logs), self.n_chars_))
            return logs

        return score

    def _window_reads(
        self, prep: Prepared, intervals: np.ndarray, seen: dict[str, np.ndarray] | None
    ) -> np.ndarray:
        """The reader's probabilities of the windows ``intervals``, reading only
        those not in ``seen`` (when given, it then holds these windows)."""
        if not seen:
            proba = self._class_proba(self._features(prep, intervals))
        else:
            rows = _seen_rows(seen["intervals"], intervals)
            proba = seen["proba"][rows]  # rows of -1 are overwritten next
            new = rows < 0
            if new.any():
                proba[new] = self._class_proba(self._features(prep, intervals[new]))
        if seen is not None:
            seen["intervals"], seen["proba"] = intervals, proba
        return proba

    def _table_rows(self, table: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """Rows of a captcha's locator table that read the windows centred on ``cuts``."""
        return self._starts(cuts, LOCATOR_CONTEXT, len(table) - 1)

    def _locate(
        self, preps: list[Prepared], tables: list[np.ndarray | None]
    ) -> list[tuple[np.ndarray, bool | None, np.ndarray | None]]:
        """Cuts (working scale) and exact-count status of each captcha, and,
        when the segmenter recentres, the reader's probabilities of the cut
        windows (else None); a guided segmenter reads the locator's ``tables``.

        When the segmenter recentres, every captcha is read at the locator's
        cuts (one reader call for the batch), and a captcha with a character
        read less surely than ``shift_below`` is recentred by the reader (see
        :meth:`~cvcaptcha.segment.Segmenter.recentre`): a sure reading keeps
        the locator's cuts and saves the recentring's reads.
        """
        located = [
            self.segmenter_.cut_status(p.mask, self.n_chars_)
            if table is None
            else self.segmenter_.cut_status(p.mask, self.n_chars_, self._scorer(table))
            for p, table in zip(preps, tables)
        ]
        if not self.segmenter_.recentres or not preps:
            return [(cuts, status, None) for cuts, status in located]
        centred = self._centred_reads(preps, [cuts for cuts, _ in located])
        found: list[tuple[np.ndarray, bool | None, np.ndarray | None]] = []
        for p, table, (cuts, status), proba in zip(preps, tables, located, centred):
            if table is None or proba.max(axis=1).min() >= self.shift_below:
                found.append((cuts, status, proba))
                continue
            seen = {"intervals": cuts, "proba": proba}
            scorer = self._reader_scorer(p, table, None, seen)
            moved = self.segmenter_.recentre(p.mask, cuts, scorer)
            # a window moved inside the image was not read as it stands: read here
            found.append((moved, status, self._window_reads(p, moved, seen)))
        return found

    def _segment(
        self, preps: list[Prepared], tables: list[np.ndarray | None] | None = None
    ) -> list[tuple[np.ndarray, bool | None]]:
        """Cuts (working scale) and exact-count status of each captcha; a guided
        segmenter reads the locator's ``tables`` (computed when not given)."""
        if tables is None:
            tables = self._tables(preps)
        return [(cuts, status) for cuts, status, _ in self._locate(preps, tables)]

    def _read(self, preps: list[Prepared]) -> list[tuple[np.ndarray, np.ndarray, bool | None]]:
        """Cuts (working scale), class probabilities and exact-count status of each
        captcha."""
        tables = self._tables(preps)
        found = self._locate(preps, tables)
        cuts = [c for c, _, _ in found]
        read = [pr for _, _, pr in found if pr is not None]  # while recentring
        probas = self._reads(preps, cuts, np.stack(read) if read else None)
        return [
            (cuts, self._with_locator(pr, table, cuts), status)
            for (cuts, status, _), pr, table in zip(found, probas, tables)
        ]

    def _reads(
        self, preps: list[Prepared], cuts: list[np.ndarray], centred: np.ndarray | None = None
    ) -> np.ndarray:
        """The reader's probabilities of each character of each captcha,
        shape ``(captchas, n_chars_, classes)``: its centred read (``centred``
        when already read), averaged with the moved reads (see ``shift_reads``)
        where that read is not sure enough (see ``shift_below``; one more
        reader call for the batch)."""
        if centred is None:
            centred = self._centred_reads(preps, cuts)
        return self._moved_reads(preps, cuts, centred)

    def _centred_reads(self, preps: list[Prepared], cuts: list[np.ndarray]) -> np.ndarray:
        """The reader's probabilities of the windows centred on ``cuts``, shape
        ``(captchas, n_chars_, classes)``: one reader call for the batch."""
        if not preps:
            return np.empty((0, self.n_chars_, len(self.alphabet_)))
        X = np.concatenate([self._features(p, c) for p, c in zip(preps, cuts)])
        return self._class_proba(X).reshape(len(preps), self.n_chars_, -1)

    def _moved_reads(
        self, preps: list[Prepared], cuts: list[np.ndarray], proba: np.ndarray
    ) -> np.ndarray:
        """``proba`` (centred reads, changed in place) with each character read
        less surely than ``shift_below`` averaged with its moved reads."""
        weak = proba.max(axis=2) < self.shift_below
        if not self.shift_reads or not weak.any():  # the usual case on a single captcha
            return proba
        moves = self._read_offsets()
        moves = moves[moves != 0]
        if not len(moves):  # a character too narrow to move
            return proba
        X = np.concatenate([
            # each weak character's moved windows, one after another
            self._features(
                p,
                np.minimum(np.maximum(c[w][:, None] + moves[None, :, None], 0), p.mask.shape[1])
                .reshape(-1, 2),
            )
            for p, c, w in zip(preps, cuts, weak)
            if w.any()
        ])
        moved = self._class_proba(X).reshape(-1, len(moves), proba.shape[2]).sum(axis=1)
        proba[weak] = (proba[weak] + moved) / (len(moves) + 1)
        return proba

    def _with_locator(
        self, proba: np.ndarray, table: np.ndarray | None, cuts: np.ndarray
    ) -> np.ndarray:
        """The reader's ``proba`` of each character times the locator's class
        probabilities at its window to the power ``locator_weight``, normalised
        (see ``locator_weight``); unchanged without a locator table."""
        if table is None or not self.locator_weight:
            return proba
        return _vote(proba, table, self._table_rows(table, cuts), self.locator_weight)

    def _read_offsets(self) -> np.ndarray:
        """Sideways moves (pixels) of the reader's windows: ``shift_reads`` on
        each side, evenly up to ``shift_span`` of the character width, and none."""
        width = getattr(self.segmenter_, "char_width_", 0.0)
        step = self.shift_span * width / max(self.shift_reads, 1)
        # plain Python: a handful of numbers, and numpy's per-call cost shows here
        moves = {round(k * step) for k in range(-self.shift_reads, self.shift_reads + 1)}
        return np.array(sorted(moves))

    def _texts(self, preps: list[Prepared]) -> list[str]:
        """The text read in each prepared captcha."""
        return [
            "".join(self.alphabet_[i] for i in proba.argmax(axis=1))
            for _, proba, _ in self._read(preps)
        ]

    def _check_fitted(self) -> None:
        """Raise scikit-learn's ``NotFittedError`` before fitting (a plain
        attribute test: :func:`~sklearn.utils.validation.check_is_fitted` costs
        a tenth of a fast prediction)."""
        if not hasattr(self, "classifier_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first"
            )

    def predict_details(self, images: Sequence[ImageLike]) -> list[Prediction]:
        """Read each captcha, with per-character confidences and the cuts used
        (column intervals in the original image's pixels)."""
        self._check_fitted()
        preps = self._prepare(images, "predict")
        out = []
        for prep, (cuts, proba, _) in zip(preps, self._read(preps)):
            # plain Python on the few numbers: numpy's per-call cost shows here
            conf = proba.max(axis=1).tolist()
            out.append(
                Prediction(
                    text="".join([self.alphabet_[i] for i in proba.argmax(axis=1).tolist()]),
                    confidence=math.prod(conf),
                    char_confidences=conf,
                    cuts=np.round(cuts / prep.scale).astype(int),
                )
            )
        return out

    def char_features(self, images: Sequence[ImageLike]) -> list[np.ndarray]:
        """The classifier's input for each captcha: one float32 row per character
        of the cuts the model reads, shape ``(n_chars_, d)``."""
        self._check_fitted()
        preps = self._prepare(images, "features")
        return [self._features(p, cuts) for p, (cuts, _) in zip(preps, self._segment(preps))]

    def cut_status(self, images: Sequence[ImageLike]) -> list[tuple[np.ndarray, bool | None]]:
        """The cuts of each captcha (original pixels) and whether the segmenter
        found the label length by itself (see
        :meth:`cvcaptcha.segment.Segmenter.cut_status`)."""
        self._check_fitted()
        preps = self._prepare(images, "segment")
        return [
            (np.round(cuts / p.scale).astype(int), status)
            for p, (cuts, status) in zip(preps, self._segment(preps))
        ]

    def predict(self, images: Sequence[ImageLike]) -> list[str]:
        """The text of each captcha."""
        return [p.text for p in self.predict_details(images)]

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise :class:`LabelError` for labels this model cannot produce."""
        self._check_fitted()
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
