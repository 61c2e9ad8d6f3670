"""The front end's cleaners: thin scratches and long straight lines taken out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvcaptcha.clean import (
    CLEANERS,
    banded,
    changes_enough,
    check_clean,
    clean_image,
    close_thick,
    close_thin,
    dotted,
    erase_bands,
    erase_lines,
    join_dots,
    straight_lines,
    stroke_width,
    thick_bands,
)
from cvcaptcha.errors import ConfigError


def _glyph_page(h: int = 32, w: int = 96) -> np.ndarray:
    """Three thick dark 'glyphs' (4-pixel strokes) on white."""
    img = np.full((h, w), 255, np.uint8)
    for x in (10, 40, 70):
        img[6:26, x:x + 4] = 60
        img[6:10, x:x + 14] = 60
    return img


def test_every_cleaner_keeps_shape_and_type_and_a_clean_page() -> None:
    page = _glyph_page()
    for name in CLEANERS:
        out = clean_image(page, name)
        assert out.shape == page.shape and out.dtype == np.uint8
        # no noise to take out: the glyphs keep their ink
        assert np.sum(out < 128) >= 0.9 * np.sum(page < 128), name


def test_close_thin_takes_out_one_pixel_scratches_and_keeps_strokes() -> None:
    page = _glyph_page()
    scratched = page.copy()
    cv2.line(scratched, (28, 3), (35, 28), 0, 1)  # a short black scratch between glyphs
    out = close_thin(scratched)
    assert out[3:29, 27:37].min() > 200  # the scratch is paper again
    assert np.array_equal(out < 128, page < 128)  # the glyphs are untouched


def test_erase_lines_paints_a_long_line_over_with_paper_and_glyph() -> None:
    page = _glyph_page()
    crossed = page.copy()
    cv2.line(crossed, (0, 16), (95, 20), 0, 1)  # across the whole text
    assert len(straight_lines(crossed)) >= 1
    out = erase_lines(crossed)
    gaps = np.ones(96, bool)
    for x in (10, 40, 70):
        gaps[x - 1:x + 5] = False  # away from the glyphs' stems
    line_rows = out[15:22][:, gaps]
    assert line_rows.min() > 150  # over paper the line is gone
    stems = np.sum(out[6:26] < 128) / np.sum(page[6:26] < 128)
    assert stems > 0.9  # where it crossed a stem, the stem stays


def test_straight_lines_ignores_blank_pages_and_short_strokes() -> None:
    assert len(straight_lines(np.full((30, 90), 255, np.uint8))) == 0
    assert len(straight_lines(np.zeros((30, 90), np.uint8))) == 0
    short = np.full((30, 90), 255, np.uint8)
    cv2.line(short, (10, 10), (30, 14), 0, 1)  # under half the width
    assert len(straight_lines(short)) == 0


def test_changes_enough_says_whether_a_cleaner_has_anything_to_do() -> None:
    page = _glyph_page()
    crossed = page.copy()
    cv2.line(crossed, (0, 16), (95, 20), 0, 1)
    assert not changes_enough([page] * 20, "lines")
    assert changes_enough([page] * 15 + [crossed] * 5, "lines")  # a quarter have a line
    assert not changes_enough([page] * 95 + [crossed] * 5, "lines", share=0.1)
    assert not changes_enough([page] * 5, "none")


def test_check_clean_names_the_choices() -> None:
    check_clean("auto")
    for name in CLEANERS:
        check_clean(name)
    with pytest.raises(ConfigError, match="choose from auto, none, thin, lines, join"):
        check_clean("scrub")


def test_join_dots_makes_dotted_strokes_solid_and_only_dotted_images_ask_for_it() -> None:
    page = np.full((32, 96), 255, np.uint8)
    for x in (10, 40, 70):  # glyph stems drawn in dots two pixels apart
        page[6:26:2, x] = 0
        page[6, x:x + 12:2] = 0
    assert dotted(page)
    out = join_dots(page)
    for x in (10, 40, 70):
        assert out[7:25, x].max() < 128  # the stem is one stroke now
    assert not dotted(_glyph_page())  # solid glyphs: nothing to join
    assert changes_enough([page] * 10, "join") and not changes_enough([_glyph_page()] * 10, "join")


def test_close_thick_is_tried_only_where_most_strokes_are_thick_enough_to_keep() -> None:
    thick = np.full((40, 120), 255, np.uint8)
    for x in (10, 50, 90):  # glyph stems 7 pixels wide, a short 2-pixel scratch between two
        thick[6:34, x:x + 7] = 50
    thick[18:20, 25:45] = 0
    out = close_thick(thick)
    assert out[18:20, 30:45].min() == 255  # the noise line between stems: paper
    assert out[10:30, 12:15].max() == 50  # the stems: kept
    thin = _glyph_page()  # 4-pixel strokes: a 3x3 closing would eat them
    assert 6 <= stroke_width(thick) <= 8 and stroke_width(thin) < 4.5
    assert changes_enough([thick] * 12 + [thin] * 8, "thick")
    assert not changes_enough([thick] * 8 + [thin] * 12, "thick")  # most, not a tenth
    assert not changes_enough([np.full((30, 90), 255, np.uint8)] * 5, "thick")  # no ink


def _dotted_digits_under_a_wave(h: int = 80, w: int = 240) -> np.ndarray:
    """Hollow glyph outlines drawn in dots, a thick wavy band of the same ink across."""
    page = np.full((h, w), 255, np.uint8)
    for x in (40, 100, 160):
        for t in range(0, 360, 8):  # an ellipse outline in dots
            cx = int(x + 22 * np.cos(np.radians(t)))
            cy = int(40 + 28 * np.sin(np.radians(t)))
            cv2.circle(page, (cx, cy), 1, 0, -1)
    xs = np.arange(w)
    wave = np.stack([xs, 40 + 10 * np.sin(xs / 30)], axis=1).astype(np.int32)
    cv2.polylines(page, [wave], False, 0, 9)
    return page


def test_erase_bands_takes_out_a_thick_band_and_keeps_the_dotted_glyphs() -> None:
    page = _dotted_digits_under_a_wave()
    bands = thick_bands(page)
    assert bands[40 + int(10 * np.sin(5 / 30)), 5] and bands[40 + int(10 * np.sin(230 / 30)), 230]
    out = erase_bands(page)
    assert out[:, :10].min() > 200 and out[:, -10:].min() > 200  # the band is paper
    dots = (page < 128) & (bands == 0)  # the glyphs' dots off the band
    assert dots.sum() > 100 and (out[dots] < 128).all()


def test_only_images_with_a_band_across_ask_for_erase_bands() -> None:
    page = _dotted_digits_under_a_wave()
    assert banded(page)
    assert not banded(_glyph_page())  # solid glyphs, no band: nothing stands out
    solid = _glyph_page()
    assert np.array_equal(erase_bands(solid) < 128, solid < 128)
    assert changes_enough([page] * 5, "bands") and not changes_enough([solid] * 5, "bands")


def test_cleaners_joined_by_plus_run_in_turn_and_each_must_have_work() -> None:
    page = _dotted_digits_under_a_wave()
    check_clean("bands+join")
    with pytest.raises(ConfigError, match="unknown clean 'bands\\+scrub'"):
        check_clean("bands+scrub")
    both = clean_image(page, "bands+join")
    assert np.array_equal(both, join_dots(erase_bands(page)))
    assert changes_enough([page] * 5, "bands+join")  # banded and dotted
    solid_band = _glyph_page(80, 240)
    cv2.line(solid_band, (0, 40), (239, 44), 0, 9)
    assert changes_enough([solid_band] * 5, "bands")
    assert not changes_enough([solid_band] * 5, "bands+join")  # not dotted: no work for join
