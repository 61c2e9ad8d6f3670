from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvcaptcha import load_model
from cvcaptcha.cli import VERBS, build_parser, main

from .conftest import FAST


@pytest.fixture(scope="module")
def trained(synth_dir: Path, config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m.model"
    assert main(["train", str(synth_dir), "-o", str(out), "--config", str(config)]) == 0
    return out


def test_every_verb_has_help(capsys: pytest.CaptureFixture) -> None:
    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert len(verbs) >= len(VERBS)
    for verb in verbs:
        assert main([verb, "--help"]) == 0
        assert "usage: cvcaptcha" in capsys.readouterr().out


def test_train_evaluate_json(trained: Path, synth_test_dir: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(trained), str(synth_test_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 40
    assert {"captcha_accuracy", "char_accuracy", "ms_per_captcha"} <= set(result)
    assert result["char_accuracy"] > 1 / 8  # better than chance over 8 characters


def test_evaluate_table(trained: Path, synth_test_dir: Path, capsys) -> None:
    assert main(["evaluate", str(trained), str(synth_test_dir)]) == 0
    out = capsys.readouterr().out
    assert "captcha accuracy" in out
    assert "segmenter           equal\n" in out  # FAST names it: no auto trials
    assert "segmenter trials" not in out
    assert "reader input        ink\n" in out and "reader input trials" not in out


def test_evaluate_says_what_auto_chose_and_the_trial_scores(
    synth_dir: Path, synth_test_dir: Path, tmp_path: Path, capsys
) -> None:
    from cvcaptcha import CaptchaRecognizer, load_dataset, save_model

    data = load_dataset(synth_dir)
    model = CaptchaRecognizer(classifier="logistic", augment=0).fit(data.images, data.labels)
    path = save_model(model, tmp_path / "auto.cvc")
    assert main(["evaluate", str(path), str(synth_test_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["segmenter"] == model.fit_summary_["segmenter"]
    assert result["segmenter_trials"] == model.fit_summary_["auto_captcha_accuracy"]
    assert result["features"] == model.fit_summary_["features"] == model.features_
    assert result["features_trials"] == model.fit_summary_["auto_features_captcha_accuracy"]
    assert main(["evaluate", str(path), str(synth_test_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{result['segmenter']} (chosen by auto)" in out and "segmenter trials" in out
    assert f"{result['features']} (chosen by auto)" in out and "reader input trials" in out
    assert result["threshold"] == model.threshold_ == model.fit_summary_["threshold"]
    assert result["threshold_agreement"] == model.fit_summary_["auto_threshold_agreement"]
    row = next(line for line in out.splitlines() if line.startswith("threshold "))
    assert row.split() == ["threshold", result["threshold"], "(chosen", "by", "auto)"]
    assert "threshold trials" in out


def test_train_with_unlabelled_captchas_self_trains(
    synth_dir: Path, tmp_path: Path, capsys
) -> None:
    import shutil

    from cvcaptcha import load_model

    labelled, unlabelled = tmp_path / "labelled", tmp_path / "unlabelled"
    labelled.mkdir()
    unlabelled.mkdir()
    for i, path in enumerate(sorted(synth_dir.glob("*.png"))):
        if i < 60:
            shutil.copy(path, labelled / path.name)
        else:  # anonymous names: nothing to learn from them but the images
            shutil.copy(path, unlabelled / f"{i}.png")
    config = tmp_path / "st.json"
    config.write_text(json.dumps(FAST | {"self_training_rounds": 1,
                                         "self_training_precision": 0.0}))
    out = tmp_path / "m.cvc"
    assert main(["train", str(labelled), "--unlabelled", str(unlabelled), "-o", str(out),
                 "--config", str(config)]) == 0
    assert "self-training kept" in capsys.readouterr().out
    training = load_model(out).fit_summary_["self_training"]
    assert training["n_labelled"] == 60 and training["n_unlabelled"] == 60
    (unlabelled / "broken.png").write_bytes(b"garbage")
    assert main(["train", str(labelled), "--unlabelled", str(unlabelled), "-o", str(out),
                 "--config", str(config), "--force"]) == 1
    assert "unreadable unlabelled" in capsys.readouterr().err


def test_predict_copies_sure_reads_under_their_text_never_overwriting(
    trained: Path, synth_test_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "sure"
    argv = ["predict", str(trained), str(synth_test_dir), "--json", "--rename-to", str(out),
            "--min-confidence", "0.0"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(list(out.iterdir())) == 40 and all("copied_to" in r for r in rows)
    for r in rows:
        copy = Path(r["copied_to"])
        assert copy.read_bytes() == Path(r["path"]).read_bytes()
        assert copy.stem.split(" (")[0] == r["text"]
    assert main(argv) == 0  # again: 40 more copies with suffixes, none overwritten
    assert len(list(out.iterdir())) == 80
    capsys.readouterr()
    assert main([*argv[:-1], "1.0"]) == 0
    assert "copied 0 of 40" in capsys.readouterr().err  # no read is that sure
    assert main([*argv[:-1], "1.5"]) == 2  # not a probability: a usage error


def test_predict_reports_bad_paths_and_answers_good_ones(
    trained: Path, synth_test_dir: Path, tmp_path: Path, capsys
) -> None:
    good = sorted(synth_test_dir.iterdir())[:2]
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"garbage")
    code = main(["predict", str(trained), *map(str, good), str(bad), str(tmp_path / "gone.png"),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 1
    rows = json.loads(captured.out)
    assert [r["path"] for r in rows] == [*map(str, good), str(bad), str(tmp_path / "gone.png")]
    assert all(len(r["text"]) == 4 and 0 <= r["confidence"] <= 1 for r in rows[:2])
    assert "error" in rows[2] and "error" in rows[3]
    assert captured.err.count("cvcaptcha: error:") == 2 and "Traceback" not in captured.err


def test_predict_folder(trained: Path, synth_test_dir: Path, capsys) -> None:
    assert main(["predict", str(trained), str(synth_test_dir)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 40


def test_train_says_what_the_recipe_uses(
    synth_dir: Path, config: Path, tmp_path: Path, capsys
) -> None:
    assert main(["train", str(synth_dir), "-o", str(tmp_path / "m"), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "segmenter equal, reader input ink, cleaner none, threshold otsu)" in out


def test_train_refuses_to_overwrite_and_failed_train_keeps_model(
    trained: Path, config: Path, tmp_path: Path, capsys
) -> None:
    before = trained.read_bytes()
    assert main(["train", str(tmp_path), "-o", str(trained), "--config", str(config)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "-o", str(trained), "--force"]) == 1  # empty folder
    assert "no images" in capsys.readouterr().err
    assert trained.read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "{missing}", "-o", "{tmp}/m.model"], "no such folder"),
        (["evaluate", "{tmp}/none.model", "{tmp}"], "no such model file"),
        (["train", "{data}", "-o", "{tmp}/m", "--config", "{tmp}/bad.json"], "not valid JSON"),
        (["train", "{data}", "-o", "{tmp}/m", "--config", "{tmp}/key.json"], "no_such_param"),
        (["generate", "{tmp}/g", "--count", "5", "--alphabet", "a"], "distinct labels"),
    ],
)
def test_bad_input_gives_one_line_error(
    argv: list[str], message: str, synth_dir: Path, tmp_path: Path, capsys
) -> None:
    (tmp_path / "bad.json").write_text("{oops")
    (tmp_path / "key.json").write_text('{"no_such_param": 1}')
    args = [
        a.format(missing=tmp_path / "missing", tmp=tmp_path, data=synth_dir) for a in argv
    ]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("cvcaptcha: error:")


def test_generate_takes_the_styles_own_size_and_format(tmp_path: Path) -> None:
    from PIL import Image

    assert main(["generate", str(tmp_path / "pale"), "--count", "2", "--style", "pale"]) == 0
    files = sorted((tmp_path / "pale").iterdir())
    assert [f.suffix for f in files] == [".jpg", ".jpg"]
    assert Image.open(files[0]).size == (90, 30)
    argv = ["generate", str(tmp_path / "png"), "--count", "2", "--style", "pale", "--format",
            "png"]
    assert main(argv) == 0 and all(f.suffix == ".png" for f in (tmp_path / "png").iterdir())


def test_generate_either_style(tmp_path: Path, capsys) -> None:
    for style in ("captcha", "pitch"):
        argv = ["generate", str(tmp_path / style), "--count", "3", "--length", "4"]
        argv += ["--style", style]
        assert main(argv) == 0
        names = sorted(p.stem for p in (tmp_path / style).glob("*.png"))
        assert len(names) == 3 and all(len(n) == 4 for n in names)
    assert main(["generate", str(tmp_path / "x"), "--count", "3", "--style", "wavy"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_evaluate_refuses_labels_the_model_cannot_emit(trained: Path, tmp_path: Path, capsys):
    from cvcaptcha.synth import generate

    generate(tmp_path, 3, length=4, alphabet="XYZW", seed=0)
    assert main(["evaluate", str(trained), str(tmp_path)]) == 1
    assert "cannot emit" in capsys.readouterr().err


def test_usage_error_exit_code(capsys) -> None:
    assert main(["train"]) == 2
    assert main(["no-such-verb"]) == 2


def test_fast_recipe_trains_the_earlier_default(synth_dir: Path) -> None:
    """The shipped ``benchmarks/recipes/fast.json``: no recentring, a reader of two nets
    (the default's recentring and four nets are checked in test_recognizer)."""
    from cvcaptcha import load_dataset
    from cvcaptcha.cli import build_recognizer, read_config

    recipe = Path(__file__).resolve().parents[1] / "benchmarks" / "recipes" / "fast.json"
    data = load_dataset(synth_dir)
    config = read_config(str(recipe)) | {"segmenter": "window", "augment": 1}
    fast = build_recognizer(config).fit(data.images[:40], data.labels[:40])
    assert not fast.segmenter_.recentres and fast.locator_weight == 0.1
    assert fast.classifier_.hidden_weights_.shape[1] == 2 * fast.classifier_.hidden


def test_help_teaches_a_session_and_every_verb_has_examples(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    session = out[out.index("examples:"):]
    for verb in ("generate", "train", "evaluate", "predict", "serve", "export"):
        assert f"cvcaptcha {verb} " in session
    assert "--json" in session
    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb in verbs:
        assert main([verb, "--help"]) == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"\n  cvcaptcha {verb} " in out, verb


def test_train_lengths_and_ignore_case_reach_the_model(
    mixed_dir: Path, mixed_test_dir: Path, config: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "m.cvc"
    assert main(["train", str(mixed_dir), "-o", str(out), "--config", str(config),
                 "--lengths", "3-6", "--ignore-case"]) == 0
    assert "3-6 chars" in capsys.readouterr().out
    model = load_model(out)
    assert tuple(model.lengths_) == (3, 4, 5, 6) and model.ignore_case is True
    assert main(["evaluate", str(out), str(mixed_test_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["by_length"]) == ["3", "4", "5"] and 0 <= result["wrong_length"] <= 1
    assert main(["evaluate", str(out), str(mixed_test_dir)]) == 0
    assert "by label length" in capsys.readouterr().out
    assert main(["predict", str(out), str(mixed_test_dir), "--json"]) == 0
    reads = json.loads(capsys.readouterr().out)
    assert len({len(r["text"]) for r in reads}) > 1  # the text whatever its length
    assert all(0 < r["length_confidence"] <= 1 for r in reads)
    assert main(["train", str(mixed_dir), "-o", str(tmp_path / "x.cvc"), "--lengths", "3-4"]) == 1
    assert "outside lengths" in capsys.readouterr().err
