"""How many characters a captcha holds, for families of several label lengths.

A family whose labels all have one length never comes here. For the others
the recognizer reads each captcha at a few candidate lengths and keeps the
best (:func:`choose_length`); which lengths are worth reading, and how likely
each is before reading, comes from a learned *length prior*
(:class:`LengthPrior`): a ridge regression of the label length on a few
geometric measures of the captcha (:func:`length_features`: the text extent in
learned pitches, ink blobs, the locator's peaks), with a Gaussian of the
training residuals around its prediction. Being a regression, it also gives
a prior to lengths the user allows (``lengths=``) but training never showed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from scipy import ndimage

from .columns import column_ink, text_extent
from .errors import ConfigError, LabelError
from .prepare import Prepared

#: Floor of the prior's spread, in characters. Where the geometry gives the
#: length away (a canvas as wide as its text) the residuals are near zero and
#: the lengths one off are not read at all; where it does not, the learned
#: spread is wider than this and they are.
MIN_SPREAD: float = 0.2
#: A candidate length is read only when its prior is at least this share of
#: the most likely length's.
MIN_PRIOR_SHARE: float = 0.01
#: Most lengths read per captcha.
MAX_CANDIDATES: int = 3

R = TypeVar("R")


def parse_lengths(value: object) -> tuple[int, ...] | None:
    """The allowed label lengths from an int, ``"4-6"``/``"4,5,7"`` or a
    sequence of ints; None stays None (learned from the labels).

    Examples
    --------
    >>> parse_lengths("4-6"), parse_lengths(5), parse_lengths([7, 4]), parse_lengths(None)
    ((4, 5, 6), (5,), (4, 7), None)
    """
    if value is None:
        return None
    try:
        if isinstance(value, str):
            found: set[int] = set()
            for part in value.replace(" ", "").split(","):
                lo, _, hi = part.partition("-")
                found.update(range(int(lo), int(hi or lo) + 1))
        elif isinstance(value, (int, np.integer)):
            found = {int(value)}
        else:
            found = {int(v) for v in value}  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigError(
            f"lengths must be a length, a range like '4-6' or a list of lengths, not {value!r}"
        ) from None
    if not found or min(found) < 1:
        raise ConfigError(f"lengths must be positive, not {value!r}")
    return tuple(sorted(found))


def allowed_lengths(labels: Sequence[str], lengths: object = None) -> tuple[int, ...]:
    """The lengths a model reads: ``lengths`` when given (every label must fit),
    else every length from the shortest label's to the longest's."""
    seen = sorted({len(label) for label in labels})
    allowed = parse_lengths(lengths)
    if allowed is None:
        return tuple(range(seen[0], seen[-1] + 1))
    odd = sorted(set(seen) - set(allowed))
    if odd:
        raise LabelError(
            f"labels of length {', '.join(map(str, odd))} are outside lengths={lengths!r}"
        )
    return allowed


def length_features(prep: Prepared, pitch: float, table: np.ndarray | None = None,
                    cell: int = 4) -> np.ndarray:
    """Measures of one captcha that tell how many characters it holds.

    The text extent, the inked columns and the ink area, each in learned
    pitches (``pitch``, pixels at working height); the ink blobs (runs of
    inked columns, connected components); and, when the locator's ``table`` of
    this captcha is given (rows every ``cell`` pixels), its expected count
    (the summed best-character probability over a pitch) and its peaks above
    one half at least half a pitch apart.

    Examples
    --------
    >>> m = np.zeros((20, 60), np.uint8); m[5:15, 5:12] = 1; m[5:15, 25:32] = 1
    >>> p = Prepared(m, 1.0, m.astype(np.float32), np.zeros((1, 1), np.float32))
    >>> length_features(p, 20.0)[:2].round(2).tolist()
    [1.35, 0.7]
    """
    mask = prep.mask
    h = mask.shape[0]
    x0, x1 = text_extent(mask)
    ink = column_ink(mask)
    inked = ink >= max(1.0, 0.1 * h)
    runs = int(np.count_nonzero(inked[1:] & ~inked[:-1]) + inked[0]) if len(inked) else 0
    labelled, _ = ndimage.label(mask)
    areas = np.bincount(labelled.ravel())[1:]
    big = int(np.count_nonzero(areas >= 0.02 * h * h))
    feats = [
        (x1 - x0) / pitch, inked.sum() / pitch, mask.sum() / (pitch * h), runs, big,
        mask.shape[1] / h,
    ]
    if table is not None:
        best = table.max(axis=1) if len(table) else np.zeros(1)
        step = max(1, int(round(pitch / cell)))
        feats += [best.sum() / step, _peaks(best, max(1, step // 2))]
    return np.asarray(feats, dtype=np.float64)


def _peaks(profile: np.ndarray, distance: int) -> int:
    """Local maxima of ``profile`` above one half, at least ``distance`` apart."""
    from scipy.signal import find_peaks

    return len(find_peaks(np.r_[0.0, profile, 0.0], height=0.5, distance=distance)[0])


@dataclass
class LengthPrior:
    """A fitted length prior as plain arrays (see the module docstring).

    Parameters
    ----------
    mean, scale : ndarray
        Standardisation of the features.
    coef : ndarray
        Ridge weights on the standardised features.
    intercept : float
    spread : float
        Standard deviation of the training residuals (floored at :data:`MIN_SPREAD`).
    lengths : tuple of int
        The lengths a captcha may have.

    The features are centred, so ``intercept`` is the mean training length
    (:attr:`typical`).
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    spread: float
    lengths: tuple[int, ...]

    @property
    def typical(self) -> float:
        """The mean label length of the training captchas."""
        return self.intercept

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, lengths: tuple[int, ...],
            alpha: float = 1.0) -> LengthPrior:
        """Learn the regression from features ``X`` (one row per captcha) and
        label lengths ``y``."""
        from sklearn.linear_model import Ridge

        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        model = Ridge(alpha=alpha).fit((X - mean) / scale, y)
        residuals = y - model.predict((X - mean) / scale)
        spread = max(float(np.std(residuals)), MIN_SPREAD)
        return cls(mean, scale, model.coef_.astype(np.float64), float(model.intercept_),
                   spread, tuple(lengths))

    def log_prior(self, X: np.ndarray) -> np.ndarray:
        """Log-probability of each allowed length for each captcha, shape
        ``(captchas, len(lengths))``, each row normalised."""
        predicted = ((np.atleast_2d(X) - self.mean) / self.scale) @ self.coef + self.intercept
        z = (np.asarray(self.lengths)[None, :] - predicted[:, None]) / self.spread
        logs = -0.5 * z**2
        return logs - np.logaddexp.reduce(logs, axis=1, keepdims=True)

    def candidates(self, log_prior: np.ndarray) -> list[list[int]]:
        """The lengths worth reading in each captcha, most likely first: at
        most :data:`MAX_CANDIDATES`, each at least :data:`MIN_PRIOR_SHARE` as
        likely as the best."""
        out = []
        for row in log_prior:
            order = np.argsort(-row)[:MAX_CANDIDATES]
            keep = [int(i) for i in order if row[i] >= row[order[0]] + np.log(MIN_PRIOR_SHARE)]
            out.append([self.lengths[i] for i in keep])
        return out


