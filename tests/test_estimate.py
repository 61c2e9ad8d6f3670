"""Up-front estimates of fit time: the probe, the extrapolation, the wording."""

from __future__ import annotations

from pathlib import Path

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.estimate import FitCost, format_duration, probe_fit

from .conftest import FAST


def test_probe_times_small_fits_and_leaves_the_recipe_unfitted(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    recipe = CaptchaRecognizer(**FAST)
    cost = probe_fit(recipe, data.images, data.labels, size=24)
    assert cost.fixed >= 0 and cost.per_captcha >= 0
    assert 0 < cost.seconds([24]) < 60
    assert not hasattr(recipe, "classifier_")


def test_cost_is_fixed_plus_linear_per_fit() -> None:
    cost = FitCost(fixed=2.0, per_captcha=0.5)
    assert cost.seconds([10, 20]) == 2 * 2.0 + 0.5 * 30
    assert cost.seconds([]) == 0


def test_durations_read_as_estimates() -> None:
    assert format_duration(3) == "about 5 s"
    assert format_duration(42) == "about 40 s"
    assert format_duration(25 * 60) == "about 25 min"
    assert format_duration(3 * 3600) == "about 3.0 h"
