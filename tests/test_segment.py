"""Segmentation strategies on synthetic masks with known glyph positions."""

from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha.columns import text_extent
from cvcaptcha.errors import ConfigError
from cvcaptcha.segment import (
    SEGMENTERS,
    Components,
    DynamicProgramming,
    EqualWidth,
    Lattice,
    Projection,
    Window,
    make_segmenter,
)

H = 40


def glyph_mask(starts: list[int], width: int = 16, total: int = 160) -> np.ndarray:
    """Solid glyphs of ``width`` columns at ``starts``, with a thin noise line across."""
    mask = np.zeros((H, total), np.uint8)
    for x in starts:
        mask[8:32, x:x + width] = 1
        mask[8:32, x + width // 2 - 1:x + width // 2 + 1] = 0  # a hole, as in real glyphs
    mask[20, :] = 1  # thin noise line touching every glyph
    return mask


STARTS = [10, 34, 60, 84, 110]


@pytest.mark.parametrize("name", list(SEGMENTERS))
@pytest.mark.parametrize("n_chars", [1, 4, 5, 8])
def test_every_segmenter_returns_n_sorted_intervals_inside_image(name: str, n_chars: int) -> None:
    mask = glyph_mask(STARTS)
    seg = make_segmenter(name).fit([mask], 5)
    cuts = seg.cut(mask, n_chars)
    assert cuts.shape == (n_chars, 2)
    assert cuts.dtype.kind == "i"
    assert np.all(cuts[:, 1] > cuts[:, 0])
    assert np.all(cuts[1:, 0] >= cuts[:-1, 0])
    assert cuts.min() >= 0 and cuts.max() <= mask.shape[1]


@pytest.mark.parametrize("name", list(SEGMENTERS))
def test_every_segmenter_survives_an_empty_mask(name: str) -> None:
    mask = np.zeros((H, 100), np.uint8)
    assert make_segmenter(name).cut(mask, 5).shape == (5, 2)


def gap_of(cuts: np.ndarray) -> np.ndarray:
    return cuts[1:, 0]


@pytest.mark.parametrize("seg", [Projection(), DynamicProgramming()])
def test_low_ink_strategies_cut_in_the_gaps(seg) -> None:
    mask = glyph_mask(STARTS)
    seg.fit([mask], 5)
    cuts, exact = seg.cut_status(mask, 5)
    for cut, (end, nxt) in zip(gap_of(cuts), zip(np.add(STARTS[:-1], 16), STARTS[1:])):
        assert end <= cut <= nxt, (cuts.tolist(), end, nxt)
    assert exact is True


def test_components_splits_wide_blob_and_merges_fragments() -> None:
    mask = np.zeros((H, 160), np.uint8)
    mask[8:32, 10:26] = 1  # one glyph
    mask[8:32, 34:66] = 1  # two glyphs touching: one wide blob
    mask[8:12, 80:96] = 1  # a glyph broken into two pieces stacked vertically
    mask[18:32, 80:96] = 1
    mask[8:32, 104:120] = 1
    seg = Components().set_widths(np.full(5, 16.0))
    blobs = seg.blobs(mask)
    assert len(blobs) == 4  # the broken glyph is one blob
    cuts, exact = seg.cut_status(mask, 5)
    assert exact is False  # four blobs: one had to be split
    assert cuts.shape == (5, 2)
    assert 44 <= cuts[1, 1] <= 56  # the wide blob is split near its middle
    cuts4, exact4 = seg.cut_status(mask, 4)
    assert exact4 is True
    cuts3 = seg.cut(mask, 3)
    assert cuts3.shape == (3, 2)  # too many blobs: neighbours merged


def test_components_ignores_noise_line_extent() -> None:
    mask = glyph_mask(STARTS)
    mask[20, :] = 1
    seg = Components().fit([mask], 5)
    cuts = seg.cut(mask, 5)
    assert cuts[-1, 1] <= STARTS[-1] + 20  # not stretched to the line's end


def test_lattice_with_fake_scorer_picks_known_best_cuts() -> None:
    mask = np.zeros((H, 160), np.uint8)
    mask[8:32, 10:130] = 1  # one solid bar: ink gives no hint where to cut
    truth = [(10, 30), (30, 58), (58, 80), (80, 105), (105, 130)]
    seg = Lattice(step=0.05).set_widths(np.array([20.0, 28, 22, 25, 25]))

    def scorer(m: np.ndarray, intervals: np.ndarray) -> np.ndarray:
        # Score each slice by closeness to the true character at that position.
        t = np.array(truth)
        dist = np.abs(intervals[:, None, :] - t[None, :, :]).sum(axis=2)
        return -dist.astype(float)

    cuts, exact = seg.cut_status(mask, 5, scorer)
    assert exact is True
    assert np.abs(cuts - np.array(truth)).max() <= 2
    unguided = seg.cut(mask, 5)  # falls back to dynamic programming
    assert unguided.shape == (5, 2)


def test_fit_learns_width_and_spread() -> None:
    mask = glyph_mask(STARTS)
    seg = DynamicProgramming().fit([mask, mask], 5)
    x0, x1 = text_extent(mask)
    assert seg.char_width_ == pytest.approx((x1 - x0) / 5)
    assert seg.char_width_std_ >= 1.0
    assert all(isinstance(v, float) for k, v in vars(seg).items() if k.endswith("_"))


def test_unknown_segmenter_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="choose from"):
        make_segmenter("nope")


