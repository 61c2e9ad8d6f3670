from __future__ import annotations

from pathlib import Path

from cvcaptcha.outdir import check_out_dir
from cvcaptcha.pages import render_page


def test_rendered_page_escapes_values_and_is_recognised_as_ours(tmp_path: Path) -> None:
    index = render_page(
        "learning_curve.html", tmp_path, title="<b>t</b>", data_dir="<i>&", n=3, skipped=[],
        images={"learning": "figures/curve.png"}, rows=[], n_test=1, repeats=1, recipe=[],
    )
    assert index == tmp_path / "index.html"
    source = index.read_text(encoding="utf-8")
    assert "<i>&" not in source and "&lt;i&gt;&amp;" in source
    assert "<b>" not in source
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left
    page = check_out_dir(tmp_path)
    assert page is not None and page.ours
    assert page.sources == ["figures/curve.png"]
