"""The automatic strategy choice, with stand-in trials."""

from __future__ import annotations

import math

import numpy as np

from cvcaptcha.auto import AUTO_SEGMENTERS, auto_scores, best, trial_split


def test_trial_split_holds_out_a_quarter_at_most_and_caps_both_parts() -> None:
    train, val = trial_split(40, 0)
    assert len(val) == 10 and len(train) == 30 and not set(train) & set(val)
    train, val = trial_split(1000, 0, sizes=(200, 150))
    assert len(val) == 150 and len(train) == 200
    again = trial_split(1000, 0, sizes=(200, 150))
    np.testing.assert_array_equal(train, again[0])  # seeded
    assert trial_split(3, 0) is None


def test_auto_scores_are_held_out_accuracies_of_each_candidate() -> None:
    labels = [f"{i:04d}" for i in range(40)]
    calls = []

    def trial(name: str, train: np.ndarray, val: np.ndarray) -> list[str]:
        calls.append((name, len(train), len(val)))
        # "window" reads every captcha, "components" the first half of those held out
        return [labels[i] if name == "window" or k < len(val) // 2 else "x"
                for k, i in enumerate(val)]

    scores = auto_scores(labels, trial, 0)
    assert list(scores) == list(AUTO_SEGMENTERS)
    assert scores == {"window": {"captcha": 1.0, "char": 1.0},
                      "components": {"captcha": 0.5, "char": 0.5}}
    assert best(scores) == "window"
    assert calls == [("window", 30, 10), ("components", 30, 10)]
    small = auto_scores(labels[:3], trial, 0)
    assert list(small) == ["window"] and math.isnan(small["window"]["captcha"])
    assert best(small) == "window"


def test_best_goes_by_characters_when_whole_captchas_are_too_few_to_tell() -> None:
    """Two strategies each reading one captcha of 150 whole: the characters decide."""
    scores = {"window": {"captcha": 0.0, "char": 0.377},
              "components": {"captcha": 0.007, "char": 0.201}}
    assert best(scores) == "window"
    tie = {"window": {"captcha": 0.5, "char": 0.9}, "components": {"captcha": 0.6, "char": 0.9}}
    assert best(tie) == "components"
