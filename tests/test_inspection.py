from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cvcaptcha.cli import main
from cvcaptcha.inspection import describe_dataset
from cvcaptcha.io import Dataset

from .pagecheck import Page, assert_images_exist, make_hostile_dir


@pytest.fixture(scope="module")
def hostile_dir(synth_test_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hostile_dir(synth_test_dir, tmp_path_factory.mktemp("hostile"))


def test_inspect_clean_folder(synth_test_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["inspect", str(synth_test_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no problems found" in printed and "23abcdef" in printed
    page = Page(out / "index.html")
    assert {"overview", "check"} <= page.ids
    assert_images_exist(page, out)


def test_inspect_reports_problems_without_failing(hostile_dir: Path, capsys) -> None:
    assert main(["inspect", str(hostile_dir)]) == 1
    captured = capsys.readouterr()
    assert "problem: unreadable file <broken>.png" in captured.out
    assert "note: labels of 2 lengths" in captured.out  # information, not a problem
    assert "typos, or a length to read with --lengths?" in captured.out
    assert "toolong.png" in captured.out
    assert "note: 1 entry(ies) without an image extension ignored: notes.txt" in captured.out
    assert "Traceback" not in captured.err


def test_inspect_missing_folder_is_one_line_error(tmp_path: Path, capsys) -> None:
    assert main(["inspect", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cvcaptcha: error:") and err.count("\n") == 1


def test_describe_dataset_notes_the_length_mix_and_flags_rare_characters() -> None:
    img = np.full((30, 90), 255, np.uint8)
    labels = ["abc"] * 6 + ["abcd"]
    paths = [Path(f"{i}.png") for i in range(7)]
    info = describe_dataset(Dataset([img] * 7, labels, paths))
    assert info["lengths"] == [(3, 6), (4, 1)]
    assert info["by_position"][:, info["alphabet"].index("a")].tolist() == [7, 0, 0, 0]
    assert info["problems"] == []
    assert "labels of 2 lengths: 3 (6), 4 (1)" in info["notes"][0]
    assert any(n.endswith("learn): d") for n in info["notes"])  # seen once: too rare
