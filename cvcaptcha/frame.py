"""Frames: the rectangle many sites draw round their captcha, taken out.

A frame line is ink from one end of the image to the other, at its edge: to
the front end it is one more glyph stem beside the first and last characters
(a 5 beside a frame reads as a 6, an 8 as a 3), and its top and bottom lines
make every row look inked, so the text band spans the whole height. A line
of the image's outer :data:`FRAME_DEPTH` that is at least :data:`FRAME_SHARE`
ink is a frame line when the opposite side has one too (a frame is a
rectangle; a glyph's stem at one edge of a tightly cropped captcha is not);
such lines, and the paper outside them, are painted the paper's grey.
"""

from __future__ import annotations

import cv2
import numpy as np

from .preprocess import binarize

#: A line counts as part of a frame when at least this share of it is ink.
FRAME_SHARE: float = 0.8
#: A frame lies within this share of the image's side from its edge (at least one line).
FRAME_DEPTH: float = 0.1


def _depth(share: np.ndarray, depth: int) -> int:
    """Lines from the edge up to and including the innermost frame line among
    the first ``depth`` of ``share`` (ink share per line, edge first); 0 when none."""
    lines = np.flatnonzero(share[:depth] >= FRAME_SHARE)
    return int(lines[-1]) + 1 if len(lines) else 0


def _sides(mask: np.ndarray) -> tuple[int, int, int, int]:
    """:func:`frame_sides` of an ink mask."""
    h, w = mask.shape
    # cv2.reduce: a tenth of numpy's mean over an axis of uint8 (this runs on every read)
    rows = cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / w
    cols = cv2.reduce(mask, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / h
    depth_rows, depth_cols = max(1, int(FRAME_DEPTH * h)), max(1, int(FRAME_DEPTH * w))
    top, bottom = _depth(rows, depth_rows), _depth(rows[::-1], depth_rows)
    left, right = _depth(cols, depth_cols), _depth(cols[::-1], depth_cols)
    if not (top and bottom):
        top = bottom = 0
    if not (left and right):
        left = right = 0
    return top, bottom, left, right


def frame_sides(gray: np.ndarray) -> tuple[int, int, int, int]:
    """How many lines a frame takes at the top, bottom, left and right of a
    grey captcha (0 where it has none).

    Examples
    --------
    >>> img = np.full((30, 70), 240, np.uint8); img[10:20, 20:25] = 30
    >>> frame_sides(img)
    (0, 0, 0, 0)
    >>> img[0], img[-1], img[:, 0], img[:, -1] = 40, 40, 40, 40
    >>> frame_sides(img)
    (1, 1, 1, 1)
    """
    return _sides(binarize(gray, "otsu"))


def remove_frame(gray: np.ndarray) -> np.ndarray:
    """The captcha with its frame (:func:`frame_sides`) painted the paper's
    grey (the median of what is not ink); the same array when it has none.

    Examples
    --------
    >>> img = np.full((30, 70), 240, np.uint8); img[10:20, 20:25] = 30
    >>> img[0], img[-1], img[:, 0], img[:, -1] = 40, 40, 40, 40
    >>> out = remove_frame(img)
    >>> int(out[0].min()), int(out[:, 0].min()), int(out[10:20, 20:25].max())
    (240, 240, 30)
    """
    mask = binarize(gray, "otsu")
    top, bottom, left, right = _sides(mask)
    if not (top or left):
        return gray
    paper = np.median(gray[mask == 0])  # never empty: binarize makes ink the minority
    out = gray.copy()
    h, w = out.shape
    out[:top], out[h - bottom:] = paper, paper
    out[:, :left], out[:, w - right:] = paper, paper
    return out
