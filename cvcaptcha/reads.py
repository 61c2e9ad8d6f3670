"""The reader's window reads: centred, moved and recentring reads of characters.

The reader is the accurate, costlier classifier. How much of it a captcha
costs is decided here, by one sureness rule: a character whose centred read's
best class is at least ``shift_below`` sure is *sure*. A captcha with an
unsure character may be recentred (:func:`cvcaptcha.locate.locate`, scoring
windows with :meth:`Reader.recentring_scorer`), and each character still
unsure is read again in windows moved sideways and the reads averaged
(:meth:`Reader.moved`). Most characters are sure, so most captchas cost one
reader call for the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .locator import Locator
from .models import by_class
from .prepare import Prepared
from .segment import Scorer


@dataclass
class Reader:
    """A fitted reading classifier and how it reads windows of a captcha.

    Parameters
    ----------
    classifier : estimator
        Fitted, with ``predict_proba`` and ``classes_`` (indices into the alphabet).
    n_classes : int
        Number of character classes (the alphabet's size).
    features : callable
        ``features(prep, cuts)``: one input row per window (see
        :class:`~cvcaptcha.windows.CharWindows`).
    n_chars : int
        Characters per captcha.
    char_width : float
        Learned character width (pixels at working height).
    shift_reads, shift_span, shift_below
        The recognizer's parameters of the same names: moved reads on each
        side, their largest move (fraction of the width), and the sureness rule.
    """

    classifier: Any
    n_classes: int
    features: Callable[[Prepared, np.ndarray], np.ndarray]
    n_chars: int
    char_width: float
    shift_reads: int
    shift_span: float
    shift_below: float

    def proba(self, X: np.ndarray) -> np.ndarray:
        """The classifier's probabilities of input rows ``X``, one column per class."""
        proba = self.classifier.predict_proba(X).astype(np.float64)
        return by_class(proba, self.classifier.classes_, self.n_classes)

    def sure(self, proba: np.ndarray) -> bool:
        """Whether every character of one captcha's reads ``proba`` is read surely."""
        return bool(proba.max(axis=1).min() >= self.shift_below)

    def centred(self, preps: Sequence[Prepared], cuts: Sequence[np.ndarray]) -> np.ndarray:
        """The probabilities of the windows centred on ``cuts``, shape
        ``(captchas, n_chars, classes)``: one reader call for the batch."""
        if not preps:
            return np.empty((0, self.n_chars, self.n_classes))
        X = np.concatenate([self.features(p, c) for p, c in zip(preps, cuts)])
        return self.proba(X).reshape(len(preps), self.n_chars, -1)

    def offsets(self) -> np.ndarray:
        """Sideways moves (pixels) of the moved reads: ``shift_reads`` on each
        side, evenly up to ``shift_span`` of the character width, and none."""
        step = self.shift_span * self.char_width / max(self.shift_reads, 1)
        # plain Python: a handful of numbers, and numpy's per-call cost shows here
        moves = {round(k * step) for k in range(-self.shift_reads, self.shift_reads + 1)}
        return np.array(sorted(moves))

    def moved(
        self, preps: Sequence[Prepared], cuts: Sequence[np.ndarray], proba: np.ndarray
    ) -> np.ndarray:
        """``proba`` (centred reads, changed in place) with each unsure
        character's read averaged with its reads at the moved windows (one more
        reader call for the batch)."""
        weak = proba.max(axis=2) < self.shift_below
        if not self.shift_reads or not weak.any():  # the usual case on a single captcha
            return proba
        moves = self.offsets()
        moves = moves[moves != 0]
        if not len(moves):  # a character too narrow to move
            return proba
        X = np.concatenate([
            # each weak character's moved windows, one after another
            self.features(
                p,
                np.minimum(np.maximum(c[w][:, None] + moves[None, :, None], 0), p.mask.shape[1])
                .reshape(-1, 2),
            )
            for p, c, w in zip(preps, cuts, weak)
            if w.any()
        ])
        moved = self.proba(X).reshape(-1, len(moves), proba.shape[2]).sum(axis=1)
        proba[weak] = (proba[weak] + moved) / (len(moves) + 1)
        return proba

    def windows(
        self, prep: Prepared, intervals: np.ndarray, seen: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """The probabilities of the windows ``intervals`` of one captcha, reading
        only those not in ``seen`` (windows already read: ``intervals`` and their
        ``proba``); when given, ``seen`` then holds these windows."""
        if not seen:
            proba = self.proba(self.features(prep, intervals))
        else:
            rows = seen_rows(seen["intervals"], intervals)
            proba = seen["proba"][rows]  # rows of -1 are overwritten next
            new = rows < 0
            if new.any():
                proba[new] = self.proba(self.features(prep, intervals[new]))
        if seen is not None:
            seen["intervals"], seen["proba"] = intervals, proba
        return proba

    def recentring_scorer(
        self, prep: Prepared, locator: Locator, table: np.ndarray, weight: float,
        targets: np.ndarray | None = None, seen: dict[str, np.ndarray] | None = None,
    ) -> Scorer:
        """A scorer for :meth:`~cvcaptcha.segment.Segmenter.recentre`: the
        reader's log-probabilities of each window plus ``weight`` times the
        locator's (its ``table`` of this captcha), of the best class (free
        decoding) or of ``targets[k]`` at position ``k`` (forced alignment).
        Windows in ``seen`` are not read again (see :meth:`windows`)."""
        wanted = np.empty(0, np.int64) if targets is None else np.asarray(targets, np.int64)

        def score(mask: np.ndarray, intervals: np.ndarray) -> np.ndarray:
            proba = self.windows(prep, intervals, seen)
            rows = locator.rows(table, intervals)
            logs = _joint_logs(proba, table, rows, float(weight), wanted)
            if targets is None:  # one column: every position scores the best class
                return np.broadcast_to(logs, (len(logs), self.n_chars))
            return logs

        return score


def seen_rows(intervals: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Row of each of ``cuts`` in ``intervals`` (windows already read), or -1
    where it is not among them as it stands.

    Examples
    --------
    >>> seen_rows(np.array([[0, 10], [2, 12], [4, 14]]), np.array([[2, 12], [3, 13]])).tolist()
    [1, -1]
    """
    return _match_rows(np.asarray(intervals, np.int64), np.asarray(cuts, np.int64))


@numba.njit(cache=True, nogil=True)
def _match_rows(
    intervals: np.ndarray, cuts: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through seen_rows
    """:func:`seen_rows` in one compiled pass over a few dozen windows."""
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
) -> np.ndarray:  # pragma: no cover - compiled; tested through Reader.recentring_scorer
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
