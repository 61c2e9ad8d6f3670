"""Glyph crops: each character's ink trimmed to its box and scaled to fill a fixed size.

The reader's default input is a window of fixed width (the family's learned
character width) around each cut: right for a family drawn at one size and
pitch, wrong for one whose captchas each pick their own font size and spacing,
where a fixed window holds a small glyph in a wide margin in one captcha and
clips a large one in the next. A glyph crop is the ink of one cut trimmed to
the rows and columns that hold it and scaled, aspect kept, to fill ``size``:
the same glyph reads the same at any size or spacing. What the trimming loses
(how tall the glyph is, where it sits: ``o`` against ``0``, ``p`` against
``P``) comes back as :func:`glyph_geometry`, measured against the captcha's
other glyphs, so it too is free of the captcha's scale.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Weight of the geometry columns beside the crop's pixels and gradients (each
#: geometry value is of order one; this keeps them from being lost among the
#: several hundred pixel columns when the reader projects on principal axes).
GEOMETRY_WEIGHT: float = 3.0


def glyph_boxes(mask: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """The box of the ink in each cut: rows ``y0:y1`` and columns ``x0:x1``.

    Parameters
    ----------
    mask : ndarray of uint8, shape (H, W), 1 for ink
    cuts : ndarray of int, shape (n, 2)
        Column intervals ``[x0, x1)``.

    Returns
    -------
    ndarray of int, shape (n, 4): ``y0, y1, x0, x1`` (an empty cut keeps its
    columns and the whole height).

    Examples
    --------
    >>> m = np.zeros((20, 30), np.uint8); m[5:15, 3:7] = 1; m[8:12, 20:26] = 1
    >>> glyph_boxes(m, np.array([[0, 10], [15, 30]])).tolist()
    [[5, 15, 3, 7], [8, 12, 20, 26]]
    """
    h, w = mask.shape
    boxes = np.empty((len(cuts), 4), int)
    for i, (a, b) in enumerate(np.asarray(cuts, int)):
        a, b = min(max(a, 0), w - 1), min(max(b, a + 1), w)
        piece = mask[:, a:b]
        rows = np.flatnonzero(piece.any(axis=1))
        cols = np.flatnonzero(piece.any(axis=0))
        if rows.size == 0:
            boxes[i] = (0, h, a, b)
        else:
            boxes[i] = (rows[0], rows[-1] + 1, a + cols[0], a + cols[-1] + 1)
    return boxes


def glyph_crops(ink: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Ink levels inside each box, scaled (aspect kept) to fill ``size`` and
    centred, each crop divided by its largest level so a pale glyph reads as a
    dark one.

    Examples
    --------
    >>> ink = np.zeros((20, 30), np.float32); ink[5:15, 3:7] = 0.5
    >>> c = glyph_crops(ink, np.array([[5, 15, 3, 7]]), (12, 12))
    >>> c.shape, float(c.max()), int((c[0] > 0.5).any(axis=0).sum())
    ((1, 12, 12), 1.0, 5)
    """
    out_h, out_w = size
    out = np.zeros((len(boxes), out_h, out_w), np.float32)
    for i, (y0, y1, x0, x1) in enumerate(boxes):
        piece = ink[y0:y1, x0:x1].astype(np.float32)
        top = float(piece.max()) if piece.size else 0.0
        if top <= 0:
            continue
        h, w = piece.shape
        scale = min(out_h / h, out_w / w)
        nh = min(out_h, max(1, int(round(h * scale))))
        nw = min(out_w, max(1, int(round(w * scale))))
        small = cv2.resize(piece / top, (nw, nh), interpolation=cv2.INTER_AREA)
        r, c = (out_h - nh) // 2, (out_w - nw) // 2
        out[i, r:r + nh, c:c + nw] = small
    return out


def glyph_geometry(boxes: np.ndarray) -> np.ndarray:
    """Shape and place of each box against the captcha's other boxes.

    Columns: log aspect (width over height), log height over the median
    height, and the top and bottom rows' offsets from the median top and
    bottom, in median heights. Scale-free, so a captcha drawn twice as large
    gives the same values.

    Examples
    --------
    >>> b = np.array([[10, 30, 0, 10], [10, 30, 20, 30], [20, 30, 40, 50]])
    >>> [round(float(v), 2) for v in glyph_geometry(b)[2]]
    [0.0, -0.69, 0.5, 0.0]
    """
    boxes = np.asarray(boxes, float)
    heights = np.maximum(boxes[:, 1] - boxes[:, 0], 1.0)
    widths = np.maximum(boxes[:, 3] - boxes[:, 2], 1.0)
    rows = np.column_stack([heights, boxes[:, 0], boxes[:, 1]])
    height, top, bottom = np.median(rows, axis=0)  # one call: a prediction asks often
    return np.column_stack([
        np.log(widths / heights),
        np.log(heights / height),
        (boxes[:, 0] - top) / height,
        (boxes[:, 1] - bottom) / height,
    ]).astype(np.float32)
