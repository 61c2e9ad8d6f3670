"""Training sets: the labelled windows, their moved copies, variants, reject windows."""

from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.training import training_set


def cuts_of(fitted: CaptchaRecognizer, preps: list) -> list[np.ndarray]:
    return [c for c, _ in fitted._segment(preps)]


def test_each_character_gives_its_window_and_augment_moved_copies(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    preps = synth_preps[:5]
    cuts = cuts_of(fitted, preps)
    targets = np.arange(20).reshape(5, 4) % 8
    windows = fitted._windows()
    X, y = training_set(preps, cuts, targets, np.random.default_rng(0), windows)
    assert len(X) == 20 and y.tolist() == targets.ravel().tolist()
    np.testing.assert_array_equal(X[:4], windows(preps[0], cuts[0]))
    X3, y3 = training_set(preps, cuts, targets, np.random.default_rng(0), windows, 3, 4.0)
    assert len(X3) == 20 * 4
    assert y3[4:16].tolist() == np.repeat(targets[0], 3).tolist()  # copies follow the originals
    again = training_set(preps, cuts, targets, np.random.default_rng(0), windows, 3, 4.0)[0]
    np.testing.assert_array_equal(X3, again)  # the same seed, the same set
    still = training_set(preps, cuts, targets, np.random.default_rng(0), windows, 3, 0.4)[0]
    assert len(still) == 20  # a spread under half a pixel moves nothing: no copies


def test_misplaced_windows_join_as_the_reject_class(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    preps = synth_preps[:3]
    cuts = cuts_of(fitted, preps)
    targets = np.zeros((3, 4), int)

    def misplaced(prep, cut, rng):
        return cut[:2] + 3

    X, y = training_set(
        preps, cuts, targets, np.random.default_rng(0), fitted._windows(),
        misplaced=misplaced, reject_class=8,
    )
    assert len(X) == 3 * 6 and (y == 8).sum() == 6


@pytest.mark.parametrize("kind", ["strokes", "warps"])
def test_augmented_copies_are_cut_in_the_given_share_from_variants_of_the_captcha(
    fitted: CaptchaRecognizer, synth_preps: list, kind: str
) -> None:
    preps = synth_preps
    cuts = cuts_of(fitted, preps)
    targets = np.zeros((len(preps), fitted.n_chars_), int)
    windows = fitted._windows()
    spread = fitted.jitter * fitted.segmenter_.char_width_

    def build(share: float) -> np.ndarray:
        rng = np.random.default_rng(0)
        return training_set(
            preps, cuts, targets, rng, windows, 4, spread, front_params=fitted.front_params(),
            **{kind: share},
        )[0]

    # every window the captchas' own ink can give, at any position
    every = np.arange(preps[0].ink.shape[1] + 1)
    own = {r.tobytes() for p in preps for r in windows(p, np.stack([every, every], axis=1))}

    def from_variants(X: np.ndarray) -> float:
        return float(np.mean([r.tobytes() not in own for r in X]))

    plain, mixed = build(0.0), build(0.5)
    assert plain.shape == mixed.shape  # as many copies, some cut from variants
    assert from_variants(plain) == 0.0
    assert from_variants(mixed) == pytest.approx(0.5 * 4 / 5, abs=0.1)  # half the moved copies
