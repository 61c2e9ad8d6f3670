from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha.analysis import analyse, operating_points


def test_analyse_counts_confusions_and_positions() -> None:
    result = analyse(["ab", "ba", "aa"], ["ab", "bb", "ax"], "abx")
    assert result["chars"] == "abx"
    assert result["confusion"].tolist() == [[2, 1, 1], [0, 2, 0], [0, 0, 0]]
    np.testing.assert_allclose(result["confusion_norm"][0], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(result["position_accuracy"], [1, 1 / 3])
    assert result["captcha_accuracy"] == pytest.approx(1 / 3)
    assert result["char_accuracy"] == pytest.approx(4 / 6)


def test_analyse_keeps_true_characters_the_model_cannot_emit() -> None:
    result = analyse(["a<"], ["ab"], "ab")
    assert result["chars"] == "<ab"
    assert result["confusion"][0, 2] == 1


def test_operating_points_answer_whole_ties_and_pick_largest_coverage() -> None:
    result = operating_points([0.9, 0.9, 0.8, 0.7, 0.1], [True, False, True, True, False],
                              [0.7, 0.99])
    assert result["thresholds"].tolist() == [0.9, 0.8, 0.7, 0.1]
    assert result["coverage"].tolist() == [0.4, 0.6, 0.8, 1.0]
    loose, strict = result["points"]
    # 0.9 answers both tied captchas (precision 1/2); 0.7 reaches 3/4; 0.1 falls to 3/5
    assert (loose["threshold"], loose["answered"], loose["precision"]) == (0.7, 4, 0.75)
    assert strict["threshold"] is None and strict["answered"] == 0


def test_analyse_a_family_of_several_lengths() -> None:
    stats = analyse(["abc", "abcd", "ab"], ["abc", "abc", "abb"], "abcd")
    assert stats["captcha_correct"].tolist() == [True, False, False]
    assert stats["wrong_length"] == pytest.approx(2 / 3)
    assert stats["char_accuracy"] == pytest.approx(8 / 9)  # the missing "d" and nothing else
    assert stats["position_accuracy"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert stats["confusion"].sum() == 3  # only reads of the label's length are compared
    assert stats["by_length"][4] == {"n": 1, "captcha_accuracy": 0.0, "wrong_length": 1.0}
