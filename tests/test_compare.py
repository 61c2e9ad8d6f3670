"""compare_segmenters and its written results."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from cvcaptcha import load_dataset
from cvcaptcha.cli import main
from cvcaptcha.compare import COLUMNS, compare_segmenters, write_comparison
from cvcaptcha.errors import ConfigError, DatasetError

FAST = {"classifier": "mlp", "align_rounds": 1, "augment": 0}


def test_compare_writes_csv_markdown_and_figure(synth_dir: Path, tmp_path: Path) -> None:
    data = load_dataset(synth_dir)
    result = compare_segmenters(
        data.images[:40], data.labels[:40], cv=2, strategies=["equal", "dp", "lattice"], **FAST
    )
    assert [r["strategy"] for r in result.rows] == ["equal", "dp", "lattice"]
    for row in result.rows:
        assert set(COLUMNS) <= set(row)
        assert list(row["exact_count_by_length"]) == [4]
        assert 0.0 <= row["captcha_accuracy"] <= row["char_accuracy"] <= 1.0
        assert row["ms_per_captcha"] > 0
    assert math.isnan(result.rows[0]["exact_count_rate"])  # imposed by construction
    assert result.rows[2]["exact_count_rate"] > 0.5  # a lattice path was found
    paths = write_comparison(result, tmp_path / "out", n_samples=4)
    assert [p.name for p in paths] == ["results.csv", "results.md", "cuts.png"]
    with paths[0].open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 3
    assert "| strategy |" in paths[1].read_text()
    assert paths[2].stat().st_size > 1000


def test_compare_works_on_a_family_of_several_lengths(mixed_dir: Path, tmp_path: Path) -> None:
    data = load_dataset(mixed_dir)
    result = compare_segmenters(
        data.images[:60], data.labels[:60], cv=2, strategies=["equal", "components"], **FAST
    )
    for row in result.rows:
        assert list(row["exact_count_by_length"]) == [3, 4, 5]
        assert all(0 <= v <= 1 for v in row["captcha_accuracy_by_length"].values())
    assert all(0 <= v <= 1 for v in result.rows[1]["exact_count_by_length"].values())
    md = write_comparison(result, tmp_path / "out", n_samples=2)[1].read_text()
    assert "By label length" in md and "| 3: exact / accuracy |" in md


def test_compare_refuses_bad_arguments(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    with pytest.raises(ConfigError):
        compare_segmenters(data.images, data.labels, strategies=["nope"])
    with pytest.raises(ConfigError):
        compare_segmenters(data.images, data.labels, cv=1)
    with pytest.raises(DatasetError):
        compare_segmenters(data.images[:2], data.labels[:2], cv=3)


def test_cli_compare_segmenters_prints_table(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(synth_dir.iterdir())[:24]:
        (small / path.name).write_bytes(path.read_bytes())
    code = main(
        ["compare-segmenters", str(small), "-o", str(tmp_path / "cmp"), "--cv", "2",
         "--classifier", "logistic"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| lattice |" in out and (tmp_path / "cmp" / "results.md").is_file()
    assert main(["compare-segmenters", str(tmp_path / "missing"), "-o", str(tmp_path)]) == 1
