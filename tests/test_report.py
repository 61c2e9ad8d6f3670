from __future__ import annotations

import html.parser
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset, save_model
from cvcaptcha.cli import main
from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.io import Dataset
from cvcaptcha.report import analyse, describe_dataset, operating_points, prepare_out_dir
from cvcaptcha.synth import generate

from .conftest import FAST

REPORT_SECTIONS = {"overview", "check", "headline", "confusion", "misread", "failures",
                   "confidence"}
#: Labels a Linux file name can carry that would break naive HTML (and matplotlib math text).
HOSTILE = ["<i>&", "a'\"2", "&lt;", "$a$b"]


class Page(html.parser.HTMLParser):
    """Element ids, image sources, tags and text of an HTML page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.images: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.alts: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
            self.alts.append(values.get("alt") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_images_exist(page: Page, out: Path) -> None:
    assert page.images
    for src in page.images:
        path = out / src
        assert path.is_file(), src
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Tiny fits spend most of their time spinning BLAS threads on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


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
    """The test captchas plus copies named with hostile labels, one unreadable file
    and one label of the wrong length."""
    out = tmp_path_factory.mktemp("hostile")
    for path in synth_test_dir.iterdir():
        shutil.copy(path, out / path.name)
    sources = sorted(synth_test_dir.iterdir())
    for label, source in zip(HOSTILE, sources):
        shutil.copy(source, out / f"{label}.png")
    shutil.copy(sources[-1], out / "toolong.png")
    (out / "<broken>.png").write_bytes(b"not an image")
    (out / "notes.txt").write_text("not a captcha")
    return out


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


def test_prepare_out_dir_refuses_a_file_and_foreign_figures(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CvCaptchaError, match="not a folder"):
        prepare_out_dir(tmp_path / "file")
    (tmp_path / "out/figures").mkdir(parents=True)
    (tmp_path / "out/figures/mine.png").write_bytes(b"x")
    with pytest.raises(CvCaptchaError, match="--force"):
        prepare_out_dir(tmp_path / "out")
    assert prepare_out_dir(tmp_path / "out", force=True) == tmp_path / "out/figures"


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
    assert "mixed lengths" in captured.out and "toolong.png" in captured.out
    assert "note: 1 entry(ies) without an image extension ignored: notes.txt" in captured.out
    assert "Traceback" not in captured.err


def test_inspect_missing_folder_is_one_line_error(tmp_path: Path, capsys) -> None:
    assert main(["inspect", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cvcaptcha: error:") and err.count("\n") == 1


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


def test_analyse_counts_confusions_and_positions() -> None:
    result = analyse(["ab", "ba", "aa"], ["ab", "bb", "ax"], "abx")
    assert result["chars"] == "abx"
    assert result["confusion"].tolist() == [[2, 1, 1], [0, 2, 0], [0, 0, 0]]
    np.testing.assert_allclose(result["confusion_norm"][0], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(result["position_accuracy"], [1, 1 / 3])
    assert result["captcha_accuracy"] == pytest.approx(1 / 3)
    assert result["char_accuracy"] == pytest.approx(4 / 6)


def test_analyse_keeps_true_characters_the_model_cannot_emit() -> None:
    result = analyse(["a<"], ["ab"], "ab")
    assert result["chars"] == "<ab"
    assert result["confusion"][0, 2] == 1


def test_operating_points_answer_whole_ties_and_pick_largest_coverage() -> None:
    result = operating_points([0.9, 0.9, 0.8, 0.7, 0.1], [True, False, True, True, False],
                              [0.7, 0.99])
    assert result["thresholds"].tolist() == [0.9, 0.8, 0.7, 0.1]
    assert result["coverage"].tolist() == [0.4, 0.6, 0.8, 1.0]
    loose, strict = result["points"]
    # 0.9 answers both tied captchas (precision 1/2); 0.7 reaches 3/4; 0.1 falls to 3/5
    assert (loose["threshold"], loose["answered"], loose["precision"]) == (0.7, 4, 0.75)
    assert strict["threshold"] is None and strict["answered"] == 0


def test_describe_dataset_flags_mixed_lengths_and_rare_characters() -> None:
    img = np.full((30, 90), 255, np.uint8)
    labels = ["abc"] * 6 + ["abcd"]
    paths = [Path(f"{i}.png") for i in range(7)]
    info = describe_dataset(Dataset([img] * 7, labels, paths))
    assert info["lengths"] == [(3, 6), (4, 1)]
    assert info["by_position"][:, info["alphabet"].index("a")].tolist() == [7, 0, 0, 0]
    assert any("mixed lengths" in p and "6.png" in p for p in info["problems"])
    assert any(n.endswith("learn): d") for n in info["notes"])  # seen once: too rare


def test_missing_extra_is_a_one_line_error(synth_test_dir: Path, monkeypatch, capsys) -> None:
    import sys

    import cvcaptcha

    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "cvcaptcha.report")
    monkeypatch.delattr(cvcaptcha, "report")
    assert main(["inspect", str(synth_test_dir)]) == 1
    err = capsys.readouterr().err
    assert "cvcaptcha[report]" in err and err.count("\n") == 1
