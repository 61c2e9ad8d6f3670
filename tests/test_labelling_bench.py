"""benchmarks/labelling.py on a tiny generated set with the cheap recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvcaptcha.synth import generate

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def labelling():
    return load_benchmark("labelling")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labelling") / "synth"
    generate(out, 60, length=4, alphabet="abcdef23", seed=3)
    return out


def test_curve_from_no_labels(labelling, folder, config, tmp_path, capsys):
    out = tmp_path / "labelling.json"
    argv = [str(folder), "--count", "40", "--retrain-every", "20", "--seed", "0",
            "--config", str(config), "--output", str(out)]
    assert labelling.main(argv) == 0
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [r["answers"] for r in rows] == [20, 40]
    assert result["n_test"] == 20 and result["typed"] == 40 * 5
    first, second = rows
    assert first["keystrokes"] == first["minimal"] == 20 * 5  # no model: every label typed
    assert first["block_accepted"] == 0.0 and first["round"] == 1
    assert first["test_acc"] is not None and 0.0 <= first["test_acc"] <= first["test_char_acc"]
    accepted = round(second["block_accepted"] * 20)
    assert second["keystrokes"] - first["keystrokes"] == accepted + (20 - accepted) * 5
    assert first["keystrokes"] + 20 <= second["minimal"] <= second["keystrokes"]
    assert result["ratio"] == second["keystrokes"] / 200
    assert result["meets_floor"] == (result["ratio"] <= 0.40)
    printed = capsys.readouterr().out
    assert "block_accepted" in printed and "typing every label 200" in printed


def test_keystroke_counts(labelling):
    assert labelling.keystrokes("ab12", "ab12") == (1, 1)
    assert labelling.keystrokes("xb1", "ab12") == (5, 3)
    assert labelling.keystrokes("", "ab12") == (5, 5)


def test_too_few_captchas(labelling, folder, tmp_path, capsys):
    argv = [str(folder), "--count", "60", "--output", str(tmp_path / "x.json")]
    assert labelling.main(argv) == 1
    assert "test set must hold at least one captcha" in capsys.readouterr().err
    argv = [str(folder), "--count", "50", "--test-size", "20", "--output", str(tmp_path / "x.json")]
    assert labelling.main(argv) == 1
    assert "fewer than 50 to label plus 20 to test" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
