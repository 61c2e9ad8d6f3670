"""The automatic strategy choice, with stand-in trials."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cvcaptcha.auto import (
    AUTO_CLEANERS,
    AUTO_FEATURES,
    AUTO_SEGMENTERS,
    auto_scores,
    best,
    choose_recipe,
    trial_split,
)


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
    assert {n: (s["captcha"], s["char"]) for n, s in scores.items()} == {
        "window": (1.0, 1.0), "components": (0.5, 0.5)}
    assert best(scores) == "window"
    assert calls == [("window", 30, 10), ("components", 30, 10)]
    small = auto_scores(labels[:3], trial, 0)
    assert list(small) == ["window"] and math.isnan(small["window"]["captcha"])
    assert best(small) == "window"
    calls.clear()
    again = auto_scores(labels, trial, 0, known={"window": scores["window"]})
    assert calls == [("components", 30, 10)]  # a candidate already tried is not tried again
    assert again["window"] is scores["window"] and list(again) == list(AUTO_SEGMENTERS)


def test_best_keeps_the_first_unless_another_reads_clearly_more_characters() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.5, 150)

    def scored(per: np.ndarray) -> dict:
        return {"captcha": float(np.mean(per == 1)), "char": float(per.mean()), "per_captcha": per}

    # one captcha of 150 read whole by the second, a fifth fewer characters: the first stays
    assert best({"window": scored(base), "components": scored(np.r_[1.0, base[1:] * 0.8])}) \
        == "window"
    # a little more, within the noise of 150 captchas: the first stays
    noisy = np.clip(base + rng.normal(0.01, 0.2, 150), 0, 1)
    assert best({"window": scored(base), "components": scored(noisy)}) == "window"
    # clearly more: the second wins
    better = np.clip(base + 0.3, 0, 1)
    assert best({"window": scored(base), "components": scored(better)}) == "components"


def _stand_in(labels: list[str], reads: Callable[[dict, int], bool], calls: list[dict]):
    """``make_trial`` whose trials log their recipe in ``calls`` and read the ``k``-th
    held-out captcha right where ``reads(recipe, k)``."""

    def make_trial(param: str, **fixed: str):
        def trial(value: str, train: np.ndarray, val: np.ndarray) -> list[str]:
            recipe = {**fixed, param: value}
            calls.append(recipe)
            return [labels[i] if reads(recipe, k) else "x" for k, i in enumerate(val)]
        return trial

    return make_trial


def test_choose_recipe_picks_the_input_with_the_chosen_segmenter_reusing_its_trial() -> None:
    labels = [f"{i:04d}" for i in range(40)]
    calls: list[dict] = []

    def reads(recipe: dict, k: int) -> bool:
        # components reads every captcha; with it, inkhog too, ink half of them
        half = recipe["segmenter"] == "components"
        return (half and recipe["features"] == "inkhog") or (half and k % 2 == 1)

    make_trial = _stand_in(labels, reads, calls)
    segmenter, features, clean, summary = choose_recipe(labels, make_trial, 0, "auto", "auto")
    assert (segmenter, features, clean) == ("components", "inkhog", "none")
    assert calls == [  # ink with each segmenter, then inkhog and (after components) glyph
        {"features": "ink", "segmenter": "window"},
        {"features": "ink", "segmenter": "components"},
        {"segmenter": "components", "features": "inkhog"},
        {"segmenter": "components", "features": "glyph"},
    ]
    assert list(summary["auto_features_char_accuracy"]) == [*AUTO_FEATURES, "glyph"]
    assert summary["auto_features_char_accuracy"]["inkhog"] == 1.0
    calls.clear()
    assert choose_recipe(labels, make_trial, 0, "window", "auto")[1] == "ink"
    assert [c["features"] for c in calls] == ["ink", "inkhog"]  # no glyph crops after window
    calls.clear()
    assert choose_recipe(labels, make_trial, 0, "window", "ink")[:3] == ("window", "ink", "none")
    assert calls == []  # nothing to choose, nothing tried


def test_choose_recipe_tries_the_cleaners_last_reusing_the_uncleaned_trial() -> None:
    labels = [f"{i:04d}" for i in range(40)]
    calls: list[dict] = []
    # only the thin-stroke cleaner reads well; the others a third of the captchas
    make_trial = _stand_in(labels, lambda r, k: r.get("clean") == "thin" or k % 3 == 0, calls)

    segmenter, features, clean, summary = choose_recipe(
        labels, make_trial, 0, "window", "ink", "auto"
    )
    assert (segmenter, features, clean) == ("window", "ink", "thin")
    assert calls == [  # "none" is the recipe as chosen, tried once
        {"segmenter": "window", "features": "ink", "clean": name} for name in AUTO_CLEANERS
    ]
    assert AUTO_CLEANERS[:5] == ("none", "thin", "lines", "join", "thick")
    assert list(summary["auto_clean_char_accuracy"]) == list(AUTO_CLEANERS)
    calls.clear()
    *_, summary = choose_recipe(labels, make_trial, 0, "auto", "ink", "auto",
                                applies=lambda name: name != "lines")
    others = [name for name in AUTO_CLEANERS[1:] if name != "lines"]
    assert [c.get("clean") for c in calls] == [None, None, *others]
    assert list(summary["auto_clean_char_accuracy"]) == ["none", *others]


def test_after_a_blob_segmenter_the_lead_cleaner_stays_unless_another_reads_clearly_more() -> None:
    labels = [f"{i:04d}" for i in range(40)]
    calls: list[dict] = []
    # every cleaner reads a third of the captchas: none beats the lead
    make_trial = _stand_in(labels, lambda r, k: k % 3 == 0, calls)
    found = choose_recipe(labels, make_trial, 0, "components", "ink", "auto", clean_lead="thin")
    assert found[2] == "thin"
    assert [c["clean"] for c in calls] == ["thin", *(n for n in AUTO_CLEANERS if n != "thin")]
    assert list(found[3]["auto_clean_char_accuracy"])[0] == "thin"
    calls.clear()  # after a segmenter that cuts no blobs the lead is none, as without counts
    found = choose_recipe(labels, make_trial, 0, "window", "ink", "auto", clean_lead="thin")
    assert found[2] == "none" and calls[0]["clean"] == "none"
    calls.clear()  # a lead the family gives no work is no lead
    found = choose_recipe(labels, make_trial, 0, "components", "ink", "auto", clean_lead="thin",
                          applies=lambda name: name != "thin")
    assert found[2] == "none"
    assert [c["clean"] for c in calls] == [n for n in AUTO_CLEANERS if n != "thin"]
    calls.clear()  # a lead that reads clearly worse than none is replaced
    make_trial = _stand_in(labels, lambda r, k: r["clean"] != "thin" or k % 3 == 0, calls)
    found = choose_recipe(labels, make_trial, 0, "components", "ink", "auto", clean_lead="thin")
    assert found[2] == "none"
