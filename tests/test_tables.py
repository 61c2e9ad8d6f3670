"""Plain-text result tables."""

from __future__ import annotations

from cvcaptcha.tables import format_table


def test_columns_are_right_aligned_floats_rounded_and_missing_values_dashed() -> None:
    rows = [{"name": "a", "acc": 0.98765, "n": 12}, {"name": "mean", "acc": None, "n": 3}]
    lines = format_table(rows, ["name", "acc", "n"]).splitlines()
    assert lines == [
        "name     acc   n",
        "   a  0.9877  12",
        "mean       -   3",
    ]
    assert format_table(rows, ["n"]).splitlines() == [" n", "12", " 3"]