def count_agreement(counts: Sequence[int | None], lengths: Sequence[int]) -> float | None:
    """How often a segmenter's own count of pieces (:meth:`~cvcaptcha.segment.
    Segmenter.count`) equals the label length in training, smoothed (one
    agreement and one miss added); None when the segmenter counts nothing.

    Examples
    --------
    >>> count_agreement([4, 5, 5, 7], [4, 5, 6, 7])
    0.6667
    """
    pairs = [(c, n) for c, n in zip(counts, lengths) if c is not None]
    if not pairs:
        return None
    hits = sum(c == n for c, n in pairs)
    return round((hits + 1) / (len(pairs) + 2), 4)


def count_log_likelihood(
    counts: Sequence[int | None], lengths: Sequence[int], agreement: float | None
) -> np.ndarray:
    """Log-likelihood of each captcha's count of pieces under each length,
    shape ``(captchas, len(lengths))``: ``agreement`` where the count is the
    length, the rest shared by the other lengths (zeros where nothing was
    counted). Added to the length prior, it makes the count the segmenter
    found as strong a witness as training showed it to be.

    Examples
    --------
    >>> np.exp(count_log_likelihood([5, None], [4, 5, 6], 0.8)).round(2).tolist()
    [[0.1, 0.8, 0.1], [1.0, 1.0, 1.0]]
    """
    out = np.zeros((len(counts), len(lengths)))
    if agreement is None or len(lengths) < 2:
        return out
    hit, miss = np.log(agreement), np.log((1 - agreement) / (len(lengths) - 1))
    for i, c in enumerate(counts):
        if c is not None:
            out[i] = np.where(np.asarray(lengths) == c, hit, miss)
    return out


