from __future__ import annotations

import json
from pathlib import Path

from cvcaptcha.cli import main
from cvcaptcha.synth import generate

from .conftest import FAST
from .pagecheck import Page, assert_images_exist, one_blas_thread  # noqa: F401 (autouse)


def test_learning_curve_with_mlp_loss(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    generate(data, 40, length=4, alphabet="abcdef23", seed=7)
    config = tmp_path / "fast.json"
    config.write_text(json.dumps(FAST))
    out = tmp_path / "out"
    code = main(["learning-curve", str(data), "-o", str(out), "--config", str(config),
                 "--classifier", "mlp", "--fractions", "0.5,1", "--test-size", "0.25"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "30 training captchas" in printed  # 40 - 10 held out, the largest fraction
    page = Page(out / "index.html")
    assert {"learning-curve", "loss-curve"} <= page.ids
    assert_images_exist(page, out)


def test_learning_curve_rejects_bad_fractions(synth_test_dir: Path, tmp_path: Path) -> None:
    assert main(["learning-curve", str(synth_test_dir), "-o", str(tmp_path),
                 "--fractions", "0,2"]) == 2
