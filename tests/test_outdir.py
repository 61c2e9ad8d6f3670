from __future__ import annotations

from pathlib import Path

import pytest

from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.outdir import prepare_out_dir


def test_prepare_out_dir_refuses_a_file_and_foreign_figures(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CvCaptchaError, match="not a folder"):
        prepare_out_dir(tmp_path / "file")
    (tmp_path / "out/figures").mkdir(parents=True)
    (tmp_path / "out/figures/mine.png").write_bytes(b"x")
    with pytest.raises(CvCaptchaError, match="--force"):
        prepare_out_dir(tmp_path / "out")
    assert prepare_out_dir(tmp_path / "out", force=True) == tmp_path / "out/figures"
