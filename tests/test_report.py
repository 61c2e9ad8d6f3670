from __future__ import annotations

import copy
from pathlib import Path

import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset, save_model
from cvcaptcha.cli import main
from cvcaptcha.report import _model_facts
from cvcaptcha.synth import generate

from .conftest import FAST
from .pagecheck import (  # noqa: F401 (one_blas_thread is autouse)
    HOSTILE,
    Page,
    assert_images_exist,
    make_hostile_dir,
    one_blas_thread,
)

REPORT_SECTIONS = {"overview", "check", "headline", "confusion", "misread", "failures",
                   "confidence"}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cheap recognizer trained on 80 synthetic captchas, saved as a model file."""
    data = tmp_path_factory.mktemp("train")
    generate(data, 80, length=4, alphabet="abcdef23", seed=11)
    loaded = load_dataset(data)
    path = tmp_path_factory.mktemp("model") / "fast.model"
    save_model(CaptchaRecognizer(**FAST).fit(loaded.images, loaded.labels), path)
    return path


@pytest.fixture(scope="module")
def hostile_dir(synth_test_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hostile_dir(synth_test_dir, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def report(model_file: Path, hostile_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report") / "out"
    code = main(["report", str(model_file), str(hostile_dir), "-o", str(out), "--failures", "99"])
    return code, out


def test_report_has_every_section_and_its_images(report, capsys) -> None:
    code, out = report
    assert code == 0
    page = Page(out / "index.html")
    assert REPORT_SECTIONS <= page.ids
    assert_images_exist(page, out)
    names = {Path(src).name for src in page.images}
    assert {"samples.png", "characters.png", "positions.png", "confusion.png",
            "confidence.png"} <= names
    # labels with characters the model cannot emit always fail
    assert sum(n.startswith("failure_") for n in names) >= len(HOSTILE)
    assert sum(n.startswith("misread_") for n in names) >= 1


def test_report_escapes_labels_and_names(report) -> None:
    _, out = report
    source = (out / "index.html").read_text(encoding="utf-8")
    page = Page(out / "index.html")
    text = "".join(page.text) + "".join(page.alts)
    for label in HOSTILE:
        assert f"{label}.png" in text  # shown literally, after the parser unescapes it
    assert "<i>&" not in source and "<broken>" not in source
    assert "i" not in page.tags  # no tag smuggled in through a file name
    assert "unreadable file <broken>.png" in text
    assert "left out of the evaluation" in text


def test_report_replaces_its_own_page_and_refuses_foreign_ones(
    model_file: Path, synth_test_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    args = ["report", str(model_file), str(synth_test_dir), "-o", str(out)]
    assert main([*args, "--failures", "3"]) == 0
    assert "index.html" in capsys.readouterr().out
    assert (out / "figures/failure_002.png").is_file()
    assert main([*args, "--failures", "1"]) == 0  # our own page: replaced, stale figures gone
    assert not (out / "figures/failure_002.png").exists()
    assert_images_exist(Page(out / "index.html"), out)
    short = tmp_path / "short"
    generate(short, 4, length=3, alphabet="abcdef23", seed=1)
    assert main(["report", str(model_file), str(short), "-o", str(out)]) == 1
    assert "length" in capsys.readouterr().err
    assert_images_exist(Page(out / "index.html"), out)  # a failed run leaves the page whole

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "index.html").write_text("<html>mine</html>")
    assert main(["report", str(model_file), str(synth_test_dir), "-o", str(foreign)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (foreign / "index.html").read_text() == "<html>mine</html>"
    assert main(["report", str(model_file), str(synth_test_dir), "-o", str(foreign),
                 "--force"]) == 0


def test_model_facts_name_the_segmenter_and_the_auto_trials(fast_model, model_file: Path) -> None:
    facts = dict(_model_facts(fast_model, model_file))
    assert facts["segmenter"] == "equal" and "segmenter trials" not in facts
    auto = copy.deepcopy(fast_model).set_params(segmenter="auto")
    auto.fit_summary_ = {**fast_model.fit_summary_, "segmenter": "components",
                         "auto_captcha_accuracy": {"window": 0.2, "components": 0.3}}
    facts = dict(_model_facts(auto, model_file))
    assert facts["segmenter"] == "components (chosen by auto)"
    assert facts["segmenter trials"].startswith("components 30.0%, window 20.0%")
    auto.fit_summary_["auto_captcha_accuracy"] = {"window": float("nan")}  # too few to split
    assert dict(_model_facts(auto, model_file))["segmenter trials"].startswith(
        "window not measured"
    )
    assert facts["features"] == "ink" and "features trials" not in facts  # FAST names it
    auto.set_params(features="auto")
    auto.fit_summary_.update(features="inkhog", auto_features_captcha_accuracy={
        "ink": 0.2, "inkhog": 0.4}, auto_features_char_accuracy={"ink": 0.7, "inkhog": 0.8})
    facts = dict(_model_facts(auto, model_file))
    assert facts["features"] == "inkhog (chosen by auto)"
    assert facts["features trials"].startswith("inkhog 40.0% (char 80.0%), ink 20.0%")


def test_report_page_names_the_segmenter(report) -> None:
    _, out = report
    text = Page(out / "index.html").text
    assert text[text.index("segmenter") + 1] == "equal"  # the model table's row


def test_missing_extra_is_a_one_line_error(synth_test_dir: Path, monkeypatch, capsys) -> None:
    import sys

    import cvcaptcha

    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if not installed
    for name in ("report", "inspection", "learning_curve", "pages"):  # the modules needing it
        monkeypatch.delitem(sys.modules, f"cvcaptcha.{name}", raising=False)
    monkeypatch.delattr(cvcaptcha, "report", raising=False)
    assert main(["inspect", str(synth_test_dir)]) == 1
    err = capsys.readouterr().err
    assert "cvcaptcha[report]" in err and err.count("\n") == 1


def test_report_of_a_family_of_several_lengths_gives_accuracy_by_length(
    mixed_model, mixed_test_dir: Path, tmp_path: Path
) -> None:
    from cvcaptcha.report import write_report

    path = save_model(mixed_model, tmp_path / "mixed.cvc")
    index, summary = write_report(path, mixed_test_dir, tmp_path / "out")
    assert sorted(summary["by_length"]) == [3, 4, 5]
    assert summary["n"] == sum(r["n"] for r in summary["by_length"].values())
    page = Page(index)
    assert "lengths" in page.ids
    assert "3, 4, 5" in index.read_text()
