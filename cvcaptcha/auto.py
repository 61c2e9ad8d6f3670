"""The choices of ``segmenter="auto"`` and ``features="auto"``: try each
candidate on held-out captchas.

Which strategy reads a family best depends on how it is drawn (touching
glyphs at a steady pitch favour ``window``, well separated glyphs at an
irregular pitch ``components``), and that is a fact of the data: so each
candidate is trained on a seeded part of the training set and judged on the
rest, by the share of their characters it reads right, which a few hundred
captchas measure far more surely than the share read whole (two strategies
that each read one or two of 150 captchas whole can differ twofold in the
characters they read). The first candidate stays unless another reads
clearly more: by :data:`MARGIN` standard errors of the captcha-by-captcha
difference, so a trial too small to tell keeps the default. The reader's
input is chosen the same way, after the segmenter and with it
(:func:`choose_recipe`): ink levels alone read some families best, their
gradients too others (faint glyphs among dark noise, warped glyphs). Last, with
both, the front end's cleaner (:mod:`~cvcaptcha.clean`): taking out thin
scratches or long straight lines saves some families and breaks the strokes
of others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

#: Strategies ``segmenter="auto"`` chooses from, the first winning ties.
AUTO_SEGMENTERS: tuple[str, ...] = ("window", "components")
#: Reader inputs ``features="auto"`` chooses from, the first winning ties:
#: gradients help where glyphs are faint, warped or crossed by darker noise,
#: and cost a little where ink levels alone read well.
AUTO_FEATURES: tuple[str, ...] = ("ink", "inkhog")
#: Segmenters that cut each glyph out whole, as the ink blobs it is drawn in.
#: After one, the reader's input may also be the glyph trimmed to its ink and
#: scaled to fill the input (:data:`BLOB_FEATURES`, for families whose
#: captchas each pick their own glyph size and spacing), and the cleaner
#: whose blobs number the labels' characters best leads the cleaner trials.
BLOB_SEGMENTERS: tuple[str, ...] = ("components",)
BLOB_FEATURES: tuple[str, ...] = ("glyph",)
#: Cleaners ``clean="auto"`` chooses from, the first (none) winning ties; a
#: thick line across dotted glyphs wants both its cleaners in turn.
AUTO_CLEANERS: tuple[str, ...] = ("none", "thin", "lines", "join", "thick", "bands+join", "bands")
#: Most training and validation captchas the choice uses: a candidate trained on
#: too few captchas is judged on how it reads from few labels, not from all
#: of them (figures: ``docs/benchmarks.md``, "Trial size").
AUTO_SIZES: tuple[int, int] = (400, 200)
#: Standard errors by which a candidate must beat the first to replace it.
MARGIN: float = 2.0

#: ``trial(name, train, val)``: the texts read in captchas ``val`` by strategy
#: ``name`` trained on captchas ``train`` (indices into the training set).
Trial = Callable[[str, np.ndarray, np.ndarray], list[str]]


def trial_split(
    n: int, random_state: int, sizes: tuple[int, int] = AUTO_SIZES
) -> tuple[np.ndarray, np.ndarray] | None:
    """Seeded training and validation indices for the trials: at most
    ``sizes[1]`` to validate (a quarter of a small set), at most ``sizes[0]``
    of the rest to train; None when the set is too small to hold any out.

    Examples
    --------
    >>> train, val = trial_split(20, 0)
    >>> len(train), len(val), len(set(train) | set(val))
    (15, 5, 20)
    >>> trial_split(3, 0) is None
    True
    """
    order = np.random.default_rng(random_state).permutation(n)
    n_val = min(sizes[1], n // 4)
    if n_val == 0:
        return None
    return order[n_val:][: sizes[0]], order[:n_val]


def auto_scores(
    labels: Sequence[str], trial: Trial, random_state: int,
    candidates: Sequence[str] = AUTO_SEGMENTERS, sizes: tuple[int, int] = AUTO_SIZES,
    progress: Callable[[Sequence[str]], Iterable[str]] = iter,
    known: dict[str, dict] | None = None,
) -> dict[str, dict[str, float]]:
    """Held-out ``"captcha"`` and ``"char"`` accuracy of each candidate
    strategy (NaN for the first alone when the set is too small to hold
    captchas out); :func:`best` picks one. ``progress`` wraps the candidates
    (a progress bar); ``known`` holds scores of candidates already tried on
    the same split, which are not tried again."""
    split = trial_split(len(labels), random_state, sizes)
    if split is None:
        return {candidates[0]: {"captcha": float("nan"), "char": float("nan")}}
    train, val = split
    known = known or {}
    scores = {}
    for name in progress(candidates):
        if name in known:
            scores[name] = known[name]
            continue
        texts = trial(name, train, val)
        truth = [labels[i] for i in val]
        per = np.array([
            np.mean([k < len(t) and t[k] == c for k, c in enumerate(label)])
            for t, label in zip(texts, truth)
        ])
        scores[name] = {
            "captcha": float(np.mean([t == label for t, label in zip(texts, truth)])),
            "char": float(per.mean()),
            "per_captcha": per,
        }
    return scores


def best(scores: dict[str, dict], margin: float = MARGIN) -> str:
    """The first candidate, unless another reads clearly more held-out
    characters: its ``per_captcha`` character accuracies beat the incumbent's
    by ``margin`` standard errors of the paired difference.

    Examples
    --------
    >>> same = {"captcha": 0.0, "char": 0.2, "per_captcha": np.array([0.2, 0.2, 0.0, 0.4])}
    >>> more = {"captcha": 0.5, "char": 0.9, "per_captcha": np.array([1.0, 0.8, 1.0, 0.8])}
    >>> best({"window": same, "components": more}), best({"window": same, "components": same})
    ('components', 'window')
    """
    names = list(scores)
    chosen = names[0]
    for name in names[1:]:
        a, b = scores[chosen].get("per_captcha"), scores[name].get("per_captcha")
        if a is None or b is None or not len(a):
            continue
        diff = np.asarray(b) - np.asarray(a)
        error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
        if diff.mean() > margin * error:
            chosen = name
    return chosen


def choose_recipe(
    labels: Sequence[str], make_trial: Callable[..., Trial], random_state: int,
    segmenter: str, features: str, clean: str = "none",
    progress: Callable[[Sequence[str], str], Iterable[str]] = lambda names, what: iter(names),
    applies: Callable[[str], bool] = lambda name: True, clean_lead: str = AUTO_CLEANERS[0],
) -> tuple[str, str, str, dict[str, Any]]:
    """Resolve ``segmenter="auto"``, then ``features="auto"`` with the chosen
    segmenter, then ``clean="auto"`` with both; returns the three choices and
    the trials' scores for ``fit_summary_``.

    ``make_trial(param, **fixed)`` gives the :data:`Trial` that sets ``param``
    to each candidate, the ``fixed`` choices made. The segmenter is tried with
    the first reader input, and both before any cleaner (with ``clean="auto"``,
    none), so each stage's first trial is the previous stage's own.
    ``progress(names, what)`` wraps each stage's candidates; a cleaner is
    tried only where ``applies(name)`` (one that leaves the captchas as they
    are would read as the first). After one of the :data:`BLOB_SEGMENTERS`,
    ``clean_lead`` (when it applies) is the cleaner the others must read
    clearly better than (see :func:`cvcaptcha.counts.choose_front`);
    otherwise none is.
    """
    summary: dict[str, Any] = {}
    first = AUTO_FEATURES[0] if features == "auto" else features
    scores: dict[str, dict] = {}
    if segmenter == "auto":
        scores = auto_scores(
            labels, make_trial("segmenter", features=first), random_state,
            AUTO_SEGMENTERS, progress=lambda names: progress(names, "segmenter"),
        )
        segmenter = best(scores)
        summary["auto_captcha_accuracy"] = {k: v["captcha"] for k, v in scores.items()}
        summary["auto_char_accuracy"] = {k: v["char"] for k, v in scores.items()}
    known = {first: scores[segmenter]} if segmenter in scores else {}
    if features == "auto":
        inputs = auto_scores(
            labels, make_trial("features", segmenter=segmenter), random_state,
            AUTO_FEATURES + (BLOB_FEATURES if segmenter in BLOB_SEGMENTERS else ()),
            progress=lambda names: progress(names, "reader input"), known=known,
        )
        features = best(inputs)
        summary["auto_features_captcha_accuracy"] = {k: v["captcha"] for k, v in inputs.items()}
        summary["auto_features_char_accuracy"] = {k: v["char"] for k, v in inputs.items()}
        known = {features: inputs[features]}
    if clean == "auto":
        own = known.get(features)
        lead = AUTO_CLEANERS[0]
        if segmenter in BLOB_SEGMENTERS and clean_lead != lead and applies(clean_lead):
            lead = clean_lead
        cleaners = auto_scores(
            labels, make_trial("clean", segmenter=segmenter, features=features), random_state,
            [lead] + [
                c for i, c in enumerate(AUTO_CLEANERS) if c != lead and (i == 0 or applies(c))
            ],
            progress=lambda names: progress(names, "cleaner"),
            known={AUTO_CLEANERS[0]: own} if own is not None else {},
        )
        clean = best(cleaners)
        summary["auto_clean_captcha_accuracy"] = {k: v["captcha"] for k, v in cleaners.items()}
        summary["auto_clean_char_accuracy"] = {k: v["char"] for k, v in cleaners.items()}
    return segmenter, features, clean, summary
