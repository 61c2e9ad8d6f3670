"""The whole pipeline as one scikit-learn estimator.

``CaptchaRecognizer`` chains prepare -> locate -> read -> text, each stage in
a module of its own (see the class docstring). It learns everything about the
captcha family from the training data: the label length, the alphabet and the
character geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from .clean import check_clean
from .counts import AUTO_THRESHOLDS, choose_front
from .errors import ConfigError, LabelError
from .features import check_features
from .fitting import FittingMixin
from .io import ImageLike, read_image
from .length import (
    LengthPrior,
    count_log_likelihood,
    length_features,
    located,
    pitch_steps,
    read_best_lengths,
    read_log_score,
)
from .locate import locate
from .locator import Locator
from .models import make_classifier
from .prediction import Prediction, Read
from .prepare import FRONT_PARAMS, Prepared, prepare_all
from .preprocess import band_share
from .reads import Reader
from .segment import Segmenter, make_segmenter
from .windows import CharWindows

#: ``band="auto"`` crops to the text band when the text of the median training
#: captcha fills less than this share of its height.
BAND_SHARE: float = 0.5


class CaptchaRecognizer(FittingMixin, BaseEstimator):
    """Read text captchas: prepare, locate the characters, read each.

    The pipeline, one module a stage: the front end prepares each captcha
    (:mod:`~cvcaptcha.prepare`); the characters are located
    (:mod:`~cvcaptcha.locate`: a segmentation strategy of
    :mod:`~cvcaptcha.segment`, guided by the locator of
    :mod:`~cvcaptcha.locator` and recentred by the reader where it is unsure);
    the reader reads a window around each (:mod:`~cvcaptcha.windows`,
    :mod:`~cvcaptcha.reads`) and the best class of each is the text. Training
    learns everything from the labels: length, alphabet, geometry, both
    classifiers (:mod:`~cvcaptcha.fitting`, :mod:`~cvcaptcha.training`) and,
    with ``"auto"``, the strategy and the reader's input (:mod:`~cvcaptcha.auto`).

    Parameters
    ----------
    height : int
        Every captcha is first scaled to this many rows (aspect kept), so the
        learned geometry and HOG cells mean the same at any input size; 0
        keeps the original size.
    clean : str
        Noise taken out of the grey image first (:data:`~cvcaptcha.clean.CLEANERS`):
        ``"none"``, ``"thin"`` (strokes thinner than glyphs: scratches),
        ``"lines"`` (long straight lines across) or ``"join"`` (dotted strokes
        made solid). ``"auto"``: tried on
        held-out training captchas after the segmenter and the reader's input,
        kept only if it reads clearly more (``clean_`` says what was chosen).
    band : bool or "auto"
        Crop each captcha to the strip of rows its text fills (see
        :func:`~cvcaptcha.preprocess.crop_band`) before scaling it to
        ``height``, so glyphs drawn small in a tall image, or in sizes that
        vary from captcha to captcha, come out one size. ``"auto"``: when the
        text of the median training captcha fills less than :data:`BAND_SHARE`
        of its height (``band_`` says what was chosen).
    threshold : {"auto", "otsu", "triangle", "adaptive"}
        Binarisation method (:func:`~cvcaptcha.preprocess.binarize`). ``"auto"``
        (the default): Otsu, unless the triangle threshold's masks show as many
        blobs as the labels have characters clearly more often in the training
        captchas (:mod:`~cvcaptcha.counts`; ``threshold_`` says what was
        chosen).
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
        :data:`~cvcaptcha.auto.AUTO_SEGMENTERS` on a seeded split of the
        training set (see :mod:`~cvcaptcha.auto`) and keeps the one that reads
        more held-out captchas.
    segmenter_params : dict or None
        Constructor parameters of segmentation strategies, by strategy name,
        e.g. ``{"window": {"pitch_weight": 1.0}}``; a strategy not named
        keeps its defaults. Searchable as one parameter (a grid of such dicts).
    lengths : None, int, str or sequence of int
        The label lengths captchas may have: ``"4-6"``, ``"4,6"``, ``5`` or a
        list. None: every length from the shortest training label's to the
        longest's. A family of several lengths reads each captcha at its most
        likely lengths and keeps the best read (see :mod:`~cvcaptcha.length`).
    ignore_case : bool
        Train on lower-cased labels and score reads against lower-cased
        labels: for sites that accept either case (their upper- and lower-case
        glyphs then count as one character). Labels are case-sensitive by
        default.
    align_rounds : int
        For guided strategies: after training on the strategy's unguided cuts,
        re-cut every training captcha by forced alignment (the lattice path
        constrained to the known label) and retrain, this many times. Each
        round gives the classifier cleaner, better-centred characters.
    augment, jitter, stroke_jitter, warp_jitter : int, float, float, float
        Training-set augmentation (see :func:`~cvcaptcha.training.training_set`):
        ``augment`` extra copies of each character, moved sideways by up to
        ``jitter`` of the learned width, so the classifiers meet the slightly
        misplaced cuts of prediction; a ``stroke_jitter`` share of the reader's
        copies cut from the captcha with strokes a pixel thicker or thinner, a
        ``warp_jitter`` share from it turned and scaled (0: off).
    shift_reads, shift_span, shift_below : int, float, float
        The reader's sureness rule (see :class:`~cvcaptcha.reads.Reader`): a
        character whose centred read's best class is less sure than
        ``shift_below`` is unsure. With a segmenter that recentres, a captcha
        with an unsure character is recentred by the reader; each character
        still unsure is also read in windows moved sideways, ``shift_reads``
        times on each side up to ``shift_span`` of the width, and the reads are
        averaged. Sure reads are kept, which skips most of the reader's work.
        ``shift_below`` above 1: every captcha and character.
    locator_weight : float
        For guided strategies: each character's reading multiplies the
        reader's probabilities by the locator's class probabilities at the
        chosen window raised to this power (then normalised), and recentring
        (see :meth:`~cvcaptcha.segment.Window.recentre`) adds this much of the
        locator's log-probabilities to the reader's. The locator is a second,
        differently built classifier (linear, on the HOG map), so a small vote
        breaks the reader's near-ties. 0: the reader alone.
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
        What the reader reads in each window (see
        :class:`~cvcaptcha.windows.CharWindows`): ``"ink"`` (the ink levels of
        a window ``context`` wider than the character, scaled to
        ``char_height`` x ``char_width``), ``"inkhog"`` (those ink levels and
        their HOG, which a faint glyph among dark strokes fills as much as a
        dark one), ``"hogmap"`` (that window of one HOG map of the whole
        captcha) or a crop feature kind in :data:`cvcaptcha.features.FEATURES`
        (``"hog"``, ``"pixels"``: computed on each slice of the binary mask,
        cropped and scaled). ``"auto"`` (the default) tries
        :data:`~cvcaptcha.auto.AUTO_FEATURES` on held-out training captchas with
        the chosen segmenter, as ``segmenter="auto"`` does, and keeps the first
        unless another reads clearly more (``features_`` says which).
    hog_orientations, hog_cell, hog_block : int
        HOG parameters (orientation bins, cell side in pixels, block side in cells).
    classifier : str or estimator
        A name from :data:`cvcaptcha.models.CLASSIFIERS` or an unfitted
        classifier with ``predict_proba``; its parameters are reachable as
        ``classifier__<param>``.
    self_training_rounds : int
        Rounds of self-training when ``fit`` is given unlabelled captchas (see
        :mod:`~cvcaptcha.selftrain`); 0: unlabelled captchas are ignored.
    self_training_precision : float
        Each round keeps the unlabelled captchas read at least as surely as the
        lowest confidence above which this share of held-out labelled reads
        are right.
    self_training_char_precision : float or None
        Each round also gives the reader the characters, in the unlabelled
        captchas not kept whole, read at least as surely as the lowest
        confidence above which this share of held-out labelled characters are
        right; None: whole captchas only.
    random_state : int
        Seed of the random choices made in training: the ``auto`` trial split,
        moved copies, variants and reject windows (a classifier's own seed is
        its ``classifier__random_state``).
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
        Label length learned from the training labels (the most common one
        in a family of several lengths).
    lengths_ : tuple of int
        The label lengths the model reads: ``lengths``, or every length from
        the shortest training label's to the longest's.
    length_mean_, length_scale_, length_coef_, length_intercept_, length_spread_
        With several ``lengths_``: the length prior as plain arrays (see
        :class:`~cvcaptcha.length.LengthPrior`).
    alphabet_ : str
        Sorted characters seen in the training labels; class ``i`` is ``alphabet_[i]``.
    segmenter_ : Segmenter
        The fitted segmentation strategy.
    classifier_ : estimator
        The fitted reader, trained on class indices: ``i`` is ``alphabet_[i]``.
    features_ : str
        What the reader reads (``features``, as chosen).
    locator_coef_, locator_intercept_, locator_classes_ : ndarray
        With a guided segmenter: the fitted locator as plain arrays (see
        :class:`~cvcaptcha.locator.Locator`); its class ``len(alphabet_)`` is
        the reject class of misplaced windows.
    clean_ : str
        The cleaner the front end uses (``clean``, as chosen).
    band_ : bool
        Whether the front end crops to the text band (``band``, as chosen).
    threshold_ : str
        The front end's binarisation (``threshold``, as chosen).
    count_agreement_ : float or None
        In a family of several lengths, how often the segmenter's own count of
        pieces was the label length in training (a witness of each captcha's
        length, see :func:`~cvcaptcha.length.count_log_likelihood`); None for
        a segmenter that counts nothing.
    glyph_width_ : float
        In a family of spaced glyphs (median glyph under :data:`~cvcaptcha.fitting.SPACED` of the
        pitch), the glyph width the classifiers' windows are sized by; else 0
        (they are sized by the pitch).
    image_shape_ : tuple of int
        Median (height, width) of the training images.
    scale_ : float
        Median working-height scale of the training images.
    fit_summary_ : dict
        Training set size, segmenter and reader input used (with the validation
        accuracy of each candidate when ``"auto"`` chose them), forced-alignment
        rounds run and time.

    Examples
    --------
    >>> rec = CaptchaRecognizer(classifier="logistic")
    >>> rec.set_params(classifier__C=3.0).get_params()["classifier__C"]
    3.0
    """

    def __init__(
        self,
        height: int = 40,
        clean: str = "auto",
        band: Any = "auto",
        threshold: str = "auto",
        open_frac: float = 0.0,
        speck_frac: float = 0.002,
        line_frac: float = 0.07,
        segmenter: str = "auto",
        segmenter_params: dict[str, dict[str, float]] | None = None,
        lengths: Any = None,
        ignore_case: bool = False,
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
        features: str = "auto",
        hog_orientations: int = 9,
        hog_cell: int = 4,
        hog_block: int = 2,
        classifier: Any = "tinymlp",
        self_training_rounds: int = 3,
        self_training_precision: float = 0.95,
        self_training_char_precision: float | None = 0.97,
        random_state: int = 0,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        self.height = height
        self.clean = clean
        self.band = band
        self.threshold = threshold
        self.open_frac = open_frac
        self.speck_frac = speck_frac
        self.line_frac = line_frac
        self.segmenter = segmenter
        self.segmenter_params = segmenter_params
        self.lengths = lengths
        self.ignore_case = ignore_case
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
        self.self_training_rounds = self_training_rounds
        self.self_training_precision = self_training_precision
        self.self_training_char_precision = self_training_char_precision
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

    # -- the fitted stages ----------------------------------------------------
    def front_params(self) -> dict[str, Any]:
        """The parameters the front end (:func:`~cvcaptcha.prepare.prepare`) depends on
        (``clean``, ``band`` and ``threshold`` as chosen in training)."""
        params = {k: getattr(self, k) for k in FRONT_PARAMS}
        params["clean"] = getattr(self, "clean_", "none") if self.clean == "auto" else self.clean
        params["band"] = getattr(self, "band_", False) if self.band == "auto" else bool(self.band)
        if self.threshold == "auto":
            params["threshold"] = getattr(self, "threshold_", AUTO_THRESHOLDS[0])
        return params

    def _char_width(self) -> float:
        """The learned character width (pitch), working-scale pixels."""
        return getattr(self.segmenter_, "char_width_", 0.0)

    def _window_width(self) -> float:
        """The character width the classifiers' windows are sized by: the
        pitch, or in a family of spaced glyphs the learned glyph width
        (``glyph_width_``, see :data:`~cvcaptcha.fitting.SPACED`)."""
        return getattr(self, "glyph_width_", 0.0) or self._char_width()

    def _windows(self) -> CharWindows:
        """What the reader reads around each character (see ``features``)."""
        return CharWindows(
            self.features_, self._window_width(), self.context,
            (self.char_height, self.char_width),
            self.hog_orientations, self.hog_cell, self.hog_block,
        )

    def _locator(self) -> Locator | None:
        """The fitted locator, or None when the segmenter is not guided."""
        if not self.segmenter_.guided:
            return None
        return Locator(
            self.locator_coef_, self.locator_intercept_, self.locator_classes_,
            len(self.alphabet_), self._window_width(), self.hog_cell, self.hog_block,
        )

    def _reader(self, n_chars: int | None = None) -> Reader:
        """The fitted reader and its reading rules, for captchas of ``n_chars``
        characters (default: the most common length)."""
        return Reader(
            self.classifier_, len(self.alphabet_), self._windows(), n_chars or self.n_chars_,
            self._window_width(), self.shift_reads, self.shift_span, self.shift_below,
        )

    @staticmethod
    def _tables(preps: Sequence[Prepared], locator: Locator | None) -> list[np.ndarray | None]:
        """The locator's score table of each captcha (None for each without a locator)."""
        if locator is None:
            return [None] * len(preps)
        return [locator.table(p.hog) for p in preps]

    def _prepare(
        self, images: Sequence[ImageLike], desc: str, training: bool = False,
        lengths: Sequence[int] | None = None,
    ) -> list[Prepared]:
        """Read and prepare every image, through the ``memory`` cache when set;
        the ``training`` captchas also choose ``band_``, and, given their
        label ``lengths``, ``threshold_``."""
        if self.features != "auto":
            check_features(self.features)
        check_clean(self.clean)
        grays = [read_image(img) for img in self._progress(images, desc)]
        if training:
            self.band_ = (
                bool(np.median([band_share(g) for g in grays]) < BAND_SHARE)
                if self.band == "auto" else bool(self.band)
            )
        if lengths is not None:  # for fit: what the blob counts say (also in fit_summary_)
            self._counts = choose_front(
                grays, lengths, self.front_params(), self.random_state, self.threshold,
                self.clean,
            )
            self.threshold_ = self._counts["threshold"]
        if self.memory is None:
            return prepare_all(grays, self.front_params())
        from joblib import Memory

        memory = self.memory if isinstance(self.memory, Memory) else Memory(self.memory, verbose=0)
        return memory.cache(prepare_all)(grays, self.front_params())

    def _progress(self, items: Sequence[Any], desc: str) -> Any:
        """``items``, behind a progress bar when verbose and long enough to need one."""
        if not self.verbose or len(items) < 50:
            return items  # a disabled bar still costs a tenth of a fast prediction
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="img", leave=False)

    # -- reading ---------------------------------------------------------------
    def _length_features(
        self, preps: Sequence[Prepared], tables: Sequence[np.ndarray | None] | None = None
    ) -> np.ndarray:
        """:func:`~cvcaptcha.length.length_features` of each captcha."""
        if tables is None:
            tables = self._tables(preps, self._locator())
        pitch = self._char_width()
        return np.stack([
            length_features(p, pitch, t, self.hog_cell) for p, t in zip(preps, tables)
        ])

    def _length_prior(self) -> LengthPrior:
        return LengthPrior(
            self.length_mean_, self.length_scale_, self.length_coef_,
            float(self.length_intercept_), float(self.length_spread_), self.lengths_,
        )

    def _segment(self, preps: list[Prepared]) -> list[tuple[np.ndarray, bool | None]]:
        """Cuts (working scale) and exact-count status of each captcha."""
        if len(self.lengths_) > 1:  # the cuts of the length read best
            return [(r.cuts, r.status) for r in self._read(preps)]
        locator = self._locator()
        found = locate(
            self.segmenter_, preps, self.n_chars_, self._tables(preps, locator), locator,
            self._reader(), self.locator_weight,
        )
        return [(cuts, status) for cuts, status, _ in found]

    def _read(self, preps: list[Prepared]) -> list[Read]:
        """What each captcha reads: at its one length, or, in a family of
        several lengths, at each length its prior makes likely, keeping the
        best read (prior plus the reads' log-probabilities)."""
        locator = self._locator()
        tables = self._tables(preps, locator)
        if len(self.lengths_) == 1:
            return [
                Read(c, pr, status, 1.0)
                for c, pr, status in self._read_at(preps, tables, locator, self.n_chars_)
            ]
        prior = self._length_prior()

        def read_at(idx: list[int], n: int) -> list[tuple[Any, float]]:
            """The reads of captchas ``idx`` as ``n`` characters, each with its score."""
            reads = self._read_at([preps[i] for i in idx], [tables[i] for i in idx], locator, n)
            return [
                (r, read_log_score(
                    r[1], located(tables[i], locator, r[0]), prior.typical,
                    pitch_steps(preps[i].mask, r[0], self.segmenter_.width_prior),
                ))
                for i, r in zip(idx, reads)
            ]

        log_prior = prior.log_prior(self._length_features(preps, tables))
        agreement = getattr(self, "count_agreement_", None)
        if agreement is not None:  # the segmenter's own count of pieces witnesses too
            log_prior = log_prior + count_log_likelihood(
                [self.segmenter_.count(p.mask) for p in preps], prior.lengths, agreement
            )
            log_prior -= np.logaddexp.reduce(log_prior, axis=1, keepdims=True)
        best = read_best_lengths(
            prior, log_prior, read_at,
            lambda scored: scored[1],
        )
        return [Read(*read, share) for (read, _), share in best]

    def _read_at(
        self, preps: list[Prepared], tables: list[np.ndarray | None], locator: Locator | None,
        n_chars: int,
    ) -> list[tuple[np.ndarray, np.ndarray, bool | None]]:
        """Cuts (working scale), class probabilities and exact-count status of
        each captcha read as ``n_chars`` characters: locate, read the centred
        windows (or keep the reads made while locating), read unsure
        characters again at moved windows, and let the locator vote."""
        reader = self._reader(n_chars)
        found = locate(
            self.segmenter_, preps, n_chars, tables, locator, reader, self.locator_weight
        )
        cuts = [c for c, _, _ in found]
        read = [pr for _, _, pr in found if pr is not None]  # while recentring
        probas = reader.moved(preps, cuts, np.stack(read) if read else reader.centred(preps, cuts))
        if locator is not None and self.locator_weight:
            probas = [
                locator.vote(pr, table, c, self.locator_weight)
                for pr, table, c in zip(probas, tables, cuts)
            ]
        return [(c, pr, status) for (c, status, _), pr in zip(found, probas)]

    def _text(self, proba: np.ndarray) -> str:
        """The text of one captcha's class probabilities."""
        return "".join([self.alphabet_[i] for i in proba.argmax(axis=1).tolist()])

    def _texts(self, preps: list[Prepared]) -> list[str]:
        """The text read in each prepared captcha."""
        return [self._text(r.proba) for r in self._read(preps)]

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
        for prep, read in zip(preps, self._read(preps)):
            # plain Python on the few numbers: numpy's per-call cost shows here
            conf = read.proba.max(axis=1).tolist()
            out.append(
                Prediction(
                    text=self._text(read.proba),
                    confidence=math.prod(conf) * read.length_share,
                    char_confidences=conf,
                    cuts=np.round(read.cuts / prep.scale).astype(int),
                    length_confidence=read.length_share,
                )
            )
        return out

    def char_features(self, images: Sequence[ImageLike]) -> list[np.ndarray]:
        """The reader's input for each captcha: one float32 row per character
        of the cuts the model reads, shape ``(n_chars_, d)``."""
        self._check_fitted()
        preps = self._prepare(images, "features")
        windows = self._windows()
        return [windows(p, cuts) for p, (cuts, _) in zip(preps, self._segment(preps))]

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
        """Raise :class:`LabelError` for labels this model cannot produce
        (as :meth:`fold` gives them)."""
        self._check_fitted()
        labels = self.fold(labels)
        allowed = set(self.alphabet_)
        lengths = self.lengths_
        for label in labels:
            if len(label) not in lengths:
                reads = ", ".join(map(str, lengths))
                raise LabelError(
                    f"label {label!r} has {len(label)} characters; the model reads {reads}"
                )
            unknown = sorted(set(label) - allowed)
            if unknown:
                raise LabelError(
                    f"label {label!r} has characters the model cannot emit: {''.join(unknown)!r}"
                )

    def fold(self, labels: Sequence[str]) -> list[str]:
        """``labels`` as this model reads them: lower-cased with ``ignore_case``."""
        if self.ignore_case:
            return [str(label).lower() for label in labels]
        return [str(label) for label in labels]

    def score(self, images: Sequence[ImageLike], labels: Sequence[str]) -> float:
        """Whole-captcha accuracy: the share of captchas read exactly right
        (ignoring case with ``ignore_case``)."""
        labels = self.fold(labels)
        self.check_labels(labels)
        predicted = self.predict(images)
        return float(np.mean([p == t for p, t in zip(predicted, labels)]))
