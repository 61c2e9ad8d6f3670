"""benchmarks/families.py on two tiny generated families with a cheap recipe."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from cvcaptcha.synth import generate

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def families():
    return load_benchmark("families")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("families")
    generate(root / "plain", 60, seed=1, style="plain", alphabet="ABCD2345")
    generate(root / "pale", 60, seed=1, style="pale", alphabet="ABCDEFGH")
    return [root / "plain", root / "pale"]


def test_rows_per_family_and_seed(families, folders, config, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ddddocr", None)  # as if not installed
    out = tmp_path / "families.json"
    argv = [*map(str, folders), "--seeds", "0", "1", "--train", "40", "--test", "20",
            "--config", str(config), "--output", str(out)]
    assert families.main(argv) == 0
    rows = json.loads(out.read_text())
    assert [(r["family"], r["seed"]) for r in rows] == [
        ("plain", 0), ("plain", 1), ("plain", "mean"), ("pale", 0), ("pale", 1), ("pale", "mean")
    ]
    for row in rows:
        assert set(row) == {*families.COLUMNS, "by_length"}
        assert len(row["by_length"]) == 1 and row["wrong_length"] == 0.0
        assert row["n_train"] == 40 and row["n_test"] == 20
        assert 0.0 <= row["captcha_acc"] <= row["char_acc"] <= 1.0
        assert row["fit_s"] > 0 and row["ms_per_captcha"] > 0 and row["model_kib"] > 1
        assert row["ddddocr_acc"] is None and row["ddddocr_folded_acc"] is None
    assert rows[2]["char_acc"] == pytest.approx((rows[0]["char_acc"] + rows[1]["char_acc"]) / 2)
    printed = capsys.readouterr().out
    assert "ddddocr is not installed" in printed and "model_kib" in printed
    assert "by label length" not in printed  # families of one length


def test_a_family_of_several_lengths_gets_accuracy_by_length(
    families, mixed_dir, config, tmp_path, capsys
):
    out = tmp_path / "mixed.json"
    assert families.main([str(mixed_dir), "--train", "80", "--test", "40", "--config",
                          str(config), "--output", str(out)]) == 0
    row = json.loads(out.read_text())[0]
    assert sorted(row["by_length"]) == ["3", "4", "5"]
    assert sum(r["n"] for r in row["by_length"].values()) == 40
    assert "captcha accuracy by label length" in capsys.readouterr().out


def test_ddddocr_column_when_installed(families, folders, config, tmp_path, monkeypatch):
    answers = {p.read_bytes(): p.stem.lower() for p in folders[0].iterdir()}
    fixes = []

    class FakeOcr:  # reads every captcha right, but in lower case
        def __init__(self, show_ad: bool = True) -> None:
            pass

        def classification(self, data: bytes, png_fix: bool = False) -> str:
            fixes.append(png_fix)
            return answers[data]

    monkeypatch.setitem(sys.modules, "ddddocr", types.SimpleNamespace(DdddOcr=FakeOcr))
    out = tmp_path / "f.json"
    argv = [str(folders[0]), "--train", "40", "--test", "20", "--config", str(config),
            "--output", str(out)]
    assert families.main(argv) == 0
    (row,) = json.loads(out.read_text())
    assert row["ddddocr_folded_acc"] == 1.0 and row["ddddocr_acc"] < 0.5
    assert fixes == [True] * 20  # PNG files: transparent ones put on white


def test_too_few_captchas(families, folders, config, tmp_path, capsys):
    argv = [str(folders[0]), "--train", "50", "--test", "20", "--config", str(config),
            "--output", str(tmp_path / "x.json")]
    assert families.main(argv) == 1
    assert "fewer than 50 to train plus 20 to test" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_corrections_replace_the_named_labels_only(families, tmp_path):
    from cvcaptcha.io import load_dataset

    folder = tmp_path / "set"
    generate(folder, 6, seed=2, style="plain", alphabet="ABCD2345")
    data = load_dataset(folder)
    wrong, other = data.paths[0].name, data.labels[1]
    path = tmp_path / "fix.csv"
    path.write_text(f"file,label,corrected\n{wrong},{data.labels[0]},ZZZZ\nmissing.png,x,y\n")
    assert families.correct(data, families.read_corrections(str(path))) == 1
    assert data.labels[0] == "ZZZZ" and data.labels[1] == other
