"""Grid validation: a bad key fails at once, naming it; the shipped grids stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvcaptcha.errors import ConfigError
from cvcaptcha.grid import configurations, load_grid, validate_grid

GRIDS = Path(__file__).resolve().parents[1] / "benchmarks" / "grids"


@pytest.mark.parametrize(
    ("grid", "named"),
    [
        ({"segmentr": ["equal"]}, "'segmentr'"),
        ({"segmenter": []}, "'segmenter': empty"),
        ({"segmenter": "equal"}, "'segmenter': expected a list"),
        ({"open_frac": ["wide"]}, "'open_frac'"),
        ({"height": [2.5]}, "'height'"),
        ({"augment": [True]}, "'augment'"),
        ({"segmenter": ["no-such"]}, "'segmenter': unknown name"),
        ({"features": ["hug"]}, "'features'"),
        ({"clean": ["scrub"]}, "'clean': unknown name"),
        ({"classifier": ["forest"]}, "'classifier'"),
        ({"classifier": ["logistic"], "classifier__gamma": [1.0]}, "'classifier__gamma'"),
        ({"classifier": ["logistic"], "classifier__C": ["big"]}, "'classifier__C'"),
        ({"classifier__svm__estimator__C": [-1.0]}, "'classifier__svm__estimator__C'"),
        ({"classifier": ["xgboost"], "classifier__max_depth": ["deep"]}, "'classifier__max_depth'"),
        ([{"segmenter": ["equal"]}, {"threshold": ["otsu", 3]}], "grid[1]: 'threshold'"),
        ({"memory": ["/tmp"]}, "'memory'"),
        ([], "non-empty list"),
    ],
)
def test_bad_grid_names_the_key(grid, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        validate_grid(grid)


def test_nested_keys_follow_the_classifier_of_their_dict():
    grid = [
        {"classifier": ["mlp"], "classifier__hidden_layer_sizes": [[16], [8, 8]]},
        {"classifier": ["xgboost"], "classifier__max_depth": [3]},
    ]
    assert validate_grid(grid) == grid
    with pytest.raises(ConfigError, match="hidden_layer_sizes"):
        validate_grid({"classifier": ["xgboost"], "classifier__hidden_layer_sizes": [[16]]})


def test_grid_files_validate_against_the_current_recognizer():
    """A renamed recognizer or classifier parameter must fail here, not in a user's search."""
    quick = configurations(load_grid(GRIDS / "quick.json"))
    full = configurations(load_grid(GRIDS / "full.json"))
    assert 2 <= len(quick) <= 8
    assert len(full) >= 500
    classifiers = {p.get("classifier", "svm") for p in full}
    assert {"svm", "xgboost", "mlp"} <= classifiers
