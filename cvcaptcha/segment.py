"""Cutting an ink mask into character slices.

Every strategy is a small object with the same interface:

* ``fit(masks, n_chars)`` learns geometry (typical character width) from
  training masks and returns self;
* ``cut(mask, n_chars, scorer=None)`` returns an ``(n_chars, 2)`` int array of
  column intervals ``[x0, x1)``, left to right, always exactly ``n_chars`` of
  them;
* ``cut_status(mask, n_chars, scorer=None)`` returns the same cuts and whether
  the strategy's own evidence gave ``n_chars`` pieces (``None`` when the count
  is imposed by construction), which is what "exact count" means in
  :func:`cvcaptcha.compare.compare_segmenters`.

A *scorer* lets the character classifier take part in segmentation: called
as ``scorer(mask, intervals)`` with an ``(m, 2)`` array of candidate slices, it
returns an ``(m, n_chars)`` array where entry ``[j, k]`` is the log-score of
slice ``j`` being the ``k``-th character. Scoring by the best class gives free
decoding; scoring by the known label's class gives forced alignment. Only
strategies with ``guided = True`` use it; the others ignore it.

Strategies are registered by name in :data:`SEGMENTERS`; adding one touches
only this file. All sizes are relative to the image height or to the
character width learned in ``fit``, so nothing is tied to one captcha family.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import ClassVar

import cv2
import numba
import numpy as np

from .errors import ConfigError

#: ``scorer(mask, intervals) -> (len(intervals), n_chars)`` log-scores.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: A column whose ink is below this fraction of the height counts as a gap
#: between characters: thinner than any stroke seen side on, but noise lines pass.
GAP_FRAC: float = 0.12


def column_ink(mask: np.ndarray) -> np.ndarray:
    """Ink pixels per column.

    Examples
    --------
    >>> column_ink(np.eye(3, dtype=np.uint8)).tolist()
    [1, 1, 1]
    """
    return mask.sum(axis=0, dtype=np.int32)


def text_extent(mask: np.ndarray, min_frac: float = 0.1) -> tuple[int, int]:
    """Columns ``[x0, x1)`` that hold the text.

    A column counts when at least ``min_frac`` of the height is ink, which
    ignores thin noise lines running past the text.

    Examples
    --------
    >>> m = np.zeros((10, 20), np.uint8); m[:, 5:9] = 1
    >>> text_extent(m)
    (5, 9)
    """
    mask = np.ascontiguousarray(mask)
    x0, x1 = _extent(mask, max(1.0, min_frac * mask.shape[0]))
    if x0 < 0:  # no column holds that much ink: the columns with any
        x0, x1 = _extent(mask, 1.0)
    return (int(x0), int(x1)) if x0 >= 0 else (0, mask.shape[1])


@numba.njit(cache=True, nogil=True)
def _extent(mask: np.ndarray, least: float) -> tuple[int, int]:  # pragma: no cover - compiled
    """First and one past the last column with at least ``least`` ink pixels,
    ``(-1, -1)`` if none: one compiled pass, where numpy needs five calls
    that cost more than the pass on a captcha."""
    ink = np.zeros(mask.shape[1], np.int64)
    for row in mask:
        for x in range(len(row)):
            ink[x] += row[x] != 0
    first = last = -1
    for x in range(len(ink)):
        if ink[x] >= least:
            last = x
            if first < 0:
                first = x
    return first, last + 1 if last >= 0 else -1


def equal_cuts(x0: int, x1: int, n_chars: int) -> np.ndarray:
    """Split ``[x0, x1)`` into ``n_chars`` intervals of (nearly) equal width.

    Examples
    --------
    >>> equal_cuts(0, 10, 2).tolist()
    [[0, 5], [5, 10]]
    """
    x1 = max(x1, x0 + n_chars)
    edges = np.round(np.linspace(x0, x1, n_chars + 1)).astype(int)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def edges_to_cuts(edges: np.ndarray) -> np.ndarray:
    """Consecutive edges ``e0 < e1 < ...`` to ``(n, 2)`` intervals.

    Examples
    --------
    >>> edges_to_cuts(np.array([0, 3, 7])).tolist()
    [[0, 3], [3, 7]]
    """
    edges = np.asarray(edges, dtype=int)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def smoothed_ink(mask: np.ndarray) -> np.ndarray:
    """Column ink as a fraction of the height, lightly smoothed.

    Smoothing over three columns keeps a one-column gap from winning over a
    slightly wider, more convincing one.
    """
    ink = column_ink(mask).astype(float) / mask.shape[0]
    return np.convolve(ink, [0.25, 0.5, 0.25], mode="same")


def _pitches(cuts: np.ndarray) -> np.ndarray:
    """Distances between neighbouring character centres (the width of a lone character).

    Examples
    --------
    >>> _pitches(np.array([[0, 10], [10, 20], [22, 30]])).tolist()
    [10.0, 11.0]
    """
    centres = cuts.mean(axis=1)
    return np.diff(centres) if len(centres) > 1 else (cuts[:, 1] - cuts[:, 0]).astype(float)


def _all_gaps(ink: np.ndarray, cuts: np.ndarray) -> bool:
    """Whether every inner edge of ``cuts`` falls on a gap column."""
    inner = cuts[1:, 0]
    inner = inner[inner < len(ink)]
    return bool(np.all(ink[inner] < GAP_FRAC))


class Segmenter:
    """Base strategy: learns the typical character width; subclasses implement ``cut_status``."""

    #: Whether ``cut`` uses a classifier scorer; guided strategies also
    #: provide ``lattice(mask, n_chars)``, their candidate slices.
    guided: ClassVar[bool] = False
    #: Floor of the learned width spread, as a fraction of the mean width.
    min_spread: ClassVar[float] = 0.15

    def fit(self, masks: list[np.ndarray], n_chars: int) -> Segmenter:
        """Learn the mean and spread of character widths from training masks.

        The width of one character is the text extent over the label length;
        its spread is floored (see :meth:`set_widths`) so a very regular
        training set does not make the width prior brittle.
        """
        widths = [(x1 - x0) / n_chars for x0, x1 in (text_extent(m) for m in masks)]
        return self.set_widths(np.array(widths, dtype=float))

    def set_widths(self, widths: np.ndarray) -> Segmenter:
        """Set the learned width prior from observed character widths (pixels).

        The spread is floored at ``min_spread`` of the mean and at one pixel.
        """
        widths = np.asarray(widths, dtype=float)
        self.char_width_ = float(np.median(widths))
        self.char_width_std_ = float(
            max(np.std(widths), self.min_spread * self.char_width_, 1.0)
        )
        return self

    def learn_cuts(self, masks: list[np.ndarray], cuts: list[np.ndarray]) -> Segmenter:
        """Refit the priors from cuts known to be right (forced alignments).

        The width prior comes from the distances between neighbouring
        character centres (see :meth:`set_widths`); the margin prior from
        where the first and last centres sit inside the text extent
        (``margins_``: mean and spread of ``first - x0`` and of ``x1 - last``
        in pixels, spreads floored like the width's), which a strategy may use
        to keep a path from starting or ending a character early or late.
        """
        self.set_widths(np.concatenate([_pitches(c) for c in cuts]))
        centres = [c.mean(axis=1) for c in cuts]
        extents = np.array([text_extent(m) for m in masks], dtype=float)
        heads = np.array([c[0] for c in centres]) - extents[:, 0]
        tails = extents[:, 1] - np.array([c[-1] for c in centres])
        floor = max(self.min_spread * self.char_width_, 1.0)
        self.margins_ = [
            float(np.mean(heads)), float(max(np.std(heads), floor)),
            float(np.mean(tails)), float(max(np.std(tails), floor)),
        ]
        return self

    def width_prior(self, x0: int, x1: int, n_chars: int) -> tuple[float, float]:
        """Mean and spread of a character's width, learned or from this extent."""
        mean = getattr(self, "char_width_", (x1 - x0) / n_chars)
        std = getattr(self, "char_width_std_", max(0.15 * mean, 1.0))
        return mean, std

    def cut(self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None) -> np.ndarray:
        """Exactly ``n_chars`` column intervals, left to right."""
        return self.cut_status(mask, n_chars, scorer)[0]

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        """Cuts and whether the strategy found ``n_chars`` pieces without forcing."""
        raise NotImplementedError

    @property
    def recentres(self) -> bool:
        """Whether :meth:`recentre` moves cuts (strategies placing characters as
        points may; the others never do)."""
        return False

    def recentre(self, mask: np.ndarray, cuts: np.ndarray, scorer: Scorer) -> np.ndarray | None:
        """Cuts moved to where a finer ``scorer`` places the characters, or None
        when the strategy does not recentre (see :attr:`recentres`)."""
        return None


class EqualWidth(Segmenter):
    """Equal-width slices of the text extent: the baseline.

    The count is imposed by construction, so its exact-count status is ``None``.
    """

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        return equal_cuts(*text_extent(mask), n_chars), None


class Projection(Segmenter):
    """Cut at the lowest-ink column near each equal-width cut.

    Each inner cut moves independently within a third of a character width of
    its equal-width position, which fixes small drifts cheaply. Exact when
    every cut lands on a gap column.
    """

    def __init__(self, window: float = 0.35) -> None:
        self.window = window

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        x0, x1 = text_extent(mask)
        base = equal_cuts(x0, x1, n_chars)
        if n_chars == 1 or x1 - x0 < 2 * n_chars:
            return base, False
        ink = smoothed_ink(mask)
        half = max(1, int(round(self.window * (x1 - x0) / n_chars)))
        edges = [x0]
        for e in base[1:, 0]:
            lo = max(edges[-1] + 1, e - half)
            hi = min(x1 - (n_chars - len(edges)), e + half + 1)
            edges.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else int(e))
        edges.append(x1)
        cuts = edges_to_cuts(np.array(edges))
        return cuts, _all_gaps(ink, cuts)


