"""The reader's window reads: moved reads, recentring reads, the sureness rule."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.reads import Reader, seen_rows


def located_cuts(fitted: CaptchaRecognizer, preps: list) -> list[np.ndarray]:
    """The locator's path in each captcha (no recentring)."""
    locator = fitted._locator()
    return [
        fitted.segmenter_.cut(p.mask, fitted.n_chars_, locator.scorer(locator.table(p.hog), 4))
        for p in preps
    ]


def test_seen_rows_match_exact_windows_only() -> None:
    read = np.array([[0, 10], [2, 12], [4, 14]])
    assert seen_rows(read, np.array([[4, 14], [3, 13], [0, 10]])).tolist() == [2, -1, 0]


def test_sure_means_every_character_at_least_shift_below(fitted: CaptchaRecognizer) -> None:
    reader = fitted._reader()
    assert reader.sure(np.array([[0.96, 0.04], [0.99, 0.01]]))
    assert not reader.sure(np.array([[0.96, 0.04], [0.6, 0.4]]))


def test_shift_reads_average_the_reader_over_windows_moved_sideways(
    fitted: CaptchaRecognizer, synth_test_dir
) -> None:
    test = load_dataset(synth_test_dir).images[:10]
    width = fitted.segmenter_.char_width_
    offsets = fitted._reader().offsets()
    assert len(offsets) == 2 * fitted.shift_reads + 1 and 0 in offsets
    np.testing.assert_array_equal(offsets, -offsets[::-1])
    assert abs(offsets).max() == round(fitted.shift_span * width)
    one_read = copy.deepcopy(fitted).set_params(shift_reads=0)
    assert list(one_read._reader().offsets()) == [0]
    many = [p.char_confidences for p in fitted.predict_details(test)]
    one = [p.char_confidences for p in one_read.predict_details(test)]
    assert not np.allclose(many, one)  # the moved reads count


@pytest.mark.parametrize("below", [0.0, 0.95, 1.01])
def test_moved_reads_are_taken_only_for_characters_read_less_surely_than_shift_below(
    fitted: CaptchaRecognizer, synth_preps: list, below: float
) -> None:
    preps = synth_preps[:10]
    cuts = located_cuts(fitted, preps)
    reader = copy.deepcopy(fitted).set_params(shift_below=below)._reader()
    offsets = reader.offsets()
    weak_seen = sure_seen = 0
    got_all = reader.moved(preps, cuts, reader.centred(preps, cuts))
    for prep, c, got in zip(preps, cuts, got_all):
        reads = [
            reader.proba(reader.features(prep, np.clip(c + o, 0, prep.mask.shape[1])))
            for o in offsets
        ]
        centred, averaged = reads[list(offsets).index(0)], np.mean(reads, axis=0)
        weak = centred.max(axis=1) < below
        np.testing.assert_allclose(got[~weak], centred[~weak], atol=1e-6)
        np.testing.assert_allclose(got[weak], averaged[weak], atol=1e-6)
        weak_seen, sure_seen = weak_seen + weak.sum(), sure_seen + (~weak).sum()
    if below > 1:
        assert sure_seen == 0
    elif below == 0:
        assert weak_seen == 0
    else:
        assert weak_seen and sure_seen  # both kinds occur, so both branches were checked


def test_recentring_reads_only_the_windows_not_read_yet(
    fitted: CaptchaRecognizer, synth_preps: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep = synth_preps[0]
    locator, reader = fitted._locator(), fitted._reader()
    table = locator.table(prep.hog)
    seg = fitted.segmenter_
    located = located_cuts(fitted, [prep])[0]
    centred = reader.proba(reader.features(prep, located))
    rows: list[int] = []
    proba = Reader.proba

    def spy(self: Reader, X: np.ndarray) -> np.ndarray:
        rows.append(len(X))
        return proba(self, X)

    monkeypatch.setattr(Reader, "proba", spy)
    known = {"intervals": located, "proba": centred}
    fresh: dict[str, np.ndarray] = {}
    w = fitted.locator_weight
    reused = seg.recentre(prep.mask, located, reader.recentring_scorer(prep, locator, table, w,
                                                                       None, known))
    alone = seg.recentre(prep.mask, located, reader.recentring_scorer(prep, locator, table, w,
                                                                      None, fresh))
    np.testing.assert_array_equal(reused, alone)
    np.testing.assert_array_equal(known["intervals"], fresh["intervals"])
    np.testing.assert_allclose(known["proba"], fresh["proba"], atol=1e-5)
    matched = int((seen_rows(fresh["intervals"], located) >= 0).sum())
    assert matched and rows == [len(fresh["intervals"]) - matched, len(fresh["intervals"])]


def test_recentring_scores_are_reader_plus_weighted_locator_logs(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    prep = synth_preps[1]
    locator, reader = fitted._locator(), fitted._reader()
    table = locator.table(prep.hog)
    cuts = located_cuts(fitted, [prep])[0]
    proba = reader.proba(reader.features(prep, cuts))
    located = table[locator.rows(table, cuts)]
    joint = np.log(np.maximum(proba, 1e-6)) + 0.5 * np.log(np.maximum(located, 1e-6))
    free = reader.recentring_scorer(prep, locator, table, 0.5)(prep.mask, cuts)
    np.testing.assert_allclose(free, joint.max(axis=1)[:, None].repeat(4, axis=1), atol=1e-5)
    targets = np.array([3, 0, 1, 2])
    forced = reader.recentring_scorer(prep, locator, table, 0.5, targets)(prep.mask, cuts)
    np.testing.assert_allclose(forced, joint[:, targets], atol=1e-5)
