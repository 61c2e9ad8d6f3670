"""The many-fit verbs: their up-front notice, compare-segmenters' reader and --max-images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cvcaptcha.cli_study as cli_study
import cvcaptcha.compare as compare
from cvcaptcha.cli import build_parser, main

from .conftest import FAST


@pytest.fixture
def small(synth_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    for path in sorted(synth_dir.iterdir())[:24]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.fixture
def always_announce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe and announce even the tiny runs of these tests."""
    monkeypatch.setattr(cli_study, "PROBE_ABOVE", 0)
    monkeypatch.setattr(cli_study, "NOTICE_AFTER", 0.0)


def test_compare_reads_with_logistic_unless_told() -> None:
    parser = build_parser()
    assert parser.parse_args(["compare-segmenters", "d", "-o", "o"]).classifier == "logistic"
    args = parser.parse_args(["compare-segmenters", "d", "-o", "o", "--classifier", "tinymlp"])
    assert args.classifier == "tinymlp"


def test_compare_max_images_takes_a_seeded_sample(
    synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen: list[list[str]] = []
    real = compare.compare_segmenters

    def recording(images, labels, **kwargs):
        seen.append(list(labels))
        return real(images, labels, strategies=["equal", "projection"], **kwargs)

    monkeypatch.setattr(compare, "compare_segmenters", recording)
    argv = ["compare-segmenters", str(synth_dir), "-o", str(tmp_path / "c"), "--cv", "2",
            "--max-images", "20"]
    assert main(argv) == 0 and main(argv) == 0
    assert len(seen[0]) == 20 and seen[0] == seen[1]
    assert set(seen[0]) <= {p.stem for p in synth_dir.iterdir()}
    assert "| projection |" in capsys.readouterr().out
    assert main([*argv[:-1], "0"]) == 2


def test_short_runs_are_not_announced(small: Path, tmp_path: Path, capsys) -> None:
    argv = ["compare-segmenters", str(small), "-o", str(tmp_path / "c"), "--cv", "2"]
    assert main(argv) == 0
    assert "fits" not in capsys.readouterr().err


def test_compare_announces_fits_and_time_before_the_work(
    small: Path, tmp_path: Path, always_announce: None, capsys
) -> None:
    argv = ["compare-segmenters", str(small), "-o", str(tmp_path / "c"), "--cv", "3"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.replace("\r", "\n").splitlines() if "fits" in x)
    assert line.startswith("cvcaptcha: compare-segmenters: 18 fits (6 strategies x 3 folds) "
                           "on 16 captchas each, about ")
    assert "on this machine; --cv 2 or --max-images N is quicker" in line
    assert err.index(line) < err.index("compare:")  # before the progress bar starts


def test_learning_curve_and_search_announce_their_fits(
    small: Path, tmp_path: Path, always_announce: None, capsys
) -> None:
    config = tmp_path / "fast.json"
    config.write_text(json.dumps(FAST))
    assert main(["learning-curve", str(small), "-o", str(tmp_path / "lc"), "--config",
                 str(config), "--fractions", "0.5,1", "--test-size", "0.25"]) == 0
    err = capsys.readouterr().err
    assert "cvcaptcha: learning-curve: 2 fits on 9 to 18 captchas, about " in err
    assert "fewer --fractions" in err and "--classifier logistic" not in err
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"segmenter": ["equal", "projection"], "augment": [0],
                                "classifier": ["logistic"]}))
    argv = ["search", str(small), "--grid", str(grid), "-o", str(tmp_path / "s"), "--cv", "2"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert ("cvcaptcha: search: 4 fits (2 configurations x 2 folds) on 12 captchas each, "
            "1 at a time, about ") in err
    assert main(argv) == 0  # resumed with nothing left to run: nothing to announce
    assert "fits" not in capsys.readouterr().err