def dp_cuts(
    ink: np.ndarray, x0: int, x1: int, n_chars: int, mean: float, std: float, weight: float
) -> np.ndarray:
    """Edges minimising ink crossed by the inner cuts plus a width penalty.

    Dynamic programming over every column of ``[x0, x1]``: cost of a path is
    the ink under its ``n_chars - 1`` inner cuts plus ``weight`` times the
    squared z-score of each character width.

    Returns
    -------
    ndarray of int, shape (n_chars + 1,)
        The edges, ``x0`` first and ``x1`` last.
    """
    span = x1 - x0
    pos = np.arange(span + 1)
    gap = pos[None, :] - pos[:, None]  # gap[i, j] = width from cut i to cut j
    trans = weight * ((gap - mean) / std) ** 2
    trans[gap < 1] = np.inf
    local = ink[x0:x1 + 1]
    local = np.pad(local, (0, span + 1 - len(local)))
    cost = np.full(span + 1, np.inf)
    cost[0] = 0.0
    back = np.zeros((n_chars, span + 1), dtype=int)
    for k in range(1, n_chars + 1):
        total = cost[:, None] + trans
        back[k - 1] = np.argmin(total, axis=0)
        cost = total[back[k - 1], pos] + (local if k < n_chars else 0.0)
    edges = [span]
    for k in range(n_chars - 1, -1, -1):
        edges.append(back[k, edges[-1]])
    return np.array(edges[::-1]) + x0


