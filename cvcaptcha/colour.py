"""Colour to ink: one grey level per pixel that says how far it is from the paper.

Luminance loses coloured glyphs: a pale yellow or light cyan glyph on white is
nearly as bright as the paper, and a glyph on a tinted background of the same
brightness vanishes. What sets ink apart from paper is its colour's distance
from the paper's colour, in any channel: so a colour captcha is turned grey
as ``255 - max_c |pixel_c - paper_c|``, the paper being the median colour of
the image (most of a captcha is paper). Paper comes out white and ink dark
whatever their colours, light text on a dark ground included. An image whose
channels hardly differ anywhere is grey already and keeps its luminance.
"""

from __future__ import annotations

import cv2
import numpy as np

#: An image whose channels differ by at most this anywhere is grey (JPEG's
#: chroma noise on a grey image stays under it).
GREY_SPREAD: int = 16


def _channels(bgr: np.ndarray) -> tuple[np.ndarray, ...]:
    """The blue, green and red planes of a BGR image, split once for every step below."""
    return cv2.split(np.ascontiguousarray(bgr[:, :, :3]))


def _spread(channels: tuple[np.ndarray, ...]) -> int:
    """The largest difference between two channels of any pixel."""
    b, g, r = channels
    # cv2's per-pixel ops: numpy's reductions over the channel axis cost ten times more
    spread = cv2.max(cv2.max(cv2.absdiff(b, g), cv2.absdiff(g, r)), cv2.absdiff(b, r))
    return int(cv2.minMaxLoc(spread)[1])


def _median(channel: np.ndarray) -> float:
    """The median of a ``uint8`` plane, from its histogram: a fraction of np.median's cost."""
    half = channel.size / 2
    counts = cv2.calcHist([channel], [0], None, [256], [0, 256]).ravel().cumsum()
    low = int(np.searchsorted(counts, half, side="left"))
    high = int(np.searchsorted(counts, half, side="right"))
    return (low + high) / 2 if counts[low] == half else float(low)


def _contrast(channels: tuple[np.ndarray, ...]) -> np.ndarray:
    """:func:`ink_contrast` of the split planes."""
    b, g, r = (cv2.absdiff(c, np.full_like(c, int(_median(c)))) for c in channels)
    return cv2.bitwise_not(cv2.max(cv2.max(b, g), r))


def is_grey(bgr: np.ndarray, spread_limit: int = GREY_SPREAD) -> bool:
    """Whether a ``uint8`` BGR image is grey: no pixel's channels differ by
    more than ``spread_limit``.

    Examples
    --------
    >>> img = np.full((4, 4, 3), 200, np.uint8)
    >>> is_grey(img), is_grey(img + np.array([0, 0, 40], np.uint8))
    (True, False)
    """
    return _spread(_channels(bgr)) <= spread_limit


def paper_colour(bgr: np.ndarray) -> np.ndarray:
    """The paper's colour: the per-channel median of the image, shape (3,).

    Examples
    --------
    >>> img = np.full((10, 10, 3), (200, 230, 250), np.uint8); img[4:6] = 0
    >>> paper_colour(img).tolist()
    [200.0, 230.0, 250.0]
    """
    return np.array([_median(c) for c in _channels(bgr)])


def ink_contrast(bgr: np.ndarray) -> np.ndarray:
    """Grey ``uint8`` image of a ``uint8`` BGR captcha: white paper, ink as dark
    as its colour is far from the paper's in its most different channel.

    Examples
    --------
    >>> img = np.full((2, 3, 3), 255, np.uint8)
    >>> img[0, 0] = (128, 255, 255)  # pale yellow in BGR: luminance 241
    >>> img[1, 2] = (0, 0, 0)
    >>> ink_contrast(img)
    array([[128, 255, 255],
           [255, 255,   0]], dtype=uint8)
    """
    return _contrast(_channels(bgr))


def colour_to_gray(bgr: np.ndarray) -> np.ndarray:
    """Grey ``uint8`` image of a ``uint8`` BGR image: luminance when it is grey
    (:func:`is_grey`), :func:`ink_contrast` when it has colour (the planes split once).

    Examples
    --------
    >>> grey = np.full((2, 2, 3), 90, np.uint8)
    >>> colour_to_gray(grey).tolist()
    [[90, 90], [90, 90]]
    """
    channels = _channels(bgr)
    if _spread(channels) <= GREY_SPREAD:
        return cv2.cvtColor(np.ascontiguousarray(bgr[:, :, :3]), cv2.COLOR_BGR2GRAY)
    return _contrast(channels)
