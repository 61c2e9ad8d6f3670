"""Label audit: cross-validated reads and the labels they dispute."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.audit import cross_read, disagreements
from cvcaptcha.cli import main
from cvcaptcha.errors import DatasetError

from .conftest import FAST

#: How many captchas get a wrong label
WRONG = 3


@pytest.fixture(scope="module")
def noisy_dir(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The synthetic set with three captchas given another captcha's label
    turned round (a wrong label no other captcha has)."""
    out = tmp_path_factory.mktemp("noisy") / "train"
    out.mkdir()
    files = sorted(synth_dir.glob("*.png"))
    taken = {f.stem for f in files}
    wrong = {}
    for f in files:
        name = f.stem
        if len(wrong) < WRONG and name[::-1] not in taken and name[::-1] != name:
            wrong[name[::-1]] = name
            taken.add(name[::-1])
            name = name[::-1]
        shutil.copy(f, out / f"{name}.png")
    return out, wrong


def test_wrong_labels_are_disputed_and_read_as_drawn(noisy_dir: tuple[Path, dict]) -> None:
    folder, wrong = noisy_dir
    data = load_dataset(folder)
    reads = cross_read(CaptchaRecognizer(**FAST), data.images, data.labels, folds=2)
    assert len(reads) == len(data.labels) and all(r is not None for r in reads)
    found = disagreements(data.labels, reads)
    disputed = {d.label: d for d in found}
    assert set(wrong) <= set(disputed)  # every wrong label is disputed
    # the reads are of what is drawn: nearer the true label than the wrong one
    def same(a: str, b: str) -> int:
        return sum(x == y for x, y in zip(a, b))

    assert sum(same(disputed[w].read, truth) for w, truth in wrong.items()) > sum(
        same(disputed[w].read, w) for w in wrong
    ) + WRONG
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)
    right = sum(r.text == label for r, label in zip(reads, data.labels))
    assert right + len(found) == len(data.labels)


def test_too_few_captchas_for_the_folds() -> None:
    with pytest.raises(DatasetError, match="folds"):
        cross_read(CaptchaRecognizer(), [None] * 3, ["ab", "cd", "ef"], folds=2)


def test_cli_audit_lists_and_writes_csv_without_overwriting(
    noisy_dir: tuple[Path, dict], config: Path, tmp_path: Path, capsys
) -> None:
    folder, wrong = noisy_dir
    csv_path = tmp_path / "suspects.csv"
    args = ["audit", str(folder), "--config", str(config), "-o", str(csv_path), "--top", "1000"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "labels differ from a read" in out
    assert all(f"{w}.png" in out for w in wrong)
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("file,label,read,confidence")
    assert {r.split(",")[1] for r in rows[1:]} >= set(wrong)
    before = csv_path.read_text()
    assert main(args) == 1  # exists: refused, nothing trained or written
    assert "exists" in capsys.readouterr().err and csv_path.read_text() == before
    assert main(["audit", str(folder), "--folds", "1"]) == 1
    assert "folds" in capsys.readouterr().err