class DynamicProgramming(Segmenter):
    """Choose all cuts jointly: least ink crossed plus the learned width prior.

    Unlike :class:`Projection`, one poor gap can be traded against the widths
    of every character. Exact when every cut lands on a gap column.
    """

    def __init__(self, width_weight: float = 0.05) -> None:
        self.width_weight = width_weight

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        return _dp_status(self, mask, n_chars, self.width_weight)


def _dp_status(
    seg: Segmenter, mask: np.ndarray, n_chars: int, weight: float
) -> tuple[np.ndarray, bool]:
    """:func:`dp_cuts` over the text extent with ``seg``'s width prior, and its gap status."""
    x0, x1 = text_extent(mask)
    if n_chars == 1 or x1 - x0 < 2 * n_chars:
        return equal_cuts(x0, x1, n_chars), False
    ink = smoothed_ink(mask)
    mean, std = seg.width_prior(x0, x1, n_chars)
    cuts = edges_to_cuts(dp_cuts(ink, x0, x1, n_chars, mean, std, weight))
    return cuts, _all_gaps(ink, cuts)


class Components(Segmenter):
    """Connected components, splitting over-wide blobs and merging fragments.

    Each component's box is trimmed to its columns holding a stroke, so a thin
    noise line touching the text does not stretch it. Components overlapping
    in x are merged (dots, broken strokes); then the blob widest relative to
    the learned width is split at low-ink columns while there are too few
    pieces, and the neighbouring pair with the narrowest union is merged while
    there are too many. Exact when the merged blobs already number ``n_chars``.
    """

    def __init__(self, min_area: float = 0.02) -> None:
        self.min_area = min_area

    def blobs(self, mask: np.ndarray) -> list[list[int]]:
        """Column intervals of the ink blobs, fragments merged, left to right."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = self.min_area * mask.shape[0] ** 2
        boxes = []
        for i in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1:
            left = int(stats[i, cv2.CC_STAT_LEFT])
            right = left + int(stats[i, cv2.CC_STAT_WIDTH])
            piece = (labels[:, left:right] == i).astype(np.uint8)
            a, b = text_extent(piece)
            boxes.append([left + a, left + b])
        boxes.sort()
        merged: list[list[int]] = []
        for a, b in boxes:
            if merged and merged[-1][1] - a > 0.5 * min(b - a, merged[-1][1] - merged[-1][0]):
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return merged

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        merged = self.blobs(mask)
        if not merged:
            return equal_cuts(*text_extent(mask), n_chars), False
        exact = len(merged) == n_chars
        mean, _ = self.width_prior(merged[0][0], merged[-1][1], n_chars)
        ink = smoothed_ink(mask)
        while len(merged) < n_chars:
            i = max(range(len(merged)), key=lambda j: merged[j][1] - merged[j][0])
            a, b = merged[i]
            if b - a < 2:
                break
            pieces = min(max(2, int(round((b - a) / mean))), n_chars - len(merged) + 1, b - a)
            merged[i:i + 1] = _split_at_valleys(ink, a, b, pieces).tolist()
        while len(merged) > n_chars:
            i = min(range(len(merged) - 1), key=lambda j: merged[j + 1][1] - merged[j][0])
            merged[i:i + 2] = [[merged[i][0], max(merged[i][1], merged[i + 1][1])]]
        if len(merged) < n_chars:
            return equal_cuts(*text_extent(mask), n_chars), False
        return np.array(merged, dtype=int), exact


def _split_at_valleys(ink: np.ndarray, a: int, b: int, pieces: int) -> np.ndarray:
    """Split ``[a, b)`` into ``pieces`` at the lowest-ink column near each equal cut."""
    edges = np.linspace(a, b, pieces + 1)
    half = (b - a) / pieces / 3.0
    cuts = [a]
    for k, e in enumerate(edges[1:-1], start=1):
        lo = max(cuts[-1] + 1, int(e - half))
        hi = min(b - (pieces - k), int(e + half) + 1)
        cuts.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else max(cuts[-1] + 1, int(e)))
    cuts.append(b)
    return edges_to_cuts(np.array(cuts))


def candidate_slices(
    x0: int, x1: int, mean: float, std: float, step: float, slack: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segmentation lattice: candidate edges and the slices between them.

    Edges lie on a grid of ``step`` pixels over ``[x0 - slack, x1 + slack]``;
    a slice joins two edges whose distance is a plausible width (within three
    spreads of the mean, and at least a third of it).

    Returns
    -------
    edges : ndarray of int, shape (e,)
    pairs : ndarray of int, shape (m, 2)
        Indices into ``edges`` of each slice's left and right edge.
    widths : ndarray of float, shape (m,)
    """
    lo, hi = x0 - slack, x1 + slack
    count = max(2, int(round((hi - lo) / step)) + 1)
    edges = np.unique(np.round(np.linspace(lo, hi, count)).astype(int))
    width = edges[None, :] - edges[:, None]
    ok = (width >= max(1.0, mean - 3 * std, mean / 3)) & (width <= mean + 3 * std)
    left, right = np.nonzero(ok)
    return edges, np.stack([left, right], axis=1), width[left, right].astype(float)


