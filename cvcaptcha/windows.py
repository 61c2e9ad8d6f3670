"""The window around a character, and what a classifier reads in it.

Both classifiers read a character through a window centred on its cut, a
little wider than the character so a centred window can be told from one
straddling two glyphs: the locator reads windows of the captcha's HOG map
(:func:`hog_windows`), the reader reads windows of its ink levels by default
(:class:`CharWindows`). Widths are in pixels of the working height, derived
from the learned character width, so nothing is tied to one family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .features import char_crops, compute_features, hog_features, ink_windows, window_features
from .glyphs import GEOMETRY_WEIGHT, glyph_boxes, glyph_crops, glyph_geometry
from .prepare import Prepared


def window_cells(char_width: float, context: float, hog_cell: int, hog_block: int) -> int:
    """Width in HOG cells of a window holding a character plus ``context`` of
    its width on each side (at least one block).

    Examples
    --------
    >>> window_cells(20.0, 0.2, 4, 2)
    7
    """
    cells = int(round(char_width * (1 + 2 * context) / hog_cell))
    return max(hog_block, cells)


def window_starts(
    cuts: np.ndarray, char_width: float, context: float, hog_cell: int, hog_block: int, last: int
) -> np.ndarray:
    """First HOG cell column of the window centred on each of ``cuts``, moved
    into ``0..last``.

    Examples
    --------
    >>> window_starts(np.array([[0, 20], [20, 40]]), 20.0, 0.2, 4, 2, 100).tolist()
    [0, 4]
    """
    cells = window_cells(char_width, context, hog_cell, hog_block)
    return _window_starts(np.asarray(cuts), hog_cell, cells, last)


@numba.njit(cache=True, nogil=True)
def _window_starts(
    cuts: np.ndarray, cell: int, cells: int, last: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through window_starts
    """:func:`window_starts` in one compiled pass (numpy takes six calls for a
    few numbers, and a prediction asks twice)."""
    rows = np.empty(len(cuts), np.int64)
    for i in range(len(cuts)):
        start = round((cuts[i, 0] + cuts[i, 1]) / (2 * cell) - cells / 2)  # half to even
        rows[i] = min(max(start, 0), last)
    return rows


def hog_windows(
    prep: Prepared, cuts: np.ndarray, char_width: float, context: float, hog_cell: int,
    hog_block: int,
) -> np.ndarray:
    """The HOG-map windows centred on each of ``cuts``, a character plus
    ``context`` wide: one flat row per cut."""
    blocks = window_cells(char_width, context, hog_cell, hog_block) - hog_block + 1
    starts = window_starts(cuts, char_width, context, hog_cell, hog_block, len(prep.hog) - 1)
    return window_features(prep.hog, starts, blocks)


@dataclass
class CharWindows:
    """The reader's input: one feature row per character window of a captcha.

    Parameters
    ----------
    kind : str
        ``"ink"`` (ink levels of a window ``context`` wider than the character
        on each side, scaled to ``size``), ``"inkhog"`` (those and their HOG),
        ``"glyph"`` (each cut's ink trimmed to its box and scaled to fill
        ``size``, its HOG and its box's geometry: :mod:`cvcaptcha.glyphs`),
        ``"hogmap"`` (the HOG map's window) or a crop feature kind of
        :data:`cvcaptcha.features.FEATURES` computed on the binary mask's
        slice widened by ``context``.
    char_width : float
        Learned character width (pixels at working height).
    context : float
        Extra width on each side, as a fraction of ``char_width``.
    size : (int, int)
        Height and width every window or crop is scaled to.
    hog_orientations, hog_cell, hog_block : int
        HOG parameters, for the kinds that use them.
    """

    kind: str
    char_width: float
    context: float
    size: tuple[int, int]
    hog_orientations: int = 9
    hog_cell: int = 4
    hog_block: int = 2

    def __call__(self, prep: Prepared, cuts: np.ndarray) -> np.ndarray:
        """Features of each of ``cuts`` (column intervals at working height)."""
        if self.kind == "hogmap":
            return hog_windows(
                prep, cuts, self.char_width, self.context, self.hog_cell, self.hog_block
            )
        if self.kind in ("ink", "inkhog"):
            # the centres: sum / 2 is cuts.mean(axis=1) for a fraction of its cost
            width = self.char_width * (1 + 2 * self.context)
            ink = ink_windows(prep.ink, cuts.sum(axis=1) / 2, width, self.size)
            if self.kind == "ink":
                return ink
            # the window's gradients too: contrast-normalised per block, so a pale
            # glyph among dark strokes counts as much as a dark one
            hog = hog_features(
                ink.reshape(len(ink), *self.size), self.hog_orientations, self.hog_cell,
                self.hog_block,
            )
            return np.hstack([ink, hog])
        if self.kind == "glyph":
            boxes = glyph_boxes(prep.mask, cuts)
            crops = glyph_crops(prep.ink, boxes, self.size)
            hog = hog_features(crops, self.hog_orientations, self.hog_cell, self.hog_block)
            geometry = GEOMETRY_WEIGHT * glyph_geometry(boxes)
            return np.hstack([crops.reshape(len(crops), -1), hog, geometry])
        margin = int(round(self.context * self.char_width))
        if margin:
            cuts = np.clip(cuts + np.array([-margin, margin]), 0, prep.mask.shape[1])
        crops = char_crops(prep.mask, cuts, self.size)
        params = (
            {"orientations": self.hog_orientations, "cell": self.hog_cell, "block": self.hog_block}
            if self.kind == "hog"
            else {}
        )
        return compute_features(crops, self.kind, **params)