def read_log_score(
    proba: np.ndarray, located: np.ndarray | None, typical: float,
    steps: np.ndarray | None = None,
) -> float:
    """The score of one read on the scale every length shares: the mean
    per-character log-probability of the reader's best classes (``proba``,
    one row per character) plus, for a guided model, of the locator's best
    class at the same windows (``located``, one value per character), plus
    the mean log-density of the pitch prior over the steps between the
    characters (``steps``: each step's z-score under the prior of this
    length), times the family's ``typical`` length.

    A sum over characters would favour the shorter of two reads (one term
    less, however good); a mean does not. The locator, trained to reject
    misplaced windows, tells a window straddling two glyphs from a centred one
    where the reader alone may not; the pitch prior tells a read that skips a
    glyph (one step twice as long) from one that reads them all.

    Examples
    --------
    >>> sure, unsure = np.array([[0.9, 0.1]] * 4), np.array([[0.9, 0.1]] * 4 + [[0.5, 0.5]])
    >>> read_log_score(sure, None, 5.0) > read_log_score(unsure, None, 5.0)
    True
    >>> skipped = np.array([0.0, 0.0, 4.0])  # one step four spreads too long
    >>> read_log_score(sure, None, 5.0, skipped) < read_log_score(sure, None, 5.0, 0 * skipped)
    True
    """
    logs = np.log(np.maximum(proba.max(axis=1), 1e-12)).mean()
    if located is not None:
        logs += np.log(np.maximum(located, 1e-6)).mean()
    if steps is not None and len(steps):
        logs -= float(np.mean(np.square(steps))) / 2
    return float(typical * logs)


def located(table: np.ndarray | None, locator: Any, cuts: np.ndarray) -> np.ndarray | None:
    """The locator's best-class probability at each of ``cuts`` (None unguided):
    the ``located`` of :func:`read_log_score`."""
    if table is None or locator is None:
        return None
    return table[locator.rows(table, cuts)].max(axis=1)


def pitch_steps(
    mask: np.ndarray, cuts: np.ndarray,
    width_prior: Callable[[int, int, int], tuple[float, float]],
) -> np.ndarray:
    """Each step between neighbouring characters of ``cuts`` as a z-score under
    the segmenter's pitch prior for that many characters (``width_prior(left,
    right, n)``: mean and spread): the ``steps`` of :func:`read_log_score`.

    Examples
    --------
    >>> mask = np.zeros((10, 40), np.uint8); mask[2:8, 5:35] = 1
    >>> cuts = np.array([[5, 15], [15, 25], [25, 35]])
    >>> pitch_steps(mask, cuts, lambda left, right, n: (8.0, 1.0)).tolist()
    [2.0, 2.0]
    """
    mean, std = width_prior(*text_extent(mask), len(cuts))
    return (np.diff(cuts.sum(axis=1) / 2) - mean) / std


def choose_length(scores: dict[int, float]) -> tuple[int, float]:
    """The best-scoring length and its posterior share among ``scores``
    (log-scores of the reads at each candidate length).

    Examples
    --------
    >>> n, p = choose_length({4: np.log(0.2), 5: np.log(0.6)})
    >>> n, round(p, 2)
    (5, 0.75)
    """
    lengths = list(scores)
    logs = np.array([scores[n] for n in lengths], dtype=float)
    best = int(np.argmax(logs))
    share = float(np.exp(logs[best] - np.logaddexp.reduce(logs)))
    return lengths[best], share


def read_best_lengths(
    prior: LengthPrior, log_prior: np.ndarray, read_at: Callable[[list[int], int], list[R]],
    log_score: Callable[[R], float],
) -> list[tuple[R, float]]:
    """Read every captcha at each of its candidate lengths and keep the best.

    Parameters
    ----------
    prior : LengthPrior
    log_prior : ndarray, shape (captchas, len(prior.lengths))
        :meth:`LengthPrior.log_prior` of the captchas.
    read_at : callable
        ``read_at(indices, n)``: the reads of the captchas ``indices`` as
        ``n`` characters each (one call per length, for a batch).
    log_score : callable
        The log-probability of one read (e.g. the sum of its characters').

    Returns
    -------
    list of (read, share)
        Per captcha, the read whose prior plus ``log_score`` is best, and its
        share among the candidates (see :func:`choose_length`).
    """
    wanted = prior.candidates(log_prior)
    found: dict[tuple[int, int], R] = {}
    for n in sorted({n for ns in wanted for n in ns}):
        idx = [i for i, ns in enumerate(wanted) if n in ns]
        found.update(((i, n), r) for i, r in zip(idx, read_at(idx, n)))
    out = []
    for i, ns in enumerate(wanted):
        scores = {n: log_prior[i, prior.lengths.index(n)] + log_score(found[i, n]) for n in ns}
        n, share = choose_length(scores)
        out.append((found[i, n], share))
    return out