def viterbi(
    scores: np.ndarray,
    pairs: np.ndarray,
    n_edges: int,
    starts: np.ndarray,
    ends: np.ndarray,
) -> np.ndarray | None:
    """Best path of ``n_chars`` consecutive slices through the lattice.

    Parameters
    ----------
    scores : ndarray, shape (m, n_chars)
        Score of slice ``j`` as character ``k`` (higher is better).
    pairs : ndarray of int, shape (m, 2)
        Left and right edge index of each slice.
    n_edges : int
    starts, ends : ndarray of bool, shape (n_edges,)
        Edges where the first slice may begin and the last may end.

    Returns
    -------
    ndarray of int, shape (n_chars,) or None
        Indices of the chosen slices, or None if no path exists.

    Examples
    --------
    >>> pairs = np.array([[0, 1], [1, 2], [0, 2]])
    >>> scores = np.array([[0.0, -5], [-5, 0.0], [-1, -1]])
    >>> ok = np.array([True, False, False]), np.array([False, False, True])
    >>> viterbi(scores, pairs, 3, *ok).tolist()
    [0, 1]
    """
    n_chars = scores.shape[1]
    best = np.where(starts, 0.0, -np.inf)
    back = np.full((n_chars, n_edges), -1)
    order = np.argsort(pairs[:, 1], kind="stable")
    left, right = pairs[order, 0], pairs[order, 1]
    for k in range(n_chars):
        total = best[left] + scores[order, k]
        new = np.full(n_edges, -np.inf)
        np.maximum.at(new, right, total)
        hit = (total == new[right]) & np.isfinite(total)
        back[k, right[hit]] = order[hit]
        best = new
    final = np.where(ends, best, -np.inf)
    if not np.isfinite(final.max()):
        return None
    path = []
    edge = int(np.argmax(final))
    for k in range(n_chars - 1, -1, -1):
        j = int(back[k, edge])
        path.append(j)
        edge = int(pairs[j, 0])
    return np.array(path[::-1])


