"""Column profiles of an ink mask: where the text is, and where it may be cut.

Plain functions on binary masks (numpy in, numpy out) that every segmentation
strategy and the window geometry build on: ink per column, the text extent,
equal cuts, gaps between characters and the pitch of a set of cuts.
"""

from __future__ import annotations

import numba
import numpy as np

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


def pitches(cuts: np.ndarray) -> np.ndarray:
    """Distances between neighbouring character centres (the width of a lone character).

    Examples
    --------
    >>> pitches(np.array([[0, 10], [10, 20], [22, 30]])).tolist()
    [10.0, 11.0]
    """
    centres = cuts.mean(axis=1)
    return np.diff(centres) if len(centres) > 1 else (cuts[:, 1] - cuts[:, 0]).astype(float)


def all_gaps(ink: np.ndarray, cuts: np.ndarray) -> bool:
    """Whether every inner edge of ``cuts`` falls on a gap column."""
    inner = cuts[1:, 0]
    inner = inner[inner < len(ink)]
    return bool(np.all(ink[inner] < GAP_FRAC))


def glyph_widths(mask: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Width of the ink inside each of ``cuts``: from its first to its last
    column holding at least :data:`GAP_FRAC` of the height in ink (the cut's
    width when none does).

    Examples
    --------
    >>> m = np.zeros((10, 30), np.uint8); m[:, 2:6] = 1; m[:, 14:22] = 1
    >>> glyph_widths(m, np.array([[0, 10], [10, 30]])).tolist()
    [4, 8]
    """
    inked = column_ink(mask) >= max(1.0, GAP_FRAC * mask.shape[0])
    out = np.empty(len(cuts), np.int64)
    for i, (a, b) in enumerate(np.asarray(cuts)):
        cols = np.nonzero(inked[a:b])[0]
        out[i] = cols[-1] - cols[0] + 1 if len(cols) else b - a
    return out
