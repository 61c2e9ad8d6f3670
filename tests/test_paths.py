"""Path search over cuts and centres, on small hand-made score tables."""

from __future__ import annotations

import numpy as np

from cvcaptcha.paths import (
    add_margins,
    candidate_slices,
    dp_cuts,
    intervals_around,
    moved_centres,
    viterbi,
    viterbi_points,
)


def test_candidate_slices_respect_width_prior() -> None:
    edges, pairs, widths = candidate_slices(0, 100, 20.0, 2.0, 2.0, 5.0)
    assert edges.min() <= -4 and edges.max() >= 104
    assert np.all(widths >= 14) and np.all(widths <= 26)
    assert np.allclose(edges[pairs[:, 1]] - edges[pairs[:, 0]], widths)


def test_viterbi_finds_best_consecutive_path() -> None:
    pairs = np.array([[0, 1], [1, 2], [0, 2], [2, 3], [1, 3]])
    scores = np.array([[0.0, 0], [0, -1], [-3, -3], [-9, 0], [-1, -1]])
    starts = np.array([True, False, False, False])
    ends = np.array([False, False, False, True])
    assert viterbi(scores, pairs, 4, starts, ends).tolist() == [0, 4]
    assert viterbi(scores[:, :1].repeat(3, axis=1), pairs, 4, starts, ends).tolist() == [0, 1, 3]
    assert viterbi(scores, pairs, 4, starts, np.zeros(4, bool)) is None


def test_viterbi_points_trades_scores_against_pitch() -> None:
    positions = np.array([0.0, 10, 12, 20])
    scores = np.zeros((4, 3))
    scores[2, 1] = 1.0  # slightly better middle character, but off the pitch
    assert viterbi_points(scores, positions, 10.0, 1.0, 1.0).tolist() == [0, 1, 3]
    assert viterbi_points(scores, positions, 10.0, 1.0, 0.0).tolist() == [0, 2, 3]
    assert viterbi_points(scores[:2], positions[:2], 10.0, 1.0, 1.0) is None


def test_dp_cuts_cut_through_the_least_ink_at_plausible_widths() -> None:
    ink = np.ones(60)
    ink[[19, 41]] = 0.0  # two gaps: three characters of about 20
    edges = dp_cuts(ink, 0, 60, 3, 20.0, 3.0, 0.05)
    assert edges.tolist() == [0, 19, 41, 60]
    # a heavy width prior overrides the gaps
    assert dp_cuts(ink, 0, 60, 3, 20.0, 0.5, 10.0).tolist() == [0, 20, 40, 60]


def test_moved_centres_are_every_reachable_position_sorted_once() -> None:
    got = moved_centres(np.array([10.0, 14.0]), 2, 2)
    assert got.tolist() == [6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0]  # overlaps kept once
    assert moved_centres(np.array([5.0]), 3, 0).tolist() == [5.0]


def test_intervals_around_round_half_to_even_like_numpy() -> None:
    centres = np.array([10.0, 12.5, 20.25])
    got = intervals_around(centres, 5.0)
    expected = np.stack([np.round(centres - 5.0), np.round(centres + 5.0)], axis=1)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_add_margins_penalises_first_and_last_positions_off_their_learned_margins() -> None:
    centres = np.array([10.0, 20.0, 30.0, 40.0])
    scores = np.zeros((4, 3))
    add_margins(scores, centres, 0.0, 50.0, 10.0, 5.0, 10.0, 5.0, 1.0)
    assert scores[0, 0] == 0.0 and scores[3, 2] == 0.0  # exactly at the margins
    assert scores[1, 0] == -0.5 * (10 / 5) ** 2  # two spreads off the head margin
    np.testing.assert_array_equal(scores[:, 1], 0.0)  # middle characters untouched
    assert np.all(np.diff(scores[:, 0]) < 0) and np.all(np.diff(scores[:, 2]) > 0)
