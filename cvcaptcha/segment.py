"""Cutting an ink mask into character slices.

Every strategy is a small object with the same interface:

* ``fit(masks, n_chars)`` learns geometry (typical character width) from
  training masks and returns self;
* ``cut(mask, n_chars)`` returns an ``(n_chars, 2)`` int array of column
  intervals ``[x0, x1)``, left to right, always exactly ``n_chars`` of them.

Strategies are registered by name in :data:`SEGMENTERS`; adding one touches
only this file.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .errors import ConfigError


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
    ink = column_ink(mask)
    cols = np.flatnonzero(ink >= max(1.0, min_frac * mask.shape[0]))
    if cols.size == 0:
        cols = np.flatnonzero(ink)
    if cols.size == 0:
        return 0, mask.shape[1]
    return int(cols[0]), int(cols[-1]) + 1


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


class Segmenter:
    """Base strategy: learns the typical character width; subclasses implement ``cut``."""

    def fit(self, masks: list[np.ndarray], n_chars: int) -> Segmenter:
        """Learn the mean and spread of character widths from training masks."""
        widths = np.array(
            [(x1 - x0) / n_chars for x0, x1 in (text_extent(m) for m in masks)], dtype=float
        )
        self.char_width_ = float(np.median(widths))
        self.char_width_std_ = float(max(np.std(widths), 0.15 * self.char_width_, 1.0))
        return self

    def width_prior(self, x0: int, x1: int, n_chars: int) -> tuple[float, float]:
        """Mean and spread of a character's width, learned or from this extent."""
        mean = getattr(self, "char_width_", (x1 - x0) / n_chars)
        std = getattr(self, "char_width_std_", max(0.15 * mean, 1.0))
        return mean, std

    def cut(self, mask: np.ndarray, n_chars: int) -> np.ndarray:
        raise NotImplementedError


class EqualWidth(Segmenter):
    """Equal-width slices of the text extent: the baseline."""

    def cut(self, mask: np.ndarray, n_chars: int) -> np.ndarray:
        return equal_cuts(*text_extent(mask), n_chars)


class Projection(Segmenter):
    """Cut at low-ink columns, choosing the cuts jointly by dynamic programming.

    Minimises the ink crossed by the ``n_chars - 1`` cuts plus a penalty for
    character widths far from the learned mean.
    """

    def __init__(self, width_weight: float = 1.0) -> None:
        self.width_weight = width_weight

    def cut(self, mask: np.ndarray, n_chars: int) -> np.ndarray:
        x0, x1 = text_extent(mask)
        if n_chars == 1 or x1 - x0 < 2 * n_chars:
            return equal_cuts(x0, x1, n_chars)
        mean, std = self.width_prior(x0, x1, n_chars)
        ink = np.append(column_ink(mask[:, x0:x1]), 0).astype(float) / mask.shape[0]
        ink = np.convolve(ink, [0.25, 0.5, 0.25], mode="same")
        span = x1 - x0
        pos = np.arange(span + 1)
        gap = pos[None, :] - pos[:, None]  # gap[i, j] = width from cut i to cut j
        trans = self.width_weight * ((gap - mean) / std) ** 2
        trans[gap < 1] = np.inf
        cost = np.full(span + 1, np.inf)
        cost[0] = 0.0
        back = np.zeros((n_chars, span + 1), dtype=int)
        for k in range(1, n_chars + 1):
            total = cost[:, None] + trans
            back[k - 1] = np.argmin(total, axis=0)
            cost = total[back[k - 1], pos] + (ink if k < n_chars else 0.0)
        edges = [span]
        for k in range(n_chars - 1, -1, -1):
            edges.append(back[k, edges[-1]])
        edges = np.array(edges[::-1]) + x0
        return np.stack([edges[:-1], edges[1:]], axis=1)


class Components(Segmenter):
    """Connected components, splitting over-wide blobs and merging fragments.

    Components that overlap in x are merged (dots, broken strokes); then the
    widest blob is split at its lowest-ink column until there are enough
    pieces, and the narrowest neighbouring pair is merged while there are too
    many.
    """

    def cut(self, mask: np.ndarray, n_chars: int) -> np.ndarray:
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = 0.02 * mask.shape[0] ** 2
        boxes = sorted(
            [int(s[cv2.CC_STAT_LEFT]), int(s[cv2.CC_STAT_LEFT] + s[cv2.CC_STAT_WIDTH])]
            for s in stats[1:]
            if s[cv2.CC_STAT_AREA] >= min_area
        )
        if not boxes:
            return equal_cuts(*text_extent(mask), n_chars)
        merged: list[list[int]] = [boxes[0]]
        for a, b in boxes[1:]:
            last = merged[-1]
            overlap = last[1] - a
            if overlap > 0.5 * min(b - a, last[1] - last[0]):
                last[1] = max(last[1], b)
            else:
                merged.append([a, b])
        mean, _ = self.width_prior(merged[0][0], merged[-1][1], n_chars)
        ink = column_ink(mask)
        while len(merged) < n_chars:
            i = max(range(len(merged)), key=lambda j: merged[j][1] - merged[j][0])
            a, b = merged[i]
            if b - a < 2:
                break
            pieces = max(2, int(round((b - a) / mean)))
            pieces = min(pieces, n_chars - len(merged) + 1)
            merged[i:i + 1] = [list(c) for c in _split_at_valleys(ink, a, b, pieces)]
        while len(merged) > n_chars:
            i = min(
                range(len(merged) - 1), key=lambda j: merged[j + 1][1] - merged[j][0]
            )
            merged[i:i + 2] = [[merged[i][0], max(merged[i][1], merged[i + 1][1])]]
        if len(merged) < n_chars:
            return equal_cuts(*text_extent(mask), n_chars)
        return np.array(merged, dtype=int)


def _split_at_valleys(ink: np.ndarray, a: int, b: int, pieces: int) -> np.ndarray:
    """Split ``[a, b)`` into ``pieces`` at the lowest-ink column near each equal cut."""
    edges = np.linspace(a, b, pieces + 1)
    half = (b - a) / pieces / 3.0
    cuts = [a]
    for e in edges[1:-1]:
        lo = max(cuts[-1] + 1, int(e - half))
        hi = min(b - 1, int(e + half) + 1)
        cuts.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else int(e))
    cuts.append(b)
    cuts = np.array(cuts)
    return np.stack([cuts[:-1], cuts[1:]], axis=1)


SEGMENTERS: dict[str, Callable[[], Segmenter]] = {
    "equal": EqualWidth,
    "projection": Projection,
    "components": Components,
}


def make_segmenter(name: str) -> Segmenter:
    """Build a registered segmentation strategy by name.

    Examples
    --------
    >>> type(make_segmenter("equal")).__name__
    'EqualWidth'
    """
    try:
        return SEGMENTERS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown segmenter {name!r}; choose from {', '.join(SEGMENTERS)}"
        ) from None
