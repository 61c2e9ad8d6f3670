"""The length prior and choice of families of several label lengths."""

from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha.errors import ConfigError, LabelError
from cvcaptcha.length import (
    MAX_CANDIDATES,
    LengthPrior,
    allowed_lengths,
    choose_length,
    count_agreement,
    count_log_likelihood,
    length_features,
    parse_lengths,
    read_best_lengths,
)
from cvcaptcha.prepare import Prepared


@pytest.mark.parametrize("value", ["four", "6-x", "0-3", [], 0])
def test_parse_lengths_refuses_nonsense(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_lengths(value)


def test_parse_lengths_reads_ranges_lists_and_single_lengths() -> None:
    assert parse_lengths("4-6,8") == (4, 5, 6, 8)
    assert parse_lengths(" 5 ") == (5,)
    assert parse_lengths((6, 4)) == (4, 6)


def test_allowed_lengths_fill_the_range_and_refuse_labels_outside() -> None:
    assert allowed_lengths(["abcd", "abcdef"]) == (4, 5, 6)
    assert allowed_lengths(["abcd"]) == (4,)
    assert allowed_lengths(["abcd"], "3-5") == (3, 4, 5)
    with pytest.raises(LabelError, match="length 6"):
        allowed_lengths(["abcd", "abcdef"], "4-5")


def _blobs(n: int, gap: int = 12, width: int = 8, height: int = 20) -> Prepared:
    mask = np.zeros((height, 10 + n * (width + gap)), np.uint8)
    for i in range(n):
        x = 5 + i * (width + gap)
        mask[4:16, x:x + width] = 1
    return Prepared(mask, 1.0, mask.astype(np.float32), np.zeros((1, 1), np.float32))


def test_length_features_count_separate_glyphs() -> None:
    three, five = length_features(_blobs(3), 20.0), length_features(_blobs(5), 20.0)
    assert three[3] == 3 and five[3] == 5  # runs of inked columns
    assert three[4] == 3 and five[4] == 5  # connected components
    assert five[0] > three[0]  # a longer text extent in pitches
    table = np.zeros((40, 6), np.float32)
    table[[5, 10, 15, 20], 0] = 0.9  # four confident window positions
    with_table = length_features(_blobs(3), 20.0, table, cell=4)
    assert len(with_table) == len(three) + 2 and with_table[-1] == 4


def _features(lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extent in pitches and a noisy count, as length_features measures them."""
    return np.stack([lengths + rng.normal(0, 0.3, len(lengths)),
                     lengths + rng.normal(0, 0.8, len(lengths))], axis=1)


def test_length_prior_predicts_lengths_and_gives_unseen_ones_a_chance() -> None:
    rng = np.random.default_rng(0)
    y = rng.choice([4, 6], 300)  # length 5 allowed but never seen in training
    prior = LengthPrior.fit(_features(y, rng), y, (4, 5, 6))
    test = np.array([4, 5, 6] * 50)
    logs = prior.log_prior(_features(test, rng))
    np.testing.assert_allclose(np.exp(logs).sum(axis=1), 1.0)
    guessed = np.array(prior.lengths)[logs.argmax(axis=1)]
    assert np.mean(guessed == test) > 0.8
    assert np.mean(guessed[test == 5] == 5) > 0.5
    wanted = prior.candidates(logs)
    assert all(1 <= len(w) <= MAX_CANDIDATES and w[0] == g for w, g in zip(wanted, guessed))


def test_choose_length_keeps_the_best_read_and_says_how_sure() -> None:
    n, share = choose_length({4: -0.1, 5: -8.0, 6: -9.0})
    assert n == 4 and share > 0.99
    n, share = choose_length({4: -1.0, 5: -1.0})
    assert share == pytest.approx(0.5)
    assert choose_length({7: -3.0}) == (7, 1.0)


def test_read_best_lengths_reads_each_candidate_once_per_batch_and_keeps_the_best() -> None:
    prior = LengthPrior(np.zeros(1), np.ones(1), np.ones(1), 0.0, 0.5, (3, 4, 5))
    logs = prior.log_prior(np.array([[3.0], [4.6], [5.0]]))  # predicted lengths 3, 4.6, 5
    calls = []

    def read_at(idx: list[int], n: int) -> list[tuple[int, int]]:
        calls.append((idx, n))
        return [(i, n) for i in idx]

    truth = {0: 3, 1: 5, 2: 5}  # the second captcha reads best at 5, against its prior
    best = read_best_lengths(prior, logs, read_at, lambda r: 0.0 if r[1] == truth[r[0]] else -9)
    assert [read for read, _ in best] == [(0, 3), (1, 5), (2, 5)]
    assert sorted(n for _, n in calls) == sorted({n for _, n in calls})  # one call a length
    assert all(0.5 < share <= 1 for _, share in best)


def test_count_agreement_is_the_smoothed_share_of_counts_equal_to_the_length() -> None:
    assert count_agreement([None, None], [4, 5]) is None  # a segmenter that counts nothing
    assert count_agreement([4, 5, 6, 6], [4, 5, 6, 7]) == round(4 / 6, 4)
    assert count_agreement([9] * 8, [4] * 8) == 0.1  # never right: a weak witness


def test_count_log_likelihood_favours_the_counted_length_as_much_as_training_showed() -> None:
    lengths = (4, 5, 6)
    strong = np.exp(count_log_likelihood([5, 9, None], lengths, 0.9))
    assert strong[0].tolist() == pytest.approx([0.05, 0.9, 0.05])
    assert strong[1].tolist() == pytest.approx([0.05] * 3)  # a count no length has: no help
    assert strong[2].tolist() == [1.0, 1.0, 1.0]  # nothing counted
    weak = np.exp(count_log_likelihood([5], lengths, 0.4))
    assert weak[0, 1] / weak[0, 0] < strong[0, 1] / strong[0, 0]
    assert not count_log_likelihood([5], lengths, None).any()
    assert not count_log_likelihood([5], (5,), 0.9).any()  # one length: nothing to weigh
