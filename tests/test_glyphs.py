"""Glyph crops: trimmed to their ink, scaled to fill, with scale-free geometry."""

from __future__ import annotations

import cv2
import numpy as np

from cvcaptcha.glyphs import glyph_boxes, glyph_crops, glyph_geometry
from cvcaptcha.prepare import prepare
from cvcaptcha.windows import CharWindows

PARAMS = dict(height=40, clean="none", band=False, threshold="otsu", open_frac=0.0,
              speck_frac=0.002, line_frac=0.07, hog_orientations=9, hog_cell=4, hog_block=2)


def _captcha(scale: float, gap: int) -> np.ndarray:
    """A tall "L" and a short box, drawn at ``scale`` with ``gap`` pixels between."""
    img = np.full((80, 300), 255, np.uint8)
    s = lambda v: int(round(v * scale))  # noqa: E731
    img[s(20):s(60), 20:20 + s(6)] = 0
    img[s(54):s(60), 20:20 + s(20)] = 0
    x = 20 + s(20) + gap
    img[s(40):s(60), x:x + s(14)] = 0
    img[s(46):s(54), x + s(4):x + s(10)] = 255
    return img


def test_glyph_boxes_trim_each_cut_to_its_ink() -> None:
    m = np.zeros((20, 40), np.uint8)
    m[4:16, 5:9] = 1
    boxes = glyph_boxes(m, np.array([[0, 20], [20, 40]]))
    assert boxes.tolist() == [[4, 16, 5, 9], [0, 20, 20, 40]]  # an empty cut: whole height


def test_glyph_crops_fill_the_size_keep_the_aspect_and_the_darkest_level_is_one() -> None:
    ink = np.zeros((30, 30), np.float32)
    ink[5:25, 10:15] = 0.3  # a pale, tall bar
    crop = glyph_crops(ink, np.array([[5, 25, 10, 15]]), (24, 20))[0]
    assert crop.max() == 1.0
    rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    assert len(rows) == 24 and 5 <= len(cols) <= 7  # fills the height, stays narrow
    assert abs((cols[0] + cols[-1]) / 2 - 9.5) <= 1  # centred


def test_glyph_geometry_is_free_of_scale_and_tells_tall_from_short() -> None:
    boxes = np.array([[10, 30, 0, 10], [20, 30, 20, 30], [10, 30, 40, 50]])
    twice = boxes * 2
    assert np.allclose(glyph_geometry(boxes), glyph_geometry(twice))
    g = glyph_geometry(boxes)
    assert g[1, 1] < 0 < g[1, 2]  # the short glyph: shorter than the median, its top lower


def test_glyph_input_reads_a_captcha_the_same_at_any_size_and_spacing() -> None:
    windows = CharWindows("glyph", 20.0, 0.2, (24, 20))
    feats = []
    for scale, gap in [(1.0, 10), (1.25, 40)]:
        prep = prepare(_captcha(scale, gap), PARAMS)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(prep.mask)
        order = np.argsort(stats[1:, 0]) + 1
        cuts = np.array([[stats[i, 0], stats[i, 0] + stats[i, 2]] for i in order])
        feats.append(windows(prep, cuts))
    assert feats[0].shape == feats[1].shape and len(feats[0]) == 2
    small, large = feats
    assert np.corrcoef(small[0], large[0])[0, 1] > 0.9
    assert np.corrcoef(small[1], large[1])[0, 1] > 0.9
    # the same glyphs read with the fixed-width ink window differ with size and spacing
    ink = CharWindows("ink", 20.0, 0.2, (24, 20))
    fixed = [ink(prepare(_captcha(s, g), PARAMS), c) for (s, g), c in zip(
        [(1.0, 10), (1.25, 40)], [np.array([[20, 26]]), np.array([[20, 28]])])]
    assert np.corrcoef(fixed[0][0], fixed[1][0])[0, 1] < np.corrcoef(small[0], large[0])[0, 1]
