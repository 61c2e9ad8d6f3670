"""Column profiles of ink masks: extent, equal cuts, gaps, pitches."""

from __future__ import annotations

import numpy as np

from cvcaptcha.columns import (
    all_gaps,
    column_ink,
    edges_to_cuts,
    equal_cuts,
    pitches,
    smoothed_ink,
    text_extent,
)


def test_text_extent_ignores_a_thin_line_running_past_the_text() -> None:
    mask = np.zeros((40, 100), np.uint8)
    mask[5:35, 20:60] = 1
    mask[20, :] = 1  # one-pixel line across the whole image
    assert text_extent(mask) == (20, 60)
    assert text_extent(np.zeros((40, 100), np.uint8)) == (0, 100)  # no ink: everything
    faint = np.zeros((40, 100), np.uint8)
    faint[20, 30:50] = 1  # only thin ink: the columns with any
    assert text_extent(faint) == (30, 50)


def test_equal_cuts_cover_the_extent_and_never_collapse() -> None:
    cuts = equal_cuts(10, 110, 4)
    assert cuts.tolist() == [[10, 35], [35, 60], [60, 85], [85, 110]]
    tiny = equal_cuts(5, 5, 3)  # an empty extent still gives three one-pixel slices
    assert np.all(tiny[:, 1] > tiny[:, 0])
    assert edges_to_cuts(np.array([0, 4, 9])).tolist() == [[0, 4], [4, 9]]


def test_gaps_and_pitches() -> None:
    mask = np.zeros((40, 60), np.uint8)
    mask[:, 0:18] = 1
    mask[:, 22:40] = 1
    ink = smoothed_ink(mask)
    assert column_ink(mask)[0] == 40
    assert all_gaps(ink, np.array([[0, 20], [20, 40]]))  # the cut at 20 is in the gap
    assert not all_gaps(ink, np.array([[0, 10], [10, 40]]))
    assert pitches(np.array([[0, 10], [10, 20], [22, 30]])).tolist() == [10.0, 11.0]
    assert pitches(np.array([[3, 10]])).tolist() == [7.0]  # one character: its width
