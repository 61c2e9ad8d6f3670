"""Character crops and the feature vectors computed from them.

Plain functions: a mask and column intervals in, a ``(n, h, w)`` stack of
normalised crops out; crops in, a ``(n, d)`` float32 feature matrix out.
Feature kinds are registered by name in :data:`FEATURES`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from skimage.feature import hog

from .errors import ConfigError


def char_crop(mask: np.ndarray, x0: int, x1: int, size: tuple[int, int]) -> np.ndarray:
    """Cut one character slice, trim it to its ink and fit it into ``size``.

    The aspect ratio is kept (a narrow "1" stays narrow) and the glyph is
    centred, so position within the slice does not matter.

    Parameters
    ----------
    mask : ndarray of uint8, shape (H, W), 1 for ink
    x0, x1 : int
        Column interval of the slice.
    size : (height, width)
        Output size.

    Returns
    -------
    ndarray of float32, shape ``size``, values in [0, 1]

    Examples
    --------
    >>> m = np.zeros((20, 20), np.uint8); m[5:15, 8:12] = 1
    >>> char_crop(m, 0, 20, (16, 16)).shape
    (16, 16)
    """
    out_h, out_w = size
    out = np.zeros(size, np.float32)
    piece = mask[:, max(0, x0):max(x0 + 1, x1)]
    rows = np.flatnonzero(piece.any(axis=1))
    cols = np.flatnonzero(piece.any(axis=0))
    if rows.size == 0:
        return out
    piece = piece[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
    h, w = piece.shape
    scale = min((out_h - 2) / h, (out_w - 2) / w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    resized = cv2.resize(piece, (nw, nh), interpolation=cv2.INTER_AREA)
    top, left = (out_h - nh) // 2, (out_w - nw) // 2
    out[top:top + nh, left:left + nw] = resized
    return out


def char_crops(mask: np.ndarray, cuts: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crops for every interval of ``cuts``, stacked to ``(len(cuts), h, w)``."""
    return np.stack([char_crop(mask, int(a), int(b), size) for a, b in cuts])


def hog_features(
    crops: np.ndarray,
    orientations: int = 9,
    cell: int = 4,
    block: int = 2,
) -> np.ndarray:
    """HOG descriptor of every crop, via :func:`skimage.feature.hog`.

    Parameters
    ----------
    crops : ndarray, shape (n, h, w)
    orientations : int
        Gradient orientation bins.
    cell : int
        Cell side in pixels.
    block : int
        Block side in cells.

    Returns
    -------
    ndarray of float32, shape (n, d)

    Examples
    --------
    >>> hog_features(np.zeros((2, 16, 16), np.float32), cell=4, block=2).shape
    (2, 324)
    """
    return np.stack(
        [
            hog(
                c,
                orientations=orientations,
                pixels_per_cell=(cell, cell),
                cells_per_block=(block, block),
                block_norm="L2-Hys",
                feature_vector=True,
            )
            for c in crops
        ]
    ).astype(np.float32)


def pixel_features(crops: np.ndarray, **_: object) -> np.ndarray:
    """The crop's pixels, flattened: a cheap baseline feature."""
    return crops.reshape(len(crops), -1).astype(np.float32)


FEATURES: dict[str, Callable[..., np.ndarray]] = {
    "hog": hog_features,
    "pixels": pixel_features,
}


def compute_features(crops: np.ndarray, kind: str = "hog", **params: int) -> np.ndarray:
    """Features of a registered kind for a stack of crops."""
    try:
        func = FEATURES[kind]
    except KeyError:
        raise ConfigError(f"unknown features {kind!r}; choose from {', '.join(FEATURES)}") from None
    return func(crops, **params)
