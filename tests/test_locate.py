"""Locating characters: guided paths, recentring the unsure, forced alignments."""

from __future__ import annotations

import copy

import numpy as np

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.locate import align, locate, recentre_to_labels


def test_guided_reading_recentres_unsure_captchas_with_the_reader(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    locator = fitted._locator()
    tables = [locator.table(p.hog) for p in synth_preps]
    seg = fitted.segmenter_
    assert seg.recentres  # the default recentres
    for below in (0.0, fitted.shift_below, 1.01):
        reader = copy.deepcopy(fitted).set_params(shift_below=below)._reader()
        found = locate(seg, synth_preps, 4, tables, locator, reader, fitted.locator_weight)
        recentred = moved = 0
        for prep, table, (cuts, status, proba) in zip(synth_preps, tables, found):
            located = seg.cut(prep.mask, 4, locator.scorer(table, 4))
            centred = reader.proba(reader.features(prep, located))
            unsure = centred.max(axis=1).min() < below
            expected = (
                seg.recentre(prep.mask, located, reader.recentring_scorer(
                    prep, locator, table, fitted.locator_weight))
                if unsure
                else located
            )
            np.testing.assert_array_equal(cuts, expected)
            assert status is True
            # the reads of the chosen windows come along: the recentring's own, not read again
            np.testing.assert_allclose(proba, reader.proba(reader.features(prep, cuts)), atol=1e-5)
            recentred += unsure
            moved += not np.array_equal(cuts, located)
        if below == 0.0:
            assert recentred == 0  # every captcha keeps the locator's path
        if below > 1:
            assert recentred == len(synth_preps) and moved  # off the locator's coarse grid
    still = copy.deepcopy(seg)
    still.recentre_span = 0.0
    assert not still.recentres
    for prep, table, (cuts, _, proba) in zip(
        synth_preps, tables, locate(still, synth_preps, 4, tables, locator, fitted._reader(), 0.2)
    ):
        np.testing.assert_array_equal(cuts, seg.cut(prep.mask, 4, locator.scorer(table, 4)))
        assert proba is None  # nothing read while locating


def test_unguided_strategies_locate_by_themselves(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    from cvcaptcha.segment import make_segmenter

    seg = make_segmenter("components").fit([p.mask for p in synth_preps], 4)
    found = locate(seg, synth_preps, 4, [None] * len(synth_preps), None, fitted._reader(), 0.2)
    for prep, (cuts, status, proba) in zip(synth_preps, found):
        expected, exact = seg.cut_status(prep.mask, 4)
        np.testing.assert_array_equal(cuts, expected)
        assert status == exact and proba is None


def test_forced_alignments_follow_the_labels(fitted: CaptchaRecognizer, synth_preps: list) -> None:
    locator, reader = fitted._locator(), fitted._reader()
    tables = [locator.table(p.hog) for p in synth_preps]
    seg = fitted.segmenter_
    texts = fitted._texts(synth_preps)
    targets = [np.array([fitted.alphabet_.index(c) for c in t]) for t in texts]
    aligned = align(seg, synth_preps, tables, locator, targets)
    for prep, table, t, cuts in zip(synth_preps, tables, targets, aligned):
        np.testing.assert_array_equal(cuts, seg.cut(prep.mask, 4, locator.scorer(table, 4, t)))
    moved = recentre_to_labels(seg, synth_preps, aligned, tables, locator, reader, 0.2, targets)
    span = seg.recentre_span * seg.char_width_ + 2
    for before, after in zip(aligned, moved):
        assert after.shape == before.shape
        assert np.abs(after.mean(axis=1) - before.mean(axis=1)).max() <= span
    # forced to a wrong label, the path moves away from where the text is read
    wrong = [np.roll(t, 1) for t in targets]
    assert any(not np.array_equal(a, b) for a, b in zip(
        align(seg, synth_preps, tables, locator, wrong), aligned
    ))
