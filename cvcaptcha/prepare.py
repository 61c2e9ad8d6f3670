"""A captcha prepared for segmentation and reading: the front end's output.

:func:`prepare` runs the front end (:mod:`cvcaptcha.preprocess`) and takes
the HOG map (:mod:`cvcaptcha.features`) once per captcha; everything after it
(segmentation, the locator, the reader) reads only the :class:`Prepared`
result, which is why it can be cached across classifier settings and folds.
The variants (:func:`stroke_variant`, :func:`warp_variant`) are the same
captcha with other strokes or another slant, for training-set augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .clean import clean_image
from .features import hog_map, map_columns
from .frame import remove_frame
from .preprocess import (
    crop_band,
    ink_levels,
    preprocess,
    resize_height,
    rotate_scale,
    thicken,
)

#: Parameters of the front end: a change to any of them invalidates cached preparation.
FRONT_PARAMS: tuple[str, ...] = (
    "height", "clean", "band", "threshold", "open_frac", "speck_frac", "line_frac",
    "hog_orientations", "hog_cell", "hog_block",
)

#: Version of what :func:`prepare` returns; bumped whenever its contents change
#: (2: HOG maps kept as :func:`~cvcaptcha.features.map_columns`; 3: frames taken out;
#: 4: a cleaner, :mod:`~cvcaptcha.clean`).
PREPARED_VERSION: int = 4

#: Largest turn (degrees) and relative size change of :func:`warp_variant` copies
#: made for training (the recognizer's ``warp_jitter``).
WARP_DEGREES: float = 8.0
WARP_SCALE: float = 0.1


@dataclass
class Prepared:
    """One captcha after the front end: everything segmentation and features read.

    All arrays are at the recognizer's working height; ``scale`` maps their
    coordinates back to the original image (divide by it).
    """

    mask: np.ndarray
    scale: float
    ink: np.ndarray
    #: HOG map of the ink levels, one row per block column (see
    #: :func:`~cvcaptcha.features.map_columns`)
    hog: np.ndarray

    @property
    def original_shape(self) -> tuple[int, int]:
        """(height, width) of the image this captcha came from (of its text
        band, when the front end cropped to it)."""
        h, w = self.mask.shape
        return int(round(h / self.scale)), int(round(w / self.scale))


def prepare(image: np.ndarray, params: dict[str, Any]) -> Prepared:
    """Take out a frame, clean, resize, binarise, measure ink levels and take
    the HOG map of one grey image.

    ``params`` holds the front-end parameters named in :data:`FRONT_PARAMS`;
    nothing here depends on the classifier, which is what makes the result
    cacheable across classifier settings and folds.

    Examples
    --------
    >>> params = dict(height=40, threshold="otsu", open_frac=0.0, speck_frac=0.002,
    ...               line_frac=0.07, hog_orientations=9, hog_cell=4, hog_block=2)
    >>> image = np.full((50, 200), 255, np.uint8); image[10:40, 20:30] = 0
    >>> p = prepare(image, params)
    >>> p.mask.shape, p.original_shape
    ((40, 160), (50, 200))
    """
    gray, scale, mask = _front(image, params)
    return _with_hog(mask, scale, ink_levels(gray), params)


def prepare_mask(image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The mask :func:`prepare` makes of ``image``, without its ink levels and
    HOG map: for choices that look only at the ink blobs."""
    return _front(image, params)[2]


def _front(image: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, float, np.ndarray]:
    """Frame out, clean, crop to the band, resize, binarise: the working grey
    image, its scale and its mask."""
    image = clean_image(remove_frame(image), params.get("clean", "none"))
    if params.get("band"):  # the text's strip of rows, made to fill the height
        image = crop_band(image)
    gray, scale = resize_height(image, params["height"]) if params["height"] else (image, 1.0)
    mask = preprocess(
        gray, params["threshold"], params["open_frac"], params["speck_frac"], params["line_frac"]
    )
    return gray, scale, mask


def _with_hog(mask: np.ndarray, scale: float, ink: np.ndarray, params: dict[str, Any]) -> Prepared:
    """A prepared captcha from its mask, scale and ink levels, with the HOG map of that ink."""
    hog = hog_map(ink, params["hog_orientations"], params["hog_cell"], params["hog_block"])
    return Prepared(mask, scale, ink, map_columns(hog))


def prepare_all(
    images: list[np.ndarray], params: dict[str, Any], version: int = PREPARED_VERSION
) -> list[Prepared]:
    """:func:`prepare` for every image (the unit the recognizer's ``memory`` caches).

    ``version`` is only part of the cache key: joblib hashes this function's
    arguments and code, not :func:`prepare`'s, so without it a cache written by
    an older version would be read back.
    """
    return [prepare(img, params) for img in images]


def stroke_variant(prep: Prepared, params: dict[str, Any], pixels: int) -> Prepared:
    """The captcha with every stroke ``pixels`` thicker (or thinner, when
    negative): a grey dilation or erosion of its ink, and of its mask.

    Training copies cut from it teach the reader the pen widths a captcha
    family varies by, which shifted copies alone do not.
    """
    return _with_hog(thicken(prep.mask, pixels), prep.scale, thicken(prep.ink, pixels), params)


def warp_variant(prep: Prepared, params: dict[str, Any], angle: float, scale: float) -> Prepared:
    """The captcha turned by ``angle`` degrees and scaled by ``scale`` about its
    centre: glyphs drawn at other slants and sizes."""
    return _with_hog(
        rotate_scale(prep.mask, angle, scale, nearest=True), prep.scale,
        rotate_scale(prep.ink, angle, scale), params,
    )
