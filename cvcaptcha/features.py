"""Character crops and the feature vectors computed from them.

Plain functions: a mask and column intervals in, a ``(n, h, w)`` stack of
normalised crops out; crops in, a ``(n, d)`` float32 feature matrix out.
Crop feature kinds are registered by name in :data:`FEATURES`. The window
kind (:data:`WINDOW_FEATURES`) instead cuts fixed-width windows out of one
HOG map of the whole captcha, so a lattice of candidate positions costs a
single HOG.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numba
import numpy as np

from .errors import ConfigError
from .preprocess import area_taps, shrink_rows


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


def batch_hog(
    images: np.ndarray,
    orientations: int = 9,
    cell: int = 4,
    block: int = 2,
) -> np.ndarray:
    """HOG of a stack of equally sized images, all at once.

    Computes what :func:`skimage.feature.hog` computes per image
    (central-difference gradients with zero borders, unsigned orientation bins,
    cell averages, L2-Hys block normalisation) in one compiled pass per image,
    with orientation bins found without an arctan: calling the scikit-image
    function crop by crop costs ~0.5 ms each, which is too slow for the
    segmentation lattice, and numpy's many passes over a small captcha cost
    three times the compiled loop.

    Parameters
    ----------
    images : ndarray, shape (n, h, w)
    orientations : int
        Gradient orientation bins over 0..180 degrees.
    cell : int
        Cell side in pixels; rows and columns beyond whole cells are ignored.
    block : int
        Block side in cells.

    Returns
    -------
    ndarray of float64, shape (n, h // cell - block + 1, w // cell - block + 1, block, block,
    orientations)
        The same layout as ``hog(..., feature_vector=False)``.

    Examples
    --------
    >>> batch_hog(np.zeros((2, 16, 16)), cell=4, block=2).shape
    (2, 3, 3, 2, 2, 9)
    """
    images = np.asarray(images)
    if images.dtype != np.float32:  # float32 is read as is, widened exactly pixel by pixel
        images = images.astype(np.float64, copy=False)
    n, h, w = images.shape
    rows, cols = h // cell, w // cell
    if rows < block or cols < block:
        raise ConfigError(
            f"images of {h}x{w} pixels hold no {block}x{block} block of {cell}-px cells"
        )
    flat = _hog_kernel(images, orientations, cell, block, _bin_thresholds(orientations))
    return flat.reshape(n, rows - block + 1, cols - block + 1, block, block, orientations)


@numba.njit(cache=True, nogil=True)
def _hog_kernel(
    images: np.ndarray, orientations: int, cell: int, block: int, thresholds: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through batch_hog
    """:func:`batch_hog`'s loops, blocks flattened: ``(n, block_rows, block_cols, d)``."""
    n, h, w = images.shape
    rows, cols = h // cell, w // cell
    b_rows, b_cols = rows - block + 1, cols - block + 1
    out = np.empty((n, b_rows, b_cols, block * block * orientations))
    hist = np.empty((orientations, rows, cols))
    for k in range(n):
        _cell_histograms(images[k], cell, thresholds, hist)
        _normalise_blocks(hist, cell, block, out[k])
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _cell_histograms(
    image: np.ndarray, cell: int, thresholds: np.ndarray, hist: np.ndarray
) -> None:  # pragma: no cover - compiled; tested through batch_hog
    """Sum of gradient magnitudes per orientation bin and cell, into ``hist``
    ``(orientations, rows, cols)``.

    The orientation bin is the number of bin edges at or below the gradient's
    pseudo-angle: the gradient is folded into the upper half plane (its angle
    modulo 180 degrees), where ``1 - col / (|col| + |row|)`` grows monotonically
    with the angle, so it can be compared with the same quantity at the edges
    (no arctan). Gradients are central differences, zero on the image border.

    A row of pixels is done in passes over the whole row, all on vector units
    but the last, which adds the magnitudes in pixel order: every sum then
    gets the same terms in the same order, hence the same bits, as from a
    pixel-by-pixel loop. A pixel without gradient gets a NaN pseudo-angle (0/0,
    hence ``error_model="numpy"``: no exception check in the vector loop) and
    adds a zero magnitude, which changes no sum.
    """
    h, w = image.shape
    orientations, rows, cols = hist.shape
    plane = rows * cols  # one bin of every cell
    hh, ww = rows * cell, cols * cell
    last_row, last_col = min(hh, h - 1), min(ww, w - 1)
    blank = np.zeros(w, image.dtype)  # the neighbours of a border row: no vertical gradient
    d_col = np.zeros(ww)  # stays zero on the border columns
    cell_col = np.repeat(np.arange(cols), cell)
    pseudo, magnitude = np.empty(ww), np.empty(ww)
    # where in ``hist`` each pixel of the row adds: its cell, a plane further per edge at or below
    index = np.empty(ww, np.intp)
    flat = hist.reshape(-1)
    flat[:] = 0.0
    for r in range(hh):
        above, below = (image[r - 1], image[r + 1]) if 1 <= r < last_row else (blank, blank)
        row = image[r]
        for c in range(1, last_col):
            d_col[c] = np.float64(row[c + 1]) - np.float64(row[c - 1])
        start = r // cell * cols
        for c in range(ww):
            dr, dc = np.float64(below[c]) - np.float64(above[c]), d_col[c]
            folded = abs(dc) if dr == 0.0 else (-dc if dr < 0 else dc)
            pseudo[c] = 1 - folded / (abs(dc) + abs(dr))
            magnitude[c] = np.sqrt(dr * dr + dc * dc)
            index[c] = start + cell_col[c]
        for e in range(0, len(thresholds), 4):  # four edges a pass: a quarter of the passes
            t0, t1, t2, t3 = thresholds[e], thresholds[e + 1], thresholds[e + 2], thresholds[e + 3]
            for c in range(ww):
                p = pseudo[c]
                index[c] += (
                    (plane if t0 <= p else 0) + (plane if t1 <= p else 0)
                    + (plane if t2 <= p else 0) + (plane if t3 <= p else 0)
                )
        for c in range(ww):
            flat[index[c]] += magnitude[c]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _normalise_blocks(
    hist: np.ndarray, cell: int, block: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled; tested through batch_hog
    """Cell averages gathered into overlapping blocks, each L2-Hys normalised
    (normalise, clip at 0.2, normalise again), into ``out``
    ``(block_rows, block_cols, d)``.

    A block's sums of squares are chains of dependent additions, slow one
    block at a time. Block ``p`` is numbered by its first cell (``row * cols +
    col``, so a few numbers between rows are no block and are computed for
    nothing), and in ``hist`` ``(orientations, rows, cols)`` the ``j``-th
    value of block ``p`` sits at ``offsets[j] + p``: the sums then run across
    all blocks at once on vector units, each block still adding its own
    values in its own order (the same bits as one block at a time).
    """
    orientations, rows, cols = hist.shape
    b_rows, b_cols, size = out.shape
    n = (b_rows - 1) * cols + b_cols
    scaled = hist.reshape(-1) * (1.0 / (cell * cell))
    offsets = np.empty(size, np.uint64)  # unsigned: no negative-index check on every read
    j = 0
    for i in range(block):  # a block's values: its cells row by row, each cell's bins
        for jc in range(block):
            for o in range(orientations):
                offsets[j] = (o * rows + i) * cols + jc
                j += 1
    first, second = np.zeros(n), np.zeros(n)  # sums of squares, then normalising factors
    for j in range(size):
        values = scaled[offsets[j]:]
        for p in range(n):
            first[p] += values[p] * values[p]
    for p in range(n):
        first[p] = 1.0 / np.sqrt(first[p] + 1e-10)
    for j in range(size):
        values = scaled[offsets[j]:]
        for p in range(n):
            value = min(values[p] * first[p], 0.2)
            second[p] += value * value
    for p in range(n):
        second[p] = 1.0 / np.sqrt(second[p] + 1e-10)
    for br in range(b_rows):
        for bc in range(b_cols):
            p = br * cols + bc
            dst, values, f1, f2 = out[br, bc], scaled[p:], first[p], second[p]
            for j in range(size):
                dst[j] = min(values[offsets[j]] * f1, 0.2) * f2


@functools.lru_cache(maxsize=16)
def _bin_thresholds(orientations: int) -> np.ndarray:
    """The pseudo-angle of every inner bin edge (see :func:`_cell_histograms`),
    padded with infinity, which no pseudo-angle reaches, to a multiple of four."""
    # scikit-image compares angles with float32 bin edges; so do we, to agree exactly
    step = np.float32(180.0 / orientations)
    edges = np.deg2rad((step * np.arange(1, orientations, dtype=np.float32)).astype(np.float64))
    thresholds = np.full(-(-len(edges) // 4) * 4, np.inf)
    thresholds[:len(edges)] = 1 - np.cos(edges) / (np.abs(np.cos(edges)) + np.sin(edges))
    thresholds.flags.writeable = False
    return thresholds


def hog_features(
    crops: np.ndarray,
    orientations: int = 9,
    cell: int = 4,
    block: int = 2,
) -> np.ndarray:
    """Flat HOG descriptor of every crop (see :func:`batch_hog`).

    Returns
    -------
    ndarray of float32, shape (n, d)

    Examples
    --------
    >>> hog_features(np.zeros((2, 16, 16), np.float32), cell=4, block=2).shape
    (2, 324)
    """
    return batch_hog(crops, orientations, cell, block).reshape(len(crops), -1).astype(np.float32)


def hog_map(image: np.ndarray, orientations: int = 9, cell: int = 4, block: int = 2) -> np.ndarray:
    """HOG blocks of a whole image, kept in their grid.

    Computed once per captcha, it gives the features of every window along the
    text for the price of one HOG: see :func:`window_features`.

    Returns
    -------
    ndarray, shape (block_rows, block_cols, block, block, orientations)
    """
    return batch_hog(image[None], orientations, cell, block)[0]


def map_columns(blocks: np.ndarray) -> np.ndarray:
    """A :func:`hog_map` as one float32 row per block column, left to right.

    The layout every window reads: a window of consecutive block columns is
    then consecutive rows, see :func:`window_features` and :func:`window_scores`.

    Returns
    -------
    ndarray of float32, shape (block_cols, block_rows * block * block * orientations)

    Examples
    --------
    >>> map_columns(hog_map(np.zeros((16, 40)))).shape
    (9, 108)
    """
    return np.ascontiguousarray(blocks.swapaxes(0, 1), dtype=np.float32).reshape(
        blocks.shape[1], -1
    )


def window_features(columns: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Features of fixed-width windows of a HOG map's :func:`map_columns`.

    Each window's vector holds its block columns one after another, so all
    windows are views into the columns and cutting many overlapping windows
    copies only the rows asked for. A map narrower than ``width`` is padded
    with blank columns on the right.

    Parameters
    ----------
    columns : ndarray of float32, shape (block_cols, d)
    starts : ndarray of int
        First block column of each window; clipped to the map.
    width : int
        Window width in block columns.

    Returns
    -------
    ndarray of float32, shape (len(starts), width * d)

    Examples
    --------
    >>> cols = map_columns(hog_map(np.random.default_rng(0).random((16, 40))))
    >>> window_features(cols, np.array([0, 2, 50]), 3).shape
    (3, 324)
    """
    columns = _pad_columns(columns, width)
    n_cols, size = columns.shape
    flat = columns.reshape(-1)
    step = flat.itemsize
    windows = np.lib.stride_tricks.as_strided(
        flat, shape=(n_cols - width + 1, width * size), strides=(size * step, step),
        writeable=False,
    )
    return windows[np.minimum(np.maximum(np.asarray(starts, dtype=int), 0), n_cols - width)]


def window_scores(
    columns: np.ndarray, coef: np.ndarray, intercept: np.ndarray, width: int
) -> np.ndarray:
    """A linear model's scores ``window @ coef.T + intercept`` of every window
    of :func:`window_features` (starts ``0, 1, ...``), without cutting them.

    Each block column is multiplied once by the part of ``coef`` that reads
    each place in a window, and a window's score is the sum of its columns'
    products: the windows of a captcha overlap almost entirely, so this reads
    the map once instead of ``width`` times.

    Parameters
    ----------
    columns : ndarray of float32, shape (block_cols, d)
    coef : ndarray, shape (n_outputs, width * d)
    intercept : ndarray, shape (n_outputs,)
    width : int

    Returns
    -------
    ndarray, shape (max(1, block_cols - width + 1), n_outputs)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cols, coef = rng.random((9, 4)).astype(np.float32), rng.random((2, 12))
    >>> ref = window_features(cols, np.arange(7), 3) @ coef.T
    >>> bool(np.allclose(window_scores(cols, coef, np.zeros(2), 3), ref))
    True
    """
    columns = _pad_columns(columns, width)
    # products[s, o * width + j]: column s read as the j-th column of a window, for output o
    products = columns @ coef.reshape(len(coef) * width, -1).T
    return _sum_diagonals(products, intercept.astype(products.dtype), width)


@numba.njit(cache=True, nogil=True)
def _sum_diagonals(
    products: np.ndarray, intercept: np.ndarray, width: int
) -> np.ndarray:  # pragma: no cover - compiled; tested through window_scores
    """``scores[s, o] = intercept[o] + sum_j products[s + j, o * width + j]``."""
    n_windows, n_out = len(products) - width + 1, len(intercept)
    scores = np.empty((n_windows, n_out), products.dtype)
    for s in range(n_windows):
        for o in range(n_out):
            total = intercept[o]
            for j in range(width):
                total += products[s + j, o * width + j]
            scores[s, o] = total
    return scores


def _pad_columns(columns: np.ndarray, width: int) -> np.ndarray:
    """``columns`` with blank columns added on the right up to ``width``."""
    if len(columns) >= width:
        return columns
    return np.vstack([columns, np.zeros((width - len(columns), columns.shape[1]), columns.dtype)])


def pixel_features(crops: np.ndarray, **_: object) -> np.ndarray:
    """The crop's pixels, flattened: a cheap baseline feature."""
    return crops.reshape(len(crops), -1).astype(np.float32)


FEATURES: dict[str, Callable[..., np.ndarray]] = {
    "hog": hog_features,
    "pixels": pixel_features,
}


def ink_windows(
    ink: np.ndarray, centres: np.ndarray, width: float, size: tuple[int, int]
) -> np.ndarray:
    """Ink levels of full-height windows centred on ``centres``, scaled to ``size``.

    Unlike a crop trimmed to its ink, the window keeps where the glyph sits
    and how wide it is against its neighbours, which is what tells an "m" from
    an "n" when both touch the next character.

    Parameters
    ----------
    ink : ndarray of float32, shape (H, W)
        Ink levels (see :func:`cvcaptcha.preprocess.ink_levels`).
    centres : ndarray of float, shape (m,)
        Window centres in pixels; windows past the edges see blank paper.
    width : float
        Window width in pixels.
    size : (height, width)
        Output size of each window.

    Returns
    -------
    ndarray of float32, shape (m, size[0] * size[1])

    Examples
    --------
    >>> ink_windows(np.ones((20, 50), np.float32), np.array([0.0, 25.0]), 10, (8, 4)).shape
    (2, 32)
    """
    half = max(1, int(round(width / 2)))
    span = 2 * half
    if span < size[1] or ink.shape[0] < size[0]:  # enlarging: OpenCV's own interpolation
        starts = np.clip(np.round(np.asarray(centres)).astype(int), 0, ink.shape[1])
        padded = cv2.copyMakeBorder(ink, 0, 0, half, half, cv2.BORDER_CONSTANT, value=0)
        out = np.empty((len(starts), size[0] * size[1]), np.float32)
        for i, a in enumerate(starts):
            window = padded[:, a:a + span]
            out[i] = cv2.resize(window, (size[1], size[0]), interpolation=cv2.INTER_AREA).ravel()
        return out
    return _shrink_windows(
        np.ascontiguousarray(ink, dtype=np.float32), np.asarray(centres, dtype=np.float64), half,
        *area_taps(ink.shape[0], size[0]), *area_taps(span, size[1]),
    )


@numba.njit(cache=True, nogil=True)
def _shrink_windows(
    ink: np.ndarray, centres: np.ndarray, half: int, row_index: np.ndarray,
    row_weight: np.ndarray, col_index: np.ndarray, col_weight: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through ink_windows
    """Windows of ``ink`` of ``2 * half`` columns centred on ``centres``
    (rounded and moved inside the image; blank beyond its edges), shrunk as
    OpenCV's ``INTER_AREA`` does, by the :func:`~cvcaptcha.preprocess.area_taps`
    of each axis.

    The rows are shrunk once for the whole image, then each window's columns.
    One compiled pass: the dozen numpy calls it replaces cost several times
    more than its arithmetic on a captcha's few windows."""
    rows = shrink_rows(ink, row_index, row_weight)
    width, out_h, out_w = ink.shape[1], row_index.shape[0], col_index.shape[0]
    out = np.zeros((len(centres), out_h * out_w), np.float32)
    for n in range(len(centres)):
        left = min(max(round(centres[n]), 0), width) - half  # round: half to even, as numpy
        for c in range(out_w):
            for t in range(col_index.shape[1]):
                x, w = left + col_index[c, t], col_weight[c, t]
                if 0 <= x < width:
                    for r in range(out_h):
                        out[n, r * out_w + c] += w * rows[r, x]
    return out


#: Feature kinds read from the whole captcha's :func:`hog_map` or ink levels
#: (windows, or for ``glyph`` each cut's ink trimmed to its box, see
#: :mod:`cvcaptcha.glyphs`), not from crops of the binary mask.
WINDOW_FEATURES: tuple[str, ...] = ("hogmap", "ink", "inkhog", "glyph")


def check_features(kind: str) -> None:
    """Raise :class:`ConfigError` unless ``kind`` is a crop or window feature kind."""
    if kind not in FEATURES and kind not in WINDOW_FEATURES:
        choices = ", ".join([*FEATURES, *WINDOW_FEATURES])
        raise ConfigError(f"unknown features {kind!r}; choose from {choices}")


def compute_features(crops: np.ndarray, kind: str = "hog", **params: int) -> np.ndarray:
    """Features of a registered kind for a stack of crops."""
    check_features(kind)
    if kind not in FEATURES:
        raise ConfigError(f"features {kind!r} come from windows of the whole image, not crops")
    return FEATURES[kind](crops, **params)