class Lattice(Segmenter):
    """Classifier-guided segmentation: recognise and segment together.

    Over-segments the text extent into candidate edges every ``step`` of a
    character width, scores every plausible slice with the scorer (the
    character classifier) and keeps the best path of ``n_chars`` slices by
    Viterbi, adding the learned width prior as a log-likelihood. The first and
    last edges may move up to ``slack`` widths outside the extent, so noise
    strokes at either end can be skipped. Without a scorer it falls back to
    :class:`DynamicProgramming`. Exact when a lattice path was found.
    """

    guided = True
    min_spread = 0.1

    def __init__(
        self,
        step: float = 0.1,
        slack: float = 0.5,
        width_weight: float = 0.5,
        fallback_weight: float = 0.05,
    ) -> None:
        self.step = step
        self.slack = slack
        self.width_weight = width_weight
        self.fallback_weight = fallback_weight

    def lattice(self, mask: np.ndarray, n_chars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate slices ``(intervals, pairs, widths)``; see :func:`candidate_slices`."""
        x0, x1 = text_extent(mask)
        mean, std = self.width_prior(x0, x1, n_chars)
        edges, pairs, widths = candidate_slices(
            x0, x1, mean, std, max(1.0, self.step * mean), self.slack * mean
        )
        edges = np.clip(edges, 0, mask.shape[1])
        return edges[pairs], pairs, widths

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        if scorer is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)
        x0, x1 = text_extent(mask)
        intervals, pairs, widths = self.lattice(mask, n_chars)
        if len(pairs) == 0:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        mean, std = self.width_prior(x0, x1, n_chars)
        scores = np.asarray(scorer(mask, intervals), dtype=float)
        scores = scores - self.width_weight * 0.5 * ((widths - mean) / std)[:, None] ** 2
        n_edges = int(pairs.max()) + 1
        edge_x = np.zeros(n_edges, dtype=int)
        edge_x[pairs[:, 0]], edge_x[pairs[:, 1]] = intervals[:, 0], intervals[:, 1]
        slack = self.slack * mean
        path = viterbi(scores, pairs, n_edges, edge_x <= x0 + slack, edge_x >= x1 - slack)
        if path is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        return intervals[path], True


def viterbi_points(
    scores: np.ndarray, positions: np.ndarray, mean: float, std: float, weight: float
) -> np.ndarray | None:
    """Best ``n_chars`` increasing positions: total score minus a pitch penalty.

    Parameters
    ----------
    scores : ndarray, shape (m, n_chars)
        Score of candidate position ``j`` as character ``k`` (higher is better).
    positions : ndarray, shape (m,)
        Increasing candidate centres, in pixels.
    mean, std : float
        Prior of the distance between neighbouring character centres.
    weight : float
        Weight of the prior's squared z-score.

    Returns
    -------
    ndarray of int, shape (n_chars,) or None
        Indices of the chosen positions, or None if there are too few.

    Examples
    --------
    >>> scores = np.log([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    >>> viterbi_points(scores, np.array([0.0, 5, 10]), 10.0, 2.0, 1.0).tolist()
    [0, 2]
    """
    m, n_chars = scores.shape
    if m < n_chars:
        return None
    path = _viterbi_points_kernel(
        np.ascontiguousarray(scores, dtype=np.float64),
        np.ascontiguousarray(positions, dtype=np.float64),
        float(mean), float(std), float(weight),
    )
    return path if path[0] >= 0 else None


@numba.njit(cache=True, nogil=True)
def _viterbi_points_kernel(
    scores: np.ndarray, positions: np.ndarray, mean: float, std: float, weight: float
) -> np.ndarray:  # pragma: no cover - compiled; tested through viterbi_points
    """:func:`viterbi_points`'s dynamic programme, compiled: a captcha's few
    dozen candidates cost microseconds instead of a hundred small numpy calls.
    Returns the path, or ``-1`` everywhere when no increasing path exists. Ties
    go to the lowest index, as with ``argmax``."""
    m, n_chars = scores.shape
    best = scores[:, 0].copy()
    new = np.empty(m)
    back = np.zeros((n_chars, m), np.int64)
    for k in range(1, n_chars):
        for j in range(m):
            top, arg = -np.inf, 0
            for i in range(j):  # positions increase: only earlier ones may precede
                z = (positions[j] - positions[i] - mean) / std
                total = best[i] + -weight * 0.5 * z ** 2
                if total > top:
                    top, arg = total, i
            back[k, j] = arg
            new[j] = top + scores[j, k]
        best[:] = new
    path = np.full(n_chars, -1, np.int64)
    end = np.argmax(best)
    if not np.isfinite(best[end]):
        return path
    path[n_chars - 1] = end
    for k in range(n_chars - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


@numba.njit(cache=True, nogil=True)
def _add_margins(
    scores: np.ndarray, centres: np.ndarray, x0: float, x1: float,
    head: float, head_std: float, tail: float, tail_std: float, weight: float,
) -> None:  # pragma: no cover - compiled; tested through Window
    """Add the margin prior's log-density to the first and last characters'
    ``scores`` (in place): where a first centre sits ``head`` (spread
    ``head_std``) right of ``x0``, a last one ``tail`` left of ``x1``."""
    for j in range(len(centres)):
        scores[j, 0] -= weight * 0.5 * ((centres[j] - x0 - head) / head_std) ** 2
    last = scores.shape[1] - 1
    for j in range(len(centres)):
        scores[j, last] -= weight * 0.5 * ((x1 - centres[j] - tail) / tail_std) ** 2


@numba.njit(cache=True, nogil=True)
def _intervals_around(
    centres: np.ndarray, half: float
) -> np.ndarray:  # pragma: no cover - compiled; tested through Window
    """``[round(c - half), round(c + half)]`` for each centre (half to even, as
    numpy rounds), in one compiled pass instead of five numpy calls."""
    out = np.empty((len(centres), 2), np.int64)
    for i in range(len(centres)):
        out[i, 0] = round(centres[i] - half)
        out[i, 1] = round(centres[i] + half)
    return out


@numba.njit(cache=True, nogil=True)
def _moved_centres(
    centres: np.ndarray, stride: int, reach: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through Window
    """Every ``centres[k] + stride * j`` for ``|j| <= reach``, sorted, without
    repeats: what ``np.unique`` gives, in one compiled pass (its sort and
    masks cost more than recentring's other arithmetic)."""
    moved = np.empty(len(centres) * (2 * reach + 1))
    n = 0
    for k in range(len(centres)):
        for j in range(-reach, reach + 1):
            moved[n] = centres[k] + stride * j
            n += 1
    moved.sort()
    out = np.empty_like(moved)
    size = 0
    for value in moved:
        if size == 0 or value != out[size - 1]:
            out[size] = value
            size += 1
    return out[:size]


class Window(Segmenter):
    """Classifier-guided segmentation with characters as points, not slices.

    Candidate character centres lie every ``step`` of the learned pitch along
    the text extent (up to ``slack`` pitches beyond it); the scorer reads a
    fixed-width window around each, and Viterbi keeps the ``n_chars`` centres
    with the best total score plus the learned pitch prior. Overlapping,
    touching glyphs need no cut line at all: only where each one is centred.
    Each returned interval is centred on its character and as wide as the
    local pitch. Without a scorer it falls back to :class:`DynamicProgramming`.

    Parameters
    ----------
    step : float
        Spacing of the candidate centres, as a fraction of the learned pitch.
    slack : float
        How far beyond the text extent candidates reach, in pitches.
    pitch_weight : float
        Weight of the pitch prior's log-density (``-z**2 / 2`` per step
        between neighbouring centres) against the scorer's log-probabilities.
        Above 1 the learned pitch counts for more than a Gaussian would give
        it: on Kaggle (seeds 0-2) 0.5 / 1 / 2 / 4 read 0.952 / 0.962 / 0.966 /
        0.960 of the held-out captchas. A family with an irregular pitch
        learns a wide spread, which weakens the prior by itself.
    margin_weight : float
        Weight of the margin prior's log-density (learned by
        :meth:`~Segmenter.learn_cuts`: where the first and last centres sit
        inside the text extent) on the first and last centres; a path that
        starts or ends a character early, reading noise as a glyph, then
        loses. 0 (or a segmenter never given aligned cuts): no margin prior.
        On five Kaggle splits (the same trained models) 0 / 0.5 / 1 / 2 / 4
        read 0.959 / 0.964 / 0.964 / 0.961 / 0.956 of the held-out captchas.
    fallback_weight : float
        Width-prior weight of the :class:`DynamicProgramming` fallback.
    recentre_span : float
        How far :meth:`recentre` may move each centre, as a fraction of the
        learned pitch; 0: no recentring. The recognizer recentres only a
        captcha with a character it reads unsurely (see its ``shift_below``;
        about a third of Kaggle's). The default 0.25 (three windows a
        character with the default step): on five Kaggle splits, the same
        models, 0.980 of the held-out captchas against 0.971 without.
    recentre_step : float
        Spacing of :meth:`recentre`'s candidates, as a fraction of the
        learned pitch (at least one pixel).
    """

    guided = True
    min_spread = 0.1

    def __init__(
        self, step: float = 0.2, slack: float = 0.5, pitch_weight: float = 2.0,
        margin_weight: float = 1.0, fallback_weight: float = 0.05,
        recentre_span: float = 0.25, recentre_step: float = 0.25,
    ) -> None:
        self.step = step
        self.slack = slack
        self.pitch_weight = pitch_weight
        self.margin_weight = margin_weight
        self.fallback_weight = fallback_weight
        self.recentre_span = recentre_span
        self.recentre_step = recentre_step

    def _candidates(
        self, x0: int, x1: int, n_chars: int
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Candidate character centres (pixels, left to right) for the text
        extent ``[x0, x1)``, the pitch-wide interval around each, and the pitch
        prior (mean, spread)."""
        mean, std = self.width_prior(x0, x1, n_chars)
        lo = x0 + mean * (0.5 - self.slack)
        hi = max(lo, x1 - mean * (0.5 - self.slack))
        centres = np.arange(lo, hi + 1e-9, max(1.0, self.step * mean))
        return centres, _intervals_around(centres, mean / 2), mean, std

    def lattice(self, mask: np.ndarray, n_chars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate windows ``(intervals, pairs, widths)``: one pitch-wide
        interval per candidate centre (``pairs`` index the centres)."""
        _, intervals, mean, _ = self._candidates(*text_extent(mask), n_chars)
        index = np.arange(len(intervals))
        return intervals, np.stack([index, index], axis=1), np.full(len(intervals), mean)

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        if scorer is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)
        x0, x1 = text_extent(mask)
        centres, intervals, mean, std = self._candidates(x0, x1, n_chars)
        path = None
        if len(centres) >= n_chars:
            path = self._best_path(mask, (x0, x1), (mean, std), centres, intervals, scorer)
        if path is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        return np.maximum(intervals[path], 0), True

    @property
    def recentres(self) -> bool:
        return bool(self.recentre_span)

    def recentre(self, mask: np.ndarray, cuts: np.ndarray, scorer: Scorer) -> np.ndarray | None:
        """Each character's centre moved by up to ``recentre_span`` of the pitch,
        in ``recentre_step`` steps, to the best path of ``scorer``'s scores
        plus the pitch and margin priors.

        The candidate grid of :meth:`cut_status` is coarse (``step``) because
        it is scored everywhere; this second pass scores only a few positions
        around each centre, so a costlier, pixel-exact scorer can afford them:
        a wide glyph (an "m") read a few pixels off its centre looks like a
        narrower one (an "n").

        Parameters
        ----------
        mask : ndarray of bool
        cuts : ndarray of int, shape (n_chars, 2)
            Intervals from :meth:`cut_status` with a scorer.
        scorer : Scorer

        Returns
        -------
        ndarray of int, shape (n_chars, 2) or None
            The moved intervals, as wide as the learned pitch; None when
            ``recentre_span`` is 0.
        """
        if not self.recentres:
            return None
        extent = text_extent(mask)
        mean, std = self.width_prior(*extent, len(cuts))
        stride = max(1, round(self.recentre_step * mean))
        reach = round(self.recentre_span * mean / stride)
        centres = _moved_centres(cuts.sum(axis=1) / 2, stride, reach)
        intervals = _intervals_around(centres, mean / 2)
        path = self._best_path(mask, extent, (mean, std), centres, intervals, scorer)
        return cuts if path is None else np.maximum(intervals[path], 0)

    def _best_path(
        self, mask: np.ndarray, extent: tuple[int, int], pitch: tuple[float, float],
        centres: np.ndarray, intervals: np.ndarray, scorer: Scorer,
    ) -> np.ndarray | None:
        """Indices of the candidate centres, one per character of ``scorer``'s
        columns, with the best total of its scores and the pitch and margin
        priors (None: no path); ``extent`` is the mask's text extent, ``pitch``
        the pitch prior's mean and spread."""
        x0, x1 = extent
        mean, std = pitch
        scores = np.array(scorer(mask, intervals), dtype=float)
        margins = getattr(self, "margins_", None)
        if margins is not None and self.margin_weight:
            _add_margins(scores, centres, x0, x1, *margins, self.margin_weight)
        return viterbi_points(scores, centres, mean, std, self.pitch_weight)


SEGMENTERS: dict[str, Callable[[], Segmenter]] = {
    "equal": EqualWidth,
    "projection": Projection,
    "components": Components,
    "dp": DynamicProgramming,
    "lattice": Lattice,
    "window": Window,
}


def make_segmenter(name: str, **params: float) -> Segmenter:
    """Build a registered segmentation strategy by name, with ``params`` for
    its constructor.

    Examples
    --------
    >>> type(make_segmenter("equal")).__name__
    'EqualWidth'
    >>> make_segmenter("window", pitch_weight=1.0).pitch_weight
    1.0
    """
    try:
        build = SEGMENTERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown segmenter {name!r}; choose from {', '.join(SEGMENTERS)}"
        ) from None
    known = inspect.signature(build).parameters
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"segmenter {name!r} has no parameter {', '.join(unknown)}; "
            f"it takes {', '.join(known) or 'none'}"
        )
    return build(**params)


def segmenter_name(segmenter: Segmenter) -> str:
    """The registry name of a segmenter's strategy.

    Examples
    --------
    >>> segmenter_name(make_segmenter("dp"))
    'dp'
    """
    for name, build in SEGMENTERS.items():
        if type(segmenter) is build:
            return name
    raise ConfigError(f"segmenter {type(segmenter).__name__} is not registered")
