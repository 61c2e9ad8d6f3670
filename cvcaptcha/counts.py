"""What the training captchas' blob counts say about the front end.

Otsu's threshold splits the grey levels into two classes; where dark noise
strokes share a captcha with pale glyphs, the split falls between the two
kinds of ink and the pale glyphs become paper. The triangle threshold cuts at
the foot of the paper's peak instead and keeps every glyph, but on a captcha
of grey, noisy paper it takes the noise in too. Likewise a cleaner that takes
thin scratches out (:mod:`~cvcaptcha.clean`) can part glyphs the scratches
joined. Which suits a family shows in its training captchas without training
anything: the better front end's masks show as many ink blobs as the label has
characters (:meth:`~cvcaptcha.segment.Components.count`) more often.

``threshold="auto"`` keeps the first threshold unless another agrees clearly
more often (by the margin :func:`cvcaptcha.auto.best` asks of every automatic
choice); the cleaner that agrees clearly more often than none *leads* the
cleaner trials (:func:`cvcaptcha.auto.choose_recipe`), which keep it unless
another reads clearly more. Families whose glyphs touch agree rarely with any
front end, so there the counts change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .auto import AUTO_CLEANERS, best
from .prepare import prepare_mask
from .segment import Components

#: Thresholds ``threshold="auto"`` chooses from, the first winning ties.
AUTO_THRESHOLDS: tuple[str, ...] = ("otsu", "triangle")
#: Most training captchas the counts look at.
SAMPLE: int = 200


def count_agreement_scores(
    grays: Sequence[np.ndarray], lengths: Sequence[int], params: dict[str, Any],
    candidates: Sequence[str] = AUTO_THRESHOLDS, param: str = "threshold",
) -> dict[str, dict[str, Any]]:
    """For each value of front-end parameter ``param``, whether each
    captcha's mask shows as many blobs as its label has characters
    (``per_captcha``, 0 or 1) and how often (``agreement``).

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8)
    >>> img[10:30, 10:20] = 0; img[10:30, 50:60] = 200; img[5, :] = 40
    >>> params = dict(height=40, clean="none", band=False, open_frac=0.0, speck_frac=0.002,
    ...               line_frac=0.07, hog_orientations=9, hog_cell=4, hog_block=2)
    >>> s = count_agreement_scores([img], [2], params)
    >>> s["otsu"]["agreement"], s["triangle"]["agreement"]
    (0.0, 1.0)
    """
    counter = Components()
    scores = {}
    for name in candidates:
        p = dict(params, **{param: name})
        per = np.array([
            float(counter.count(prepare_mask(g, p)) == n) for g, n in zip(grays, lengths)
        ])
        scores[name] = {"per_captcha": per, "agreement": float(per.mean()) if len(per) else 0.0}
    return scores


def choose_front(
    grays: Sequence[np.ndarray], lengths: Sequence[int], params: dict[str, Any],
    random_state: int = 0, threshold: str = "auto", clean: str = "auto",
) -> dict[str, Any]:
    """The threshold (when ``threshold="auto"``) and the cleaner that leads
    the cleaner trials (when ``clean="auto"``) whose masks' blob counts agree
    with the label lengths clearly more often than the first candidate's, on
    at most :data:`SAMPLE` seeded training captchas; with each candidate's
    agreement (``threshold_agreement``, ``clean_agreement``)."""
    order = np.random.default_rng(random_state).permutation(len(grays))[:SAMPLE]
    grays, lengths = [grays[i] for i in order], [lengths[i] for i in order]
    out: dict[str, Any] = {"threshold": threshold, "clean_lead": AUTO_CLEANERS[0]}
    if threshold == "auto":
        scores = count_agreement_scores(grays, lengths, params, AUTO_THRESHOLDS)
        out["threshold"] = best(scores)
        out["threshold_agreement"] = _rounded(scores)
    if clean == "auto":
        p = dict(params, threshold=out["threshold"])
        scores = count_agreement_scores(grays, lengths, p, AUTO_CLEANERS, param="clean")
        out["clean_lead"] = best(scores)
        out["clean_agreement"] = _rounded(scores)
    return out


def _rounded(scores: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {k: round(v["agreement"], 4) for k, v in scores.items()}