def test_window_with_fake_scorer_centres_on_characters() -> None:
    mask = np.zeros((H, 160), np.uint8)
    mask[8:32, 10:130] = 1  # one solid bar: only the scorer knows the characters
    truth = np.array([20.0, 44, 69, 92, 118])
    seg = Window(step=0.1).set_widths(np.array([20.0, 28, 22, 25, 25]))

    def scorer(m: np.ndarray, intervals: np.ndarray) -> np.ndarray:
        centres = intervals.mean(axis=1)
        return -np.abs(centres[:, None] - truth[None, :])

    cuts, exact = seg.cut_status(mask, 5, scorer)
    assert exact is True
    assert np.abs(cuts.mean(axis=1) - truth).max() <= 3
    intervals, pairs, widths = seg.lattice(mask, 5)
    assert len(intervals) == len(pairs) == len(widths) >= 5
    assert seg.cut(mask, 5).shape == (5, 2)  # unguided: dynamic programming


def test_learn_cuts_sets_width_and_margin_priors() -> None:
    masks = [np.zeros((H, 160), np.uint8) for _ in range(3)]
    for m, x0 in zip(masks, (10, 14, 18)):
        m[8:32, x0:x0 + 100] = 1  # extents [x0, x0 + 100)
    cuts = [np.array([[x0 + 2, x0 + 22], [x0 + 22, x0 + 42]]) for x0 in (10, 14, 18)]
    seg = Window().learn_cuts(masks, cuts)
    assert seg.char_width_ == 20.0
    head, head_std, tail, tail_std = seg.margins_
    assert (head, tail) == (12.0, 68.0)
    assert head_std == tail_std == 2.0  # no spread: floored at min_spread of the width


def test_window_margin_prior_picks_the_offset_the_extent_allows() -> None:
    """A scorer that sees characters everywhere (a periodic pattern) leaves the
    offset to the priors: the learned margins put the first centre where the
    training captchas had it, and without them the path may start anywhere."""
    mask = np.zeros((H, 160), np.uint8)
    mask[8:32, 20:120] = 1

    def scorer(m: np.ndarray, intervals: np.ndarray) -> np.ndarray:
        centres = intervals.mean(axis=1)
        return np.repeat(np.cos(2 * np.pi * centres / 10.0)[:, None], 5, axis=1)

    training = [np.array([[20, 40], [40, 60], [60, 80], [80, 100], [100, 120]])]
    seg = Window(step=0.05).learn_cuts([mask], training)
    cuts, exact = seg.cut_status(mask, 5, scorer)
    assert exact is True
    np.testing.assert_allclose(cuts.mean(axis=1), [30, 50, 70, 90, 110], atol=1)
    free = Window(step=0.05, margin_weight=0.0).learn_cuts([mask], training)
    assert free.cut_status(mask, 5, scorer)[0].mean(axis=1)[0] != cuts.mean(axis=1)[0]


def test_window_recentre_moves_each_centre_to_the_finer_scorer_within_its_span() -> None:
    mask = np.zeros((H, 160), np.uint8)
    mask[8:32, 8:133] = 1
    truth = np.array([20.0, 45, 70, 95, 120])
    seg = Window(recentre_span=0.3, recentre_step=0.1).set_widths(np.array([24.0, 25, 26]))
    # pitch 25, spread 2.5: candidates every 2 px up to 8 px from each centre

    def scorer(m: np.ndarray, intervals: np.ndarray) -> np.ndarray:
        centres = intervals.mean(axis=1)
        near = np.abs(centres[:, None] - truth[None, :]).min(axis=1)
        return np.repeat(-2.0 * near[:, None], 5, axis=1)

    off = np.array([4, -3, 5, 0, -4])
    cuts = np.stack([truth + off - 12.5, truth + off + 12.5], axis=1).astype(int)
    moved = seg.recentre(mask, cuts, scorer)
    assert moved.shape == (5, 2)
    assert np.abs(moved.mean(axis=1) - truth).max() <= 1
    np.testing.assert_array_equal(moved[:, 1] - moved[:, 0], 25)  # as wide as the pitch
    far = cuts + 20  # every true centre out of reach: each moves at most the span
    assert np.abs(seg.recentre(mask, far, scorer).mean(axis=1) - far.mean(axis=1)).max() <= 8
    still = Window(recentre_span=0.0).set_widths(np.array([25.0]))  # no recentring
    assert still.recentre(mask, cuts, scorer) is None
    assert EqualWidth().recentre(mask, cuts, scorer) is None  # slices, not points: no recentring
    assert seg.recentres and not still.recentres and not EqualWidth().recentres


def test_a_family_of_several_lengths_learns_a_pitch_per_length() -> None:
    """A site drawing longer texts at a narrower pitch: each length keeps its own prior."""
    seg = Window().set_widths(np.array([30.0, 31, 29, 20, 21, 19]), np.array([4, 4, 4, 6, 6, 6]))
    assert seg.width_prior(0, 100, 4)[0] == pytest.approx(30.0)
    assert seg.width_prior(0, 100, 6)[0] == pytest.approx(20.0)
    assert seg.width_prior(0, 100, 5)[0] == pytest.approx(seg.char_width_)  # unseen: pooled
    one = Window().set_widths(np.array([30.0, 31, 29]), np.array([4, 4, 4]))
    assert not hasattr(one, "length_widths_")  # one length: the pooled prior, as before
