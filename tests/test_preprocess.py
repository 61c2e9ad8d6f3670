"""Binarisation and cleaning of captcha images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvcaptcha.errors import ConfigError
from cvcaptcha.preprocess import (
    binarize,
    crop_band,
    despeckle,
    ink_levels,
    preprocess,
    remove_lines,
    resize_height,
    text_band,
)


def test_binarize_makes_ink_the_minority_on_dark_paper() -> None:
    img = np.full((20, 40), 10, np.uint8)
    img[5:15, 5:10] = 240
    mask = binarize(img)
    assert mask[10, 7] == 1 and mask[0, 0] == 0


@pytest.mark.parametrize("method", ["otsu", "adaptive"])
def test_binarize_copes_with_gradient_background(method: str) -> None:
    img = np.tile(np.linspace(150, 250, 200), (50, 1)).astype(np.uint8)
    img[10:40, 20:30] = 20
    img[10:40, 170:180] = 60
    mask = binarize(img, method)
    assert mask[25, 25] == 1 and mask[25, 175] == 1
    assert mask[:, 60:150].mean() < 0.05


def test_binarize_rejects_unknown_method() -> None:
    with pytest.raises(ConfigError):
        binarize(np.zeros((10, 10), np.uint8), "magic")


def test_remove_lines_drops_thin_line_keeps_glyph_and_stem() -> None:
    mask = np.zeros((50, 100), np.uint8)
    mask[10:40, 20:30] = 1  # thick glyph
    mask[10:40, 60:62] = 1  # thin vertical stem
    mask[25:27, :] = 1  # thin noise line
    out = remove_lines(mask, 4)
    assert out[25, 45] == 0 and out[25, 90] == 0
    assert out[10:40, 20:30].all() and out[10:40, 60:62].all()



def test_remove_lines_keeps_glyphs_drawn_thinner_than_the_opening() -> None:
    mask = np.zeros((40, 120), np.uint8)
    for x in (10, 50, 90):  # hollow glyphs: 1-pixel outlines
        cv2.rectangle(mask, (x, 8), (x + 20, 32), 1, 1)
    assert np.array_equal(remove_lines(mask, 3), mask)  # the opening would take half the ink
    few = np.zeros((40, 160), np.uint8)  # a long line is a third of the ink, and still goes
    few[10:30, 20:30] = few[10:30, 60:70] = 1
    few[4:6, 5:150] = 1
    out = remove_lines(few, 3)
    assert out[4:6].sum() == 0 and out[10:30].all(axis=0).sum() == 20
    solid = np.zeros((40, 120), np.uint8)
    solid[8:32, 10:18] = solid[8:32, 50:58] = solid[8:32, 90:98] = 1
    solid[20, :] = 1
    out = remove_lines(solid, 3)
    assert out[20, 30] == 0 and out[20, 12] == 1

def test_despeckle_and_preprocess_scale_with_height() -> None:
    img = np.full((50, 200), 255, np.uint8)
    img[10:40, 30:45] = 0
    img[2, 150] = 0  # a speck
    mask = preprocess(img, line_frac=0.07)
    assert mask[25, 35] == 1 and mask[2, 150] == 0
    big = preprocess(np.kron(img, np.ones((2, 2), np.uint8)), line_frac=0.07)
    assert big.sum() == pytest.approx(4 * mask.sum(), rel=0.05)
    assert despeckle(mask, 1) is mask


@pytest.mark.parametrize("side", [40, 600])  # a captcha's size, and 90000 specks
def test_despeckle_removes_every_small_component_whatever_their_number(side: int) -> None:
    mask = np.zeros((side, side), np.uint8)
    mask[::2, ::2] = 1  # isolated pixels: (side / 2) ** 2 components
    mask[10:20, 10:20] = 1  # one block, which swallows its neighbouring dots
    out = despeckle(mask, 3)
    assert out[10:20, 10:20].all() and out[20, 12] == 1  # the block and a dot touching it
    assert out.sum() == 100 + 6 + 5  # nothing else: 10x10 block, 6 dots below, 5 right

def test_resize_height_keeps_aspect_and_reports_scale() -> None:
    img = np.zeros((50, 200), np.uint8)
    out, scale = resize_height(img, 25)
    assert out.shape == (25, 100) and scale == 0.5
    same, one = resize_height(img, 50)
    assert same is img and one == 1.0


@pytest.mark.parametrize("dark_paper", [False, True])
def test_ink_levels_keep_strokes_and_drop_background_gradient(dark_paper: bool) -> None:
    ramp = np.linspace(150, 250, 120).astype(np.uint8)
    img = np.tile(ramp, (40, 1))
    img[10:30, 50:54] = 20
    if dark_paper:
        img = 255 - img
    ink = ink_levels(img)
    assert ink.dtype == np.float32
    assert ink[15:25, 50:54].min() > 0.9
    assert ink[:, 90:].max() < 0.05  # the smooth ramp is background, not ink


@pytest.mark.parametrize("size", [1, 2, 7, 6400])
def test_quantile_u8_equals_numpy(size: int) -> None:
    from cvcaptcha.preprocess import quantile_u8

    values = np.random.default_rng(size).integers(0, 256, size).astype(np.uint8)
    for q in (0.0, 0.25, 0.5, 0.99, 1.0):
        assert quantile_u8(values, q) == pytest.approx(np.quantile(values, q), abs=1e-9)


@pytest.mark.parametrize(
    ("shape", "height"),
    [((50, 200), 40), ((64, 240), 40), ((60, 300), 40), ((41, 150), 40), ((80, 250), 40),
     ((120, 90), 40), ((7, 33), 5)],
)
def test_resize_height_shrinks_exactly_as_opencv_area_averaging(
    shape: tuple[int, int], height: int
) -> None:
    import cv2

    rng = np.random.default_rng(sum(shape))
    for img in [rng.integers(0, 256, shape, dtype=np.uint8), np.full(shape, 255, np.uint8)]:
        out, scale = resize_height(img, height)
        width = int(round(shape[1] * height / shape[0]))
        want = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
        assert out.dtype == np.uint8 and scale == height / shape[0]
        np.testing.assert_array_equal(out, want)


def test_despeckle_removes_exactly_the_components_opencv_finds_too_small() -> None:
    import cv2

    rng = np.random.default_rng(0)
    for _ in range(300):
        mask = (rng.random(rng.integers(1, 30, 2)) < rng.uniform(0.05, 0.7)).astype(np.uint8)
        min_area = int(rng.integers(2, 12))
        _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= min_area
        keep[0] = False
        np.testing.assert_array_equal(despeckle(mask, min_area), keep[labels].astype(np.uint8))


def test_despeckle_with_an_area_beyond_the_image_removes_everything_without_allocating_it() -> None:
    mask = np.ones((40, 160), np.uint8)
    assert despeckle(mask, 40 * 160) is mask  # exactly the image: kept
    assert despeckle(mask, 10**12).sum() == 0  # more than the image: removed, no huge buffer


def test_text_band_finds_the_text_rows_past_thin_crossing_lines() -> None:
    img = np.full((90, 240), 255, np.uint8)
    img[40:60, 20:220:15] = 0  # glyph strokes in a strip of rows
    img[np.arange(90), np.linspace(5, 230, 90).astype(int)] = 0  # a thin line across it all
    y0, y1 = text_band(img)
    assert 37 <= y0 <= 40 and 60 <= y1 <= 63
    assert crop_band(img).shape[0] < 40
    blank = np.full((90, 240), 255, np.uint8)
    assert text_band(blank) == (0, 90) and crop_band(blank).shape == blank.shape
