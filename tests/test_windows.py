"""Character windows: their geometry on the HOG map and the reader's input."""

from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.features import window_features
from cvcaptcha.prepare import prepare
from cvcaptcha.windows import CharWindows, hog_windows, window_cells, window_starts


def test_window_cells_hold_the_character_and_its_context_but_at_least_a_block() -> None:
    assert window_cells(20.0, 0.0, 4, 2) == 5
    assert window_cells(20.0, 0.5, 4, 2) == 10
    assert window_cells(2.0, 0.0, 4, 2) == 2  # narrower than a block: one block


def test_window_starts_centre_each_window_and_stay_on_the_map() -> None:
    cuts = np.array([[0, 8], [40, 60], [150, 170]])
    starts = window_starts(cuts, 20.0, 0.0, 4, 2, last=30)
    assert starts[0] == 0  # would start left of the map: moved onto it
    assert starts[1] == round(50 / 4 - 5 / 2)  # centred on the cut's centre
    assert starts[2] == 30  # past the end: the last start


def test_hog_windows_are_the_maps_windows_at_those_starts() -> None:
    image = np.full((40, 160), 255, np.uint8)
    image[8:32, 30:36] = 0
    params = CaptchaRecognizer().front_params()
    prep = prepare(image, params)
    cuts = np.array([[20, 44], [60, 84]])
    got = hog_windows(prep, cuts, 24.0, 0.2, 4, 2)
    starts = window_starts(cuts, 24.0, 0.2, 4, 2, len(prep.hog) - 1)
    blocks = window_cells(24.0, 0.2, 4, 2) - 2 + 1
    np.testing.assert_array_equal(got, window_features(prep.hog, starts, blocks))


@pytest.mark.parametrize("kind", ["ink", "inkhog", "hogmap", "hog", "pixels"])
def test_char_windows_give_one_row_per_cut_of_every_kind(kind: str) -> None:
    image = np.full((40, 160), 255, np.uint8)
    image[8:32, 30:36] = 0
    prep = prepare(image, CaptchaRecognizer().front_params())
    windows = CharWindows(kind, 24.0, 0.35, (24, 20))
    cuts = np.array([[20, 44], [44, 68], [68, 92]])
    X = windows(prep, cuts)
    assert X.shape[0] == 3 and X.dtype == np.float32
    assert not np.allclose(X[0], X[2])  # the glyph is in the first window only
    np.testing.assert_array_equal(windows(prep, cuts[:1]), X[:1])  # rows do not depend on others


def test_inkhog_is_the_ink_window_and_its_hog_which_fainter_ink_hardly_changes() -> None:
    image = np.full((40, 160), 255, np.uint8)
    image[8:32, 30:36] = 0
    image[8:12, 30:44] = 0
    prep = prepare(image, CaptchaRecognizer().front_params())
    cuts = np.array([[20, 44], [44, 68]])
    ink = CharWindows("ink", 24.0, 0.35, (24, 20))(prep, cuts)
    both = CharWindows("inkhog", 24.0, 0.35, (24, 20))(prep, cuts)
    assert both.shape[1] > ink.shape[1]
    np.testing.assert_array_equal(both[:, : ink.shape[1]], ink)
    prep.ink *= 0.3  # the same glyph drawn pale
    pale = CharWindows("inkhog", 24.0, 0.35, (24, 20))(prep, cuts)
    np.testing.assert_allclose(pale[:, : ink.shape[1]], 0.3 * ink, rtol=1e-5, atol=1e-6)
    hog, pale_hog = both[0, ink.shape[1]:], pale[0, ink.shape[1]:]
    assert np.abs(pale_hog - hog).max() < 0.05 * np.abs(hog).max()  # gradients normalised per block
