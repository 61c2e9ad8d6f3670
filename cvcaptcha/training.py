"""Training sets of character windows: the labelled cuts, moved copies, variants.

Both classifiers learn from windows cut from the training captchas at their
(aligned) cuts. Each character also appears in ``augment`` copies moved
sideways, so a classifier meets in training the slightly misplaced cuts it
will meet in reading; a share of those copies can be cut from variants of the
captcha with other pen widths or slants (:mod:`cvcaptcha.prepare`). The
locator also learns misplaced windows as a reject class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .prepare import WARP_DEGREES, WARP_SCALE, Prepared, stroke_variant, warp_variant

#: ``features(prep, cuts)``: one input row per window.
Features = Callable[[Prepared, np.ndarray], np.ndarray]
#: ``misplaced(prep, cuts, rng)``: windows of a captcha that hold no one character.
Misplaced = Callable[[Prepared, np.ndarray, np.random.Generator], np.ndarray]


def training_set(
    preps: Sequence[Prepared],
    cuts: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    rng: np.random.Generator,
    features: Features,
    augment: int = 0,
    spread: float = 0.0,
    strokes: float = 0.0,
    warps: float = 0.0,
    front_params: dict[str, Any] | None = None,
    misplaced: Misplaced | None = None,
    reject_class: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Input rows and class indices of the characters ``cuts`` give.

    Parameters
    ----------
    preps, cuts, targets
        The training captchas, their cuts (working scale) and their labels as
        alphabet indices, one array per captcha (of any length).
    rng : numpy Generator
        Source of every random choice, in a fixed order (reproducible fits).
    features : callable
        What the classifier reads in a window.
    augment : int
        Moved copies of each character, each edge pair moved by the same
        random whole number of pixels within ``spread`` (none below half a pixel).
    strokes, warps : float
        Shares of the moved copies cut from the captcha with strokes a pixel
        thicker or thinner (half each) and from it turned and scaled at random;
        these need ``front_params`` to rebuild the variant's HOG map.
    misplaced : callable or None
        Windows holding no one character, added with class ``reject_class``.

    Returns
    -------
    X : ndarray, shape (rows, features)
    y : ndarray of int, shape (rows,)
    """
    params = front_params or {}
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
        if misplaced is not None:
            slices.append(misplaced(prep, cut, rng))
            labels.append(np.full(len(slices[-1]), reject_class))
        X.append(features(prep, np.concatenate(slices)))
        y.append(np.concatenate(labels))
    return np.concatenate(X), np.concatenate(y)
