"""How a :class:`~cvcaptcha.recognizer.CaptchaRecognizer` learns: the fit sequence.

Training learns everything from the labels: the recipe's automatic choices
(:mod:`~cvcaptcha.auto`), then the length, alphabet and geometry, the locator
and the reader, aligned to the labels (:mod:`~cvcaptcha.locate`) and trained on
their characters (:mod:`~cvcaptcha.training`), optionally grown by
self-training (:mod:`~cvcaptcha.selftrain`). It lives here, apart from the
estimator's parameters and reading, as a mixin: its methods use the
estimator's fitted stages (``_prepare``, ``_windows``, ``_locator``,
``_reader``, ``_read``), which :class:`~cvcaptcha.recognizer.CaptchaRecognizer`
defines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from .auto import choose_recipe
from .clean import changes_enough
from .columns import glyph_widths
from .errors import LabelError
from .io import ImageLike, check_labels
from .length import LengthPrior, allowed_lengths, count_agreement
from .locate import align, recentre_to_labels
from .locator import train_locator
from .prepare import Prepared
from .selftrain import Intake, self_train
from .selftrain import summary as rounds_summary
from .training import training_set

if TYPE_CHECKING:  # for annotations only: the estimator imports this module
    from .recognizer import CaptchaRecognizer

#: Single characters of captchas not kept whole: (captcha, their cuts, their text).
Characters = Sequence[tuple[Prepared, np.ndarray, str]]

#: A family whose median glyph is narrower than this share of the pitch is
#: *spaced*: the classifiers' windows are sized by the glyph, not the pitch.
SPACED: float = 0.5


class FittingMixin:
    """``fit`` and its stages for :class:`~cvcaptcha.recognizer.CaptchaRecognizer`."""

    def fit(
        self, images: Sequence[ImageLike], labels: Sequence[str],
        unlabelled: Sequence[ImageLike] | None = None,
    ) -> CaptchaRecognizer:
        """Learn geometry, alphabet, the locator and the reader.

        The classifiers first learn from the segmenter's own cuts. With a
        guided segmenter those are only a bootstrap: each of ``align_rounds``
        then re-cuts every training captcha by forced alignment (the path
        scored with the label's classes), refits the width and margin priors
        on the aligned cuts and retrains the locator; the reader trains on the
        aligned characters and, when the segmenter recentres, again on the
        characters recentred by forced alignment with itself.

        Parameters
        ----------
        images : sequence of arrays, paths or bytes
        labels : sequence of str
            The text of each captcha; all of one length.
        unlabelled : sequence of arrays, paths or bytes, optional
            Captchas of the same family without labels: those the model reads
            surely enough join the training set, in ``self_training_rounds``
            rounds (see :mod:`~cvcaptcha.selftrain`).

        Returns
        -------
        self
        """
        start = time.perf_counter()
        labels = self.fold(labels)
        if len(images) != len(labels):
            raise LabelError(f"{len(images)} images but {len(labels)} labels")
        check_labels(labels, mixed=True)
        allowed_lengths(labels, self.lengths)  # refuse labels outside ``lengths`` early
        if len(set("".join(labels))) == 1:
            raise LabelError("training labels use a single character; nothing to learn")
        for strategy in self.segmenter_params or {}:  # refuse a bad recipe before the work
            self._make_segmenter(strategy)
        self.clean_ = "none" if self.clean == "auto" else self.clean  # until chosen
        preps = self._prepare(images, "prepare", training=True, lengths=[len(t) for t in labels])
        name, features, clean, summary = choose_recipe(
            labels, lambda param, **fixed: self._trial(preps, labels, param, images, **fixed),
            self.random_state, self.segmenter, self.features, self.clean,
            progress=lambda names, what: self._progress(names, f"choose {what}"),
            clean_lead=self._counts["clean_lead"],
            applies=lambda name: changes_enough(images, name, self.random_state),
        )
        if clean != self.clean_:
            self.clean_ = clean
            preps = self._prepare(images, "prepare cleaned", training=True)
        characters: Characters = []
        if unlabelled is not None and len(unlabelled) and self.self_training_rounds:
            preps, labels, summary["self_training"], characters = self._with_sure_reads(
                preps, labels, self._prepare(unlabelled, "prepare unlabelled"), name, features
            )
        rounds = self._fit_prepared(preps, labels, name, features, characters)
        self.fit_summary_ = {
            "n_images": len(labels),
            "n_chars": sum(len(label) for label in labels),
            "segmenter": name,
            "features": features,
            "clean": clean,
            "threshold": self.threshold_,
            **{f"auto_{key}": self._counts[key] for key in ("threshold_agreement",
               "clean_agreement") if key in self._counts},
            **summary,
            "align_rounds": rounds,
            "fit_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def _trial(
        self, preps: list[Prepared], labels: list[str], param: str,
        images: Sequence[ImageLike], **fixed: str,
    ) -> Any:
        """``trial(value, train, val)`` for :func:`~cvcaptcha.auto.auto_scores`:
        a quick copy of this recipe (one moved copy per character is enough to
        rank candidates) trained with ``param`` set to ``value`` and the
        ``fixed`` choices, reading ``val``. A front-end candidate (``clean``)
        prepares its captchas from ``images`` again."""

        def trial(value: str, train: np.ndarray, val: np.ndarray) -> list[str]:
            model = clone(self).set_params(
                **fixed, **{param: value}, augment=min(self.augment, 1), verbose=False
            )
            own: Any = preps
            if param == "clean":
                model.band_ = self.band_
                idx = np.concatenate([train, val]).tolist()
                own = dict(zip(idx, model._prepare([images[i] for i in idx], f"prepare {value}")))
            model._fit_prepared(
                [own[i] for i in train], [labels[i] for i in train], model.segmenter,
                model.features,
            )
            return model._texts([own[i] for i in val])

        return trial

    def _with_sure_reads(
        self, preps: list[Prepared], labels: list[str], extra: list[Prepared], name: str,
        features: str,
    ) -> tuple[list[Prepared], list[str], dict[str, Any], Characters]:
        """The training set grown by self-training (see
        :func:`~cvcaptcha.selftrain.self_train`): the unlabelled ``extra``
        captchas read surely enough, with their reads as labels, the sure
        characters of the others (for the reader), and what each round did.
        Each round trains a copy of this recipe with strategy ``name`` and
        reader input ``features``."""

        def fit(labelled: np.ndarray, intake: Intake) -> Any:
            model = clone(self).set_params(verbose=False)
            model._fit_prepared(
                [preps[i] for i in labelled] + [extra[i] for i in intake.kept],
                [labels[i] for i in labelled] + list(intake.texts), name, features,
                characters(intake),
            )
            return model

        def read(
            model: Any, labelled: np.ndarray, pseudo: np.ndarray
        ) -> tuple[list[str], Any, list[Any], list[Any]]:
            found = model._read([preps[i] for i in labelled] + [extra[i] for i in pseudo])
            texts = [model._text(r.proba) for r in found]
            chars = [r.proba.max(axis=1) for r in found]
            conf = np.array([np.prod(c) * r.length_share for c, r in zip(chars, found)])
            return texts, conf, chars, [r.cuts for r in found]

        def characters(intake: Intake) -> Characters:
            return [
                (extra[i], np.asarray(cuts)[sure], "".join(c for c, s in zip(text, sure) if s))
                for i, text, sure, cuts in zip(
                    intake.partial, intake.partial_texts, intake.sure, intake.partial_cuts
                )
            ]

        intake, done = self_train(
            len(labels), len(extra), labels, fit, read, rounds=self.self_training_rounds,
            precision=self.self_training_precision, random_state=self.random_state,
            progress=(lambda line: print(line, file=sys.stderr)) if self.verbose else None,
            char_precision=self.self_training_char_precision,
        )
        summary = {
            "n_labelled": len(labels), "n_unlabelled": len(extra), "added": len(intake.kept),
            "chars_added": intake.n_chars, "rounds": rounds_summary(done),
        }
        kept = [extra[i] for i in intake.kept]
        return preps + kept, labels + list(intake.texts), summary, characters(intake)

    def _fit_prepared(
        self, preps: list[Prepared], labels: list[str], segmenter_name: str, features: str,
        characters: Characters = (),
    ) -> int:
        """Fit on prepared captchas (labels already checked) with one named
        segmenter and reader input, the reader also on ``characters`` (single
        characters of other captchas: the captcha, their cuts and their text);
        returns the alignment rounds run."""
        self.features_ = features
        counts = np.array([len(label) for label in labels])
        alphabet = "".join(sorted(set("".join(labels))))
        masks = [p.mask for p in preps]
        segmenter = self._make_segmenter(segmenter_name).fit(masks, counts)
        index = {c: i for i, c in enumerate(alphabet)}
        targets = [np.array([index[c] for c in label]) for label in labels]
        cuts = [segmenter.cut(m, n) for m, n in zip(masks, counts)]
        self.n_chars_ = int(np.bincount(counts).argmax())
        glyph = float(np.median(np.concatenate([glyph_widths(m, c) for m, c in zip(masks, cuts)])))
        # glyphs far narrower than their pitch: windows sized by the pitch would
        # squeeze each glyph and, where a captcha is drawn tighter, hold two
        self.glyph_width_ = glyph if glyph < SPACED * segmenter.char_width_ else 0.0
        self.lengths_ = allowed_lengths(labels, self.lengths)
        self.alphabet_ = alphabet
        self.segmenter_ = segmenter
        rng = np.random.default_rng(self.random_state)
        rounds = self.align_rounds if segmenter.guided else 0
        model = None
        if segmenter.guided:
            model = self._fit_locator(preps, cuts, targets, rng)
        for _ in range(rounds):
            locator = self._locator()
            tables = self._tables(preps, locator)
            cuts = align(segmenter, preps, tables, locator, self._progress(targets, "align"))
            segmenter.learn_cuts(masks, cuts)
            model = self._fit_locator(preps, cuts, targets, rng, model)
        more = _as_targets(characters, index)
        self._fit_reader(preps, cuts, targets, rng, more)
        if segmenter.recentres:
            locator = self._locator()
            cuts = recentre_to_labels(
                segmenter, preps, cuts, self._tables(preps, locator), locator, self._reader(),
                self.locator_weight, self._progress(targets, "recentre"),
            )
            self._fit_reader(preps, cuts, targets, rng, more)
        self.image_shape_ = tuple(
            int(v) for v in np.median([p.original_shape for p in preps], axis=0)
        )
        self.scale_ = float(np.median([p.scale for p in preps]))
        if len(self.lengths_) > 1:
            self._fit_length_prior(preps, counts)
        return rounds

    def _fit_length_prior(self, preps: list[Prepared], counts: np.ndarray) -> None:
        """Learn the length prior (see :class:`~cvcaptcha.length.LengthPrior`)
        and keep it as plain arrays, and how often the segmenter's own count
        of pieces is the label length (``count_agreement_``, None for a
        segmenter that counts nothing)."""
        self.count_agreement_ = count_agreement(
            [self.segmenter_.count(p.mask) for p in preps], counts.tolist()
        )
        prior = LengthPrior.fit(self._length_features(preps), counts, self.lengths_)
        self.length_mean_, self.length_scale_ = prior.mean, prior.scale
        self.length_coef_ = prior.coef
        self.length_intercept_, self.length_spread_ = prior.intercept, prior.spread

    def _fit_locator(
        self, preps: list[Prepared], cuts: list[np.ndarray], targets: np.ndarray,
        rng: np.random.Generator, previous: LogisticRegression | None = None,
    ) -> LogisticRegression:
        """Train the locator (see :func:`~cvcaptcha.locator.train_locator`) and
        keep it as plain arrays (``locator_coef_``, ``locator_intercept_``,
        ``locator_classes_``); a ``previous`` locator is the warm start."""
        model = train_locator(
            preps, cuts, targets, rng, self.segmenter_, len(self.alphabet_), self.hog_cell,
            self.hog_block, min(self.augment, 1), self.jitter * self._window_width(),
            int(round(self.reject * np.mean([len(t) for t in targets]))), self.reject_overlap,
            # a locator that only bootstraps an alignment round need not converge
            max_iter=100 if previous is None and self.align_rounds else 200, previous=previous,
            width=self._window_width(),
        )
        # C order: window_scores reads it as one row per (class, window column)
        self.locator_coef_ = np.ascontiguousarray(model.coef_, dtype=np.float32)
        self.locator_intercept_ = model.intercept_.astype(np.float32)
        self.locator_classes_ = model.classes_.astype(int)
        return model

    def _fit_reader(
        self, preps: list[Prepared], cuts: list[np.ndarray], targets: np.ndarray,
        rng: np.random.Generator, more: Sequence[tuple[Prepared, np.ndarray, np.ndarray]] = (),
    ) -> None:
        """Train the reader on the characters ``cuts`` give, and on ``more``
        (captcha, cuts, targets) characters, with ``augment`` moved copies of
        each (some cut from stroke or warp variants)."""
        if more:
            preps = [*preps, *(m[0] for m in more)]
            cuts = [*cuts, *(m[1] for m in more)]
            targets = [*targets, *(m[2] for m in more)]
        X, y = training_set(
            preps, cuts, targets, rng, self._windows(), self.augment,
            self.jitter * self._window_width(), self.stroke_jitter, self.warp_jitter,
            self.front_params(),
        )
        self.classifier_ = self._classifier_estimator().fit(X, y)


def _as_targets(
    characters: Characters, index: dict[str, int]
) -> list[tuple[Prepared, np.ndarray, np.ndarray]]:
    """``characters`` with their texts as alphabet indices (a class the
    labels do not have is left out)."""
    out = []
    for prep, cuts, text in characters:
        known = np.array([c in index for c in text], bool)
        if known.any():
            out.append((prep, cuts[known], np.array([index[c] for c in text if c in index])))
    return out
