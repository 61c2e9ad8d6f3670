"""Path search: the best sequence of character positions under a prior.

Every segmentation that chooses cuts jointly is one dynamic programme over
candidates, kept here so the strategies (:mod:`cvcaptcha.segment`) and the
recognizer's recentring share one implementation:

* :func:`dp_cuts`: cut edges over every column, least ink crossed plus a width prior;
* :func:`candidate_slices` and :func:`viterbi`: a lattice of candidate slices
  and the best path of consecutive slices through it;
* :func:`viterbi_points`: characters as points, the best increasing centres
  plus a pitch prior (with :func:`add_margins`, a prior on where the first and
  last sit), and the candidate grids it is run on (:func:`intervals_around`,
  :func:`moved_centres`).
"""

from __future__ import annotations

import numba
import numpy as np


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
def add_margins(
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
def intervals_around(
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
def moved_centres(
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
