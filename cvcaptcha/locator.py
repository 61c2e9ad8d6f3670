"""The locator: a linear model that scores where characters are centred.

Guided segmentation needs a score for every candidate position of a captcha,
cheaply. The locator is a multinomial logistic regression over windows of
the captcha's HOG map (:func:`~cvcaptcha.windows.hog_windows`), trained on
every character class plus a *reject* class of misplaced windows (slices
straddling two characters, :func:`misplaced_slices`), so a window between
two glyphs scores low. Applied as plain arrays: scoring every window position
of a captcha is one small matrix product (:meth:`Locator.table`), and a
segmenter then only looks rows of that table up (:meth:`Locator.scorer`).
Being a second, differently built classifier, it also casts a small vote in
the reader's final reading (:meth:`Locator.vote`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from .features import window_scores
from .models import by_class, softmax
from .prepare import Prepared
from .segment import Scorer, Segmenter
from .training import Misplaced, training_set
from .windows import hog_windows, window_cells, window_starts

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


def misplaced_slices(
    intervals: np.ndarray, cuts: np.ndarray, count: int, overlap: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Up to ``count`` of the candidate ``intervals`` (drawn at random) whose
    intersection over union with every character of ``cuts`` is below
    ``overlap``: the reject class's training windows.

    Examples
    --------
    >>> candidates = np.array([[0, 10], [5, 15], [10, 20]])
    >>> misplaced_slices(candidates, np.array([[0, 10], [10, 20]]), 5, 0.5,
    ...                  np.random.default_rng(0)).tolist()
    [[5, 15]]
    """
    inter = np.minimum(intervals[:, None, 1], cuts[None, :, 1]) - np.maximum(
        intervals[:, None, 0], cuts[None, :, 0]
    )
    union = np.maximum(intervals[:, None, 1], cuts[None, :, 1]) - np.minimum(
        intervals[:, None, 0], cuts[None, :, 0]
    )
    iou = np.clip(inter, 0, None) / np.maximum(union, 1)
    pool = intervals[iou.max(axis=1) < overlap]
    return pool[rng.choice(len(pool), min(count, len(pool)), replace=False)]


def fit_locator(
    X: np.ndarray, y: np.ndarray, max_iter: int = 200,
    previous: LogisticRegression | None = None,
) -> LogisticRegression:
    """Train the locator's logistic regression on HOG-map windows ``X`` with
    classes ``y`` (characters, and the reject class).

    A ``previous`` locator (an earlier alignment round's, with windows of the
    same width) is the warm start. Convergence warnings are silenced: the
    locator only ranks window positions, which it does well before lbfgs
    has converged.
    """
    if previous is None or previous.coef_.shape[1] != X.shape[1]:
        # none yet, or the re-learned pitch changed the window size
        previous = LogisticRegression(C=1.0, warm_start=True)
    model = previous.set_params(max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model


def train_locator(
    preps: list[Prepared], cuts: list[np.ndarray], targets: Sequence[np.ndarray],
    rng: np.random.Generator, segmenter: Segmenter, n_classes: int, hog_cell: int,
    hog_block: int, augment: int, spread: float, reject: int, overlap: float,
    max_iter: int = 200, previous: LogisticRegression | None = None,
    width: float | None = None,
) -> LogisticRegression:
    """Train the locator on the HOG-map windows at the training captchas'
    ``cuts`` (labels ``targets``), with ``augment`` moved copies of each within
    ``spread`` pixels (one is enough to rank positions) and ``reject``
    misplaced windows per captcha (among the ``segmenter``'s candidates,
    overlapping no character by ``overlap``) as class ``n_classes``; see
    :func:`fit_locator` for ``max_iter`` and ``previous``; windows are sized
    by ``width`` (default: the segmenter's learned pitch)."""
    width = width or segmenter.char_width_
    misplaced: Misplaced | None = None
    if reject:
        def misplaced(p: Prepared, c: np.ndarray, r: np.random.Generator) -> np.ndarray:
            candidates = segmenter.lattice(p.mask, len(c))[0]
            return misplaced_slices(candidates, c, reject, overlap, r)

    X, y = training_set(
        preps, cuts, targets, rng,
        lambda p, c: hog_windows(p, c, width, LOCATOR_CONTEXT, hog_cell, hog_block),
        augment, spread, misplaced=misplaced, reject_class=n_classes,
    )
    return fit_locator(X, y, max_iter, previous)


@dataclass
class Locator:
    """A fitted locator as plain arrays, and how segmentation reads it.

    Parameters
    ----------
    coef, intercept : ndarray of float32
        The logistic regression's weights, C order (one row per class).
    classes : ndarray of int
        Classes the regression saw; ``n_classes`` is the reject class.
    n_classes : int
        Number of character classes (the alphabet's size).
    char_width : float
        Learned character width, which sets the window width.
    hog_cell, hog_block : int
        The HOG map's cell and block sizes.
    """

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray
    n_classes: int
    char_width: float
    hog_cell: int
    hog_block: int

    def table(self, hog: np.ndarray) -> np.ndarray:
        """Character probabilities at every window position of a captcha's HOG
        map (rows: window start columns; columns: characters). The reject class
        is left out, so a row sums to less than one where the window looks
        misplaced."""
        blocks = window_cells(self.char_width, LOCATOR_CONTEXT, self.hog_cell, self.hog_block)
        logits = window_scores(hog, self.coef, self.intercept, blocks - self.hog_block + 1)
        return by_class(softmax_logits(logits), self.classes, self.n_classes + 1)[:, :-1]

    def rows(self, table: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """Rows of ``table`` that read the windows centred on ``cuts``."""
        return window_starts(
            cuts, self.char_width, LOCATOR_CONTEXT, self.hog_cell, self.hog_block, len(table) - 1
        )

    def scorer(
        self, table: np.ndarray, n_chars: int, targets: np.ndarray | None = None
    ) -> Scorer:
        """A segmentation scorer from a captcha's ``table``: log-probability of
        the best class (free decoding), or of ``targets[k]`` at position ``k``
        (forced alignment to a known label)."""

        def score(mask: np.ndarray, intervals: np.ndarray) -> np.ndarray:
            rows = self.rows(table, intervals)
            if targets is None:  # free decoding reads one number per window
                return _best_logs(table, rows, n_chars)
            return np.log(np.clip(table[rows][:, targets], 1e-6, 1.0))

        return score

    def vote(
        self, proba: np.ndarray, table: np.ndarray, cuts: np.ndarray, weight: float
    ) -> np.ndarray:
        """``proba`` (a reader's, one row per character of ``cuts``) times the
        locator's class probabilities at each window to the power ``weight``,
        normalised: the second classifier breaks the reader's near-ties."""
        return _vote(proba, table, self.rows(table, cuts), weight)


@numba.njit(cache=True, nogil=True)
def _best_logs(
    table: np.ndarray, rows: np.ndarray, n_chars: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through Locator.scorer
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
) -> np.ndarray:  # pragma: no cover - compiled; tested through Locator.vote
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
