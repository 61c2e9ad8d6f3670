"""Noise taken out of the grey image before it is binarised: cleaners by name.

Some families draw their noise thinner than their glyphs (short scratch
strokes of a pixel across pale glyphs), others as long straight lines across
the text; a family whose glyph strokes are as thin as its noise is harmed by
either cleaner. So the cleaner is a choice of the recipe like the segmenter
(``clean="auto"`` tries them on held-out captchas, see :mod:`~cvcaptcha.auto`),
and each cleaner is a plain function of a grey ``uint8`` image (dark ink on
light paper) registered in :data:`CLEANERS`: adding one touches this file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from .errors import ConfigError
from .frame import remove_frame
from .io import ImageLike, read_image
from .preprocess import binarize

#: Sample of training images :func:`changes_enough` looks at, and the share of
#: them a cleaner must have work in to be worth a trial.
SAMPLE: int = 100
CHANGED_SHARE: float = 0.1
#: An image is drawn in dots when at least this share of its dark ink lies in
#: specks (components under a tenth of the height square): :func:`dotted`.
DOTTED: float = 0.15
#: Thinnest band :func:`thick_bands` looks for, in pixels: thinner lines
#: across the text are :func:`erase_lines`'s.
MIN_BAND: int = 7


def no_clean(gray: np.ndarray) -> np.ndarray:
    """The image as it is.

    Examples
    --------
    >>> img = np.full((4, 4), 255, np.uint8)
    >>> no_clean(img) is img
    True
    """
    return gray


def close_thin(gray: np.ndarray, size: int = 2) -> np.ndarray:
    """Grey closing with a ``size`` x ``size`` square: dark strokes thinner
    than ``size`` pixels (scratches, hairlines, dots) turn into paper, while
    thicker glyph strokes keep their shape and shade.

    Examples
    --------
    >>> img = np.full((9, 9), 255, np.uint8)
    >>> img[4, :] = 0            # a 1-pixel line
    >>> img[1:8, 1:4] = 40       # a 3-pixel-wide stroke
    >>> out = close_thin(img)
    >>> int(out[4, 6]), int(out[2, 2])
    (255, 40)
    """
    kernel = np.ones((size, size), np.uint8)
    # mirrored anchors: a true closing for even sizes too (no shift of the strokes)
    lighter = cv2.dilate(gray, kernel, anchor=(0, 0))
    return cv2.erode(lighter, kernel, anchor=(size - 1, size - 1))


def close_thick(gray: np.ndarray) -> np.ndarray:
    """:func:`close_thin` with a 3x3 square: noise strokes and dots up to two
    pixels thick turn into paper, for families drawn with strokes thick
    enough to keep (:func:`thick_strokes`).

    Examples
    --------
    >>> img = np.full((12, 12), 255, np.uint8)
    >>> img[5:7, :] = 0          # a 2-pixel line
    >>> img[1:11, 1:7] = 40      # a 6-pixel-wide stroke
    >>> out = close_thick(img)
    >>> int(out[5, 10]), int(out[3, 3])
    (255, 40)
    """
    return close_thin(gray, 3)


def stroke_width(gray: np.ndarray) -> float:
    """Median width of the image's ink strokes in pixels: twice the distance
    from the middle of a stroke (its skeleton) to the paper.

    Examples
    --------
    >>> img = np.full((30, 60), 255, np.uint8); img[5:25, 10:16] = 0; img[5:25, 30:36] = 0
    >>> 5 <= stroke_width(img) <= 7
    True
    """
    from skimage.morphology import skeletonize

    mask = binarize(gray)
    middle = skeletonize(mask > 0)
    if not middle.any():
        return 0.0
    return float(np.median(2 * cv2.distanceTransform(mask, cv2.DIST_L2, 3)[middle]))


def thick_strokes(gray: np.ndarray, size: int = 3) -> bool:
    """Whether the image's strokes are at least one and a half times ``size``
    wide: thick enough for a ``size`` closing to thin the noise, not them."""
    return stroke_width(gray) >= 1.5 * size


def straight_lines(gray: np.ndarray, min_length: float = 0.5) -> np.ndarray:
    """Segments ``(x0, y0, x1, y1)`` of the straight dark lines at least
    ``min_length`` of the image's width long (probabilistic Hough transform
    of the dark pixels), shape ``(n, 4)``.

    Examples
    --------
    >>> img = np.full((30, 90), 255, np.uint8)
    >>> _ = cv2.line(img, (0, 5), (89, 25), 0, 1)
    >>> len(straight_lines(img)) >= 1
    True
    >>> len(straight_lines(np.full((30, 90), 255, np.uint8)))
    0
    """
    return _segments(binarize(gray), min_length)


def _segments(dark: np.ndarray, min_length: float) -> np.ndarray:
    """:func:`straight_lines` of an ink mask."""
    if not dark.any() or dark.all():
        return np.empty((0, 4), int)
    w = dark.shape[1]
    length = max(int(min_length * w), 2)
    segments = cv2.HoughLinesP(
        dark, 1, np.pi / 180, threshold=max(int(0.6 * length), 2), minLineLength=length,
        maxLineGap=max(2, int(0.03 * w)),
    )
    return np.empty((0, 4), int) if segments is None else segments.reshape(-1, 4)


def erase_lines(gray: np.ndarray, min_length: float = 0.5) -> np.ndarray:
    """Long straight lines (:func:`straight_lines`, extended to the image's
    borders; only their dark pixels) painted over with what surrounds them
    (OpenCV's Telea inpainting), so that a line across paper leaves paper and
    a line across a glyph mostly leaves the glyph's stroke.

    Examples
    --------
    >>> img = np.full((30, 90), 255, np.uint8)
    >>> _ = cv2.line(img, (0, 5), (89, 25), 0, 1)
    >>> int(erase_lines(img).min()) > 150
    True
    """
    dark = binarize(gray)
    segments = _segments(dark, min_length)
    if not len(segments):
        return gray
    h, w = gray.shape
    band = np.zeros((h, w), np.uint8)
    thick = max(1, int(round(h / 30))) + 1
    reach = h + w
    for x0, y0, x1, y1 in segments.tolist():
        # a line runs on past the stretch Hough found: extend it to the borders
        step = np.array([x1 - x0, y1 - y0], float) / max(np.hypot(x1 - x0, y1 - y0), 1.0)
        a = np.round(np.array([x0, y0]) - reach * step).astype(int)
        b = np.round(np.array([x1, y1]) + reach * step).astype(int)
        cv2.line(band, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, thickness=thick)
    band = cv2.dilate(band & dark, np.ones((2, 2), np.uint8))
    return cv2.inpaint(gray, band * 255, 2, cv2.INPAINT_TELEA)


def join_dots(gray: np.ndarray, size: int = 3) -> np.ndarray:
    """Grey opening with a ``size`` x ``size`` square: dark dots and dashes
    closer than ``size`` pixels join into solid strokes (glyphs drawn in
    dotted lines), small light gaps inside strokes close.

    Examples
    --------
    >>> img = np.full((9, 12), 255, np.uint8)
    >>> img[4, ::2] = 0          # a dotted line
    >>> int(join_dots(img)[4, 1:11].max())
    0
    """
    kernel = np.ones((size, size), np.uint8)
    return cv2.dilate(cv2.erode(gray, kernel), kernel)  # odd size: centred, no shift


def thick_bands(gray: np.ndarray) -> np.ndarray:
    """Mask of the image's dark strokes much thicker than its typical stroke:
    what survives an opening of its ink mask by a disc wider than twice that
    stroke and at least :data:`MIN_BAND` (a thick wavy line across hollow or
    dotted glyphs), grown by a pixel to take its soft edge too. Empty where no
    stroke stands out.

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8)
    >>> img[18:28, :] = 0               # a 10-pixel band
    >>> img[5:35:3, 20:100:3] = 0       # glyphs in dots
    >>> bands = thick_bands(img)
    >>> bool(bands[22, 60]), bool(bands[8, 20])
    (True, False)
    """
    mask = binarize(gray)
    if not mask.any():
        return np.zeros_like(mask)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    size = max(2 * int(np.ceil(np.median(depth[mask > 0]))) + 3, MIN_BAND)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    core = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc)
    return cv2.dilate(core, np.ones((3, 3), np.uint8))


def erase_bands(gray: np.ndarray) -> np.ndarray:
    """Strokes far thicker than the image's typical stroke (:func:`thick_bands`)
    painted as paper: a thick line drawn across thin or dotted glyphs goes,
    leaving the glyphs cut where it crossed them.

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8)
    >>> img[18:28, :] = 0; img[5:35:3, 20:100:3] = 0
    >>> out = erase_bands(img)
    >>> int(out[22, 10]), int(out[8, 20])
    (255, 0)
    """
    bands = thick_bands(gray)
    if not bands.any():
        return gray
    out = gray.copy()
    out[bands > 0] = int(np.percentile(gray, 90))
    return out


def banded(gray: np.ndarray, span: float = 0.5) -> bool:
    """Whether one of the image's :func:`thick_bands` runs across at least
    ``span`` of its width: the mark of a thick line drawn over the text.

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8); img[5:35:3, 20:100:3] = 0
    >>> banded(img)
    False
    >>> img[18:28, :] = 0
    >>> banded(img)
    True
    """
    _, _, stats, _ = cv2.connectedComponentsWithStats(thick_bands(gray), connectivity=8)
    return bool((stats[1:, cv2.CC_STAT_WIDTH] >= span * gray.shape[1]).any())


def dotted(gray: np.ndarray, share: float = DOTTED) -> bool:
    """Whether at least ``share`` of the image's dark ink lies in specks
    (components smaller than a tenth of its height, squared): the mark of
    glyphs drawn in dots, which :func:`join_dots` joins.

    Examples
    --------
    >>> img = np.full((30, 90), 255, np.uint8)
    >>> img[5:25:3, 10:80:3] = 0
    >>> dotted(img)
    True
    >>> img[5:25, 10:80] = 0
    >>> dotted(img)
    False
    """
    _, _, stats, _ = cv2.connectedComponentsWithStats(binarize(gray), connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA]
    return bool(area[area < (gray.shape[0] / 10) ** 2].sum() >= share * max(area.sum(), 1))


#: Cleaners by name; ``clean="auto"`` tries :data:`~cvcaptcha.auto.AUTO_CLEANERS`.
CLEANERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": no_clean,
    "thin": close_thin,
    "lines": erase_lines,
    "join": join_dots,
    "thick": close_thick,
    "bands": erase_bands,
}

#: What an image must show for a cleaner to have work in it, where the cleaner
#: changing the image is not telling (a grey opening changes every image).
NEEDS: dict[str, Callable[[np.ndarray], bool]] = {
    "join": dotted, "thick": thick_strokes, "bands": banded,
}
#: Cleaners that must suit most of a family's images, not a few: a closing
#: that would eat the strokes of the family's thin-stroked captchas.
MOST: tuple[str, ...] = ("thick",)


def check_clean(name: str) -> None:
    """Raise :class:`~cvcaptcha.errors.ConfigError` unless ``name`` is a
    registered cleaner, several joined by ``+`` (applied in that order), or
    ``"auto"``.

    Examples
    --------
    >>> check_clean("thin")
    >>> check_clean("bands+join")
    >>> check_clean("wash")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cvcaptcha.errors.ConfigError: unknown clean 'wash'; choose from auto, none, thin, ...
    """
    if name != "auto" and not all(part in CLEANERS for part in name.split("+")):
        raise ConfigError(
            f"unknown clean {name!r}; choose from auto, {', '.join(CLEANERS)}"
            " (or several joined by '+')"
        )


def clean_image(gray: np.ndarray, name: str) -> np.ndarray:
    """``gray`` through the cleaner registered as ``name``, or through each
    of several joined by ``+`` in turn.

    Examples
    --------
    >>> clean_image(np.full((4, 4), 255, np.uint8), "thin").shape
    (4, 4)
    >>> img = np.full((40, 120), 255, np.uint8); img[18:28, :] = 0; img[5:35:3, 20:100:3] = 0
    >>> out = clean_image(img, "bands+join")
    >>> int(out[22, 10]), int(out[8, 21])
    (255, 0)
    """
    for part in name.split("+"):
        gray = CLEANERS[part](gray)
    return gray


def changes_enough(
    images: Sequence[ImageLike], name: str, random_state: int = 0,
    share: float = CHANGED_SHARE,
) -> bool:
    """Whether cleaner ``name`` has work in at least ``share`` of a seeded
    sample of :data:`SAMPLE` ``images`` (it changes them, or they show what
    :data:`NEEDS` asks; half of them for the cleaners in :data:`MOST`): a
    family without long lines need not try ``"lines"``, one not drawn in dots
    not ``"join"``, one drawn in thin strokes not ``"thick"``, one without a
    thick line across its text not ``"bands"``. Cleaners joined by ``+`` need
    work for each.

    Examples
    --------
    >>> plain = [np.full((30, 90), 255, np.uint8)] * 3
    >>> changes_enough(plain, "lines")
    False
    >>> crossed = plain[0].copy(); _ = cv2.line(crossed, (0, 5), (89, 25), 0, 1)
    >>> changes_enough([crossed] * 3, "lines")
    True
    """
    if "+" in name:  # several cleaners in turn: each must have work
        return all(changes_enough(images, part, random_state, share) for part in name.split("+"))
    order = np.random.default_rng(random_state).permutation(len(images))[:SAMPLE]
    needs = NEEDS.get(name)
    changed = 0
    for i in order.tolist():
        gray = remove_frame(read_image(images[i]))  # as the front end cleans it
        changed += needs(gray) if needs else not np.array_equal(clean_image(gray, name), gray)
    least = max(share, 0.5) if name in MOST else share
    return changed >= least * len(order) and changed > 0
