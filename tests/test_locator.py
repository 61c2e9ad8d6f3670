"""The locator: score tables, scorers, the vote and its training windows."""

from __future__ import annotations

import numpy as np

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.locator import (
    LOCATOR_CONTEXT,
    fit_locator,
    misplaced_slices,
    softmax_logits,
)
from cvcaptcha.windows import window_starts


def test_softmax_logits_reads_one_column_as_binary_log_odds() -> None:
    np.testing.assert_allclose(softmax_logits(np.log([[3.0]])), [[0.25, 0.75]])
    np.testing.assert_allclose(softmax_logits(np.zeros((2, 4))).sum(axis=1), 1.0)


def test_misplaced_slices_overlap_no_character_well() -> None:
    cuts = np.array([[0, 20], [20, 40], [40, 60]])
    candidates = np.array([[x, x + 20] for x in range(0, 41, 2)])
    got = misplaced_slices(candidates, cuts, 100, 0.5, np.random.default_rng(0))
    inter = np.minimum(got[:, None, 1], cuts[None, :, 1]) - np.maximum(
        got[:, None, 0], cuts[None, :, 0]
    )
    assert len(got) and np.all(inter.max(axis=1) < 20 * 2 / 3)  # IoU < 0.5 with every character
    assert not {tuple(c) for c in cuts} & {tuple(g) for g in got}
    few = misplaced_slices(candidates, cuts, 2, 0.5, np.random.default_rng(0))
    assert len(few) == 2


def test_fit_locator_warm_starts_from_a_previous_model_of_the_same_width() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), np.repeat([0, 1, 2], 20)
    first = fit_locator(X, y, max_iter=5)
    again = fit_locator(X, y, max_iter=50, previous=first)
    assert again is first and again.max_iter == 50  # the same model, trained on
    wider = fit_locator(rng.normal(size=(60, 7)), y, previous=first)
    assert wider is not first and wider.coef_.shape == (3, 7)  # new width: a new model


def test_table_rows_and_scorers_read_the_locator(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    locator = fitted._locator()
    prep = synth_preps[0]
    table = locator.table(prep.hog)
    assert table.shape[1] == len(fitted.alphabet_)
    assert np.all(table.sum(axis=1) <= 1 + 1e-6)  # the reject class is left out
    cuts = fitted.segmenter_.cut(prep.mask, fitted.n_chars_, locator.scorer(table, 4))
    rows = locator.rows(table, cuts)
    expected = window_starts(
        cuts, fitted.segmenter_.char_width_, LOCATOR_CONTEXT, 4, 2, len(table) - 1
    )
    np.testing.assert_array_equal(rows, expected)
    free = locator.scorer(table, 4)(prep.mask, cuts)
    np.testing.assert_allclose(free, np.log(np.maximum(table[rows].max(axis=1), 1e-6))[:, None]
                               .repeat(4, axis=1), rtol=1e-6)
    targets = np.array([0, 1, 2, 3])
    forced = locator.scorer(table, 4, targets)(prep.mask, cuts)
    np.testing.assert_allclose(forced, np.log(np.clip(table[rows][:, targets], 1e-6, 1)))


def test_vote_multiplies_the_reader_by_the_located_class_probabilities(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    locator, reader = fitted._locator(), fitted._reader()
    changed = 0
    for prep in synth_preps[:10]:
        table = locator.table(prep.hog)
        cuts = fitted.segmenter_.cut(prep.mask, fitted.n_chars_, locator.scorer(table, 4))
        alone = reader.centred([prep], [cuts])[0]
        rows = locator.rows(table, cuts)
        located = table[rows] / table[rows].sum(axis=1, keepdims=True)
        expected = alone * located ** fitted.locator_weight
        proba = locator.vote(alone, table, cuts, fitted.locator_weight)
        np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
        np.testing.assert_allclose(locator.vote(alone, table, cuts, 0.0), alone, atol=1e-12)
        changed += not np.allclose(proba, alone)
    assert changed  # the locator's vote moves the probabilities
