"""Batch HOG against scikit-image, HOG-map windows and crops."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.feature import hog

from cvcaptcha.errors import ConfigError
from cvcaptcha.features import (
    batch_hog,
    char_crop,
    compute_features,
    hog_features,
    hog_map,
    ink_windows,
    map_columns,
    window_features,
    window_scores,
)


@pytest.mark.parametrize(
    ("shape", "orientations", "cell", "block"),
    [((32, 24), 9, 4, 2), ((31, 27), 9, 4, 2), ((48, 40), 12, 6, 3), ((20, 20), 6, 3, 1)],
)
def test_batch_hog_equals_skimage(
    shape: tuple[int, int], orientations: int, cell: int, block: int
) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((6, *shape)).astype(np.float32)
    images[0] = 0.0  # blank: every block normalised by eps alone
    images[1] = (images[1] > 0.5).astype(np.float32)  # binary: many exact angles
    ours = batch_hog(images, orientations, cell, block)
    for image, got in zip(images, ours):
        ref = hog(
            image, orientations, (cell, cell), (block, block),
            block_norm="L2-Hys", feature_vector=False,
        )
        np.testing.assert_allclose(got, ref, atol=1e-6)
    flat = hog_features(images, orientations, cell, block)
    assert flat.dtype == np.float32 and flat.shape == (6, ours[0].size)


def test_batch_hog_same_bits_whatever_the_input_dtype_and_layout() -> None:
    # float32 is read as is and widened pixel by pixel, other inputs are copied to float64
    rng = np.random.default_rng(3)
    images = (rng.random((3, 22, 30)) * 8).round().astype(np.float32)
    strided = np.concatenate([images, images], axis=2)[:, :, :30]
    ref = batch_hog(images.astype(np.float64), 9, 4, 2)
    for variant in (images, strided, np.asfortranarray(images), images.astype(np.uint8)):
        assert np.array_equal(batch_hog(variant, 9, 4, 2), ref)


def test_batch_hog_refuses_images_smaller_than_a_block() -> None:
    with pytest.raises(ConfigError, match="block"):
        batch_hog(np.zeros((1, 6, 6)), cell=4, block=2)


def test_window_features_are_slices_of_the_map() -> None:
    rng = np.random.default_rng(1)
    blocks = hog_map(rng.random((32, 80)), cell=4, block=2)
    assert blocks.shape == (7, 19, 2, 2, 9)
    feats = window_features(map_columns(blocks), np.array([0, 5, 99]), 4)
    assert feats.shape == (3, 7 * 4 * 36)
    # the window's block columns one after another
    np.testing.assert_allclose(feats[1], blocks[:, 5:9].swapaxes(0, 1).ravel(), rtol=1e-6)
    # a start past the end is clipped to the last whole window
    np.testing.assert_allclose(feats[2], blocks[:, -4:].swapaxes(0, 1).ravel(), rtol=1e-6)


def test_window_features_pad_a_map_narrower_than_the_window() -> None:
    columns = np.ones((2, 3), np.float32)
    feats = window_features(columns, np.array([0, 4]), 3)
    assert feats.tolist() == [[1, 1, 1, 1, 1, 1, 0, 0, 0]] * 2


@pytest.mark.parametrize("n_cols", [12, 2])
def test_window_scores_equal_cut_windows_times_coef(n_cols: int) -> None:
    rng = np.random.default_rng(2)
    columns = rng.random((n_cols, 8)).astype(np.float32)
    coef, intercept = rng.normal(size=(5, 3 * 8)), rng.normal(size=5)
    got = window_scores(columns, coef, intercept, 3)
    windows = window_features(columns, np.arange(max(1, n_cols - 2)), 3)
    assert got.shape == (len(windows), 5)
    np.testing.assert_allclose(got, windows @ coef.T + intercept, rtol=1e-5)


def test_char_crop_centres_glyph_whatever_its_position() -> None:
    mask = np.zeros((30, 60), np.uint8)
    mask[5:25, 10:16] = 1
    moved = np.roll(mask, 20, axis=1)
    a = char_crop(mask, 0, 30, (24, 16))
    b = char_crop(moved, 20, 50, (24, 16))
    np.testing.assert_allclose(a, b)
    assert char_crop(np.zeros_like(mask), 0, 30, (24, 16)).sum() == 0


def test_compute_features_names_kinds() -> None:
    crops = np.zeros((2, 16, 16), np.float32)
    assert compute_features(crops, "pixels").shape == (2, 256)
    with pytest.raises(ConfigError, match="unknown features"):
        compute_features(crops, "sift")
    with pytest.raises(ConfigError, match="windows"):
        compute_features(crops, "hogmap")


def test_ink_windows_centre_and_pad_with_blank_paper() -> None:
    ink = np.zeros((20, 60), np.float32)
    ink[:, 28:32] = 1.0  # one vertical stroke at x = 30
    wins = ink_windows(ink, np.array([30.0, 0.0, 59.0]), 20, (10, 10))
    centred = wins[0].reshape(10, 10)
    assert centred[:, 4:6].min() > 0.9 and centred[:, :3].max() == 0.0
    assert wins[1].max() == 0.0 and wins[2].max() == 0.0  # nothing near the edges


@pytest.mark.parametrize(("width", "height"), [(33.0, 40), (20.0, 40), (8.0, 40), (33.0, 16)])
def test_ink_windows_equal_one_resize_per_window(width: float, height: int) -> None:
    import cv2

    ink = np.random.default_rng(1).random((height, 160)).astype(np.float32)
    centres = np.array([-3.0, 0.4, 17.0, 30.5, 80.0, 159.6, 170.0])
    got = ink_windows(ink, centres, width, (24, 20))
    assert got.dtype == np.float32
    half = int(round(width / 2))
    padded = np.pad(ink, ((0, 0), (half, half)))
    for row, c in zip(got, np.clip(np.round(centres).astype(int), 0, 160)):
        want = cv2.resize(padded[:, c:c + 2 * half], (20, 24), interpolation=cv2.INTER_AREA)
        np.testing.assert_allclose(row.reshape(24, 20), want, atol=1e-6)
    assert ink_windows(ink, np.array([]), width, (24, 20)).shape == (0, 480)
