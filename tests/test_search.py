"""Grid search: outputs, resume, refusal, halving, Dask == loky, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sklearn.model_selection import ParameterGrid

from cvcaptcha import load_dataset, load_model
from cvcaptcha.cli import main
from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.search import run_search
from cvcaptcha.search_results import RESULTS, read_results

#: Four cheap configurations (no augmented copies: the classifier fits in well under a second).
TINY = {
    "segmenter": ["equal", "projection"],
    "augment": [0],
    "classifier": ["logistic"],
    "classifier__C": [0.1, 1.0],
}


@pytest.fixture(scope="module")
def data(synth_dir: Path):
    return load_dataset(synth_dir)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_search_writes_results_summary_and_best_model(data, tmp_path):
    result = run_search(data.images, data.labels, TINY, tmp_path, cv=3)
    rows = _csv_rows(tmp_path / RESULTS)
    expected = {json.dumps(p, sort_keys=True) for p in ParameterGrid(TINY)}
    assert {r["config"] for r in rows} == expected
    assert "memory" not in rows[0] and "verbose" not in rows[0]
    for row in rows:
        assert 0.0 <= float(row["captcha_accuracy"]) <= float(row["char_accuracy"]) <= 1.0
        assert float(row["fit_s"]) > 0 and float(row["predict_ms"]) > 0
        assert float(row["model_bytes"]) > 1000
        assert row["segmenter"] in TINY["segmenter"]
    ranked = [float(r["captcha_accuracy"]) for r in sorted(rows, key=lambda r: int(r["rank"]))]
    assert ranked == sorted(ranked, reverse=True)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Top configurations" in summary and "### `segmenter`" in summary
    model = load_model(tmp_path / "best.model")
    best = result.best
    top = next(r for r in rows if r["rank"] == "1")
    assert best is not None and best["config"] == top["config"]
    assert model.segmenter == best["params"]["segmenter"]
    assert model.memory is None
    assert len(model.predict(data.images[:3])) == 3
    assert model.clean == model.clean_ == "none"  # the grid names no cleaner: none searched


def test_rerun_only_evaluates_missing_configurations(data, tmp_path):
    run_search(data.images, data.labels, TINY, tmp_path, cv=3)
    path = tmp_path / RESULTS
    rows = _csv_rows(path)
    with path.open("w", newline="") as fh:  # lose one finished row
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[1:])
    again = run_search(data.images, data.labels, TINY, tmp_path, cv=3)
    assert again.ran == 1
    assert {r["config"] for r in read_results(path)} == {r["config"] for r in rows}
    assert run_search(data.images, data.labels, TINY, tmp_path, cv=3).ran == 0


def test_interrupted_search_keeps_finished_chunks_and_resumes(data, tmp_path, monkeypatch):
    import cvcaptcha.search as search

    evaluate = search._evaluate
    calls = []

    def interrupt_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(search, "_evaluate", interrupt_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_search(data.images, data.labels, TINY, tmp_path, cv=3, chunk=2)
    assert len(read_results(tmp_path / RESULTS)) == 2
    assert not (tmp_path / "best.model").exists()
    monkeypatch.setattr(search, "_evaluate", evaluate)
    result = run_search(data.images, data.labels, TINY, tmp_path, cv=3, chunk=2)
    assert result.ran == 2 and len(result.rows) == 4
    assert (tmp_path / "best.model").exists()


def test_refuses_the_results_of_another_search(data, tmp_path):
    small = {**TINY, "segmenter": ["equal"], "classifier__C": [1.0]}
    run_search(data.images, data.labels, small, tmp_path, cv=3)
    with pytest.raises(CvCaptchaError, match="grid differ"):
        run_search(data.images, data.labels, {**small, "augment": [1]}, tmp_path, cv=3)
    with pytest.raises(CvCaptchaError, match="cv differ"):
        run_search(data.images, data.labels, small, tmp_path, cv=2)
    result = run_search(data.images, data.labels, small, tmp_path, cv=2, force=True)
    assert result.ran == 1 and len(read_results(tmp_path / RESULTS)) == 1


def test_halving_scores_every_configuration(data, tmp_path):
    result = run_search(data.images, data.labels, TINY, tmp_path, cv=3, halving=True)
    assert len(result.rows) == 4
    resources = [r["n_resources"] for r in result.rows]
    assert max(resources) > min(resources)  # weak configurations stopped early
    assert (tmp_path / "best.model").exists()
    assert run_search(data.images, data.labels, TINY, tmp_path, cv=3, halving=True).ran == 0


def test_dask_gives_the_same_scores_as_loky(data, tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {**TINY, "segmenter": ["equal"]}
    loky = run_search(data.images, data.labels, grid, tmp_path / "loky", cv=3, jobs=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        dask = run_search(
            data.images, data.labels, grid, tmp_path / "dask", cv=3, backend="dask",
            scheduler=cluster.scheduler_address,
        )

    def scores(result):
        return {
            r["config"]: (r["captcha_accuracy"], r["char_accuracy"], r["captcha_accuracy_std"])
            for r in result.rows
        }

    assert scores(dask) == scores(loky)


def test_cli_search(synth_dir, tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({**TINY, "classifier__C": [1.0]}))
    out = tmp_path / "out"
    assert main(["search", str(synth_dir), "--grid", str(grid), "-o", str(out), "--cv", "3"]) == 0
    assert "best: captcha accuracy" in capsys.readouterr().out
    assert len(read_results(out / RESULTS)) == 2 and (out / "best.model").exists()


def test_cli_bad_grid_fails_at_once_naming_the_key(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"segmenter": ["equal"], "hog_cel": [4]}))
    missing = tmp_path / "no-data"  # never read: the grid fails first
    assert main(["search", str(missing), "--grid", str(grid), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'hog_cel'" in err and "hog_cell" in err


def test_cli_dask_missing_names_the_extra(synth_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"segmenter": ["equal"]}))
    argv = ["search", str(synth_dir), "--grid", str(grid), "-o", str(tmp_path / "o"),
            "--backend", "dask"]
    assert main(argv) == 1
    assert "cvcaptcha[dask]" in capsys.readouterr().err


def test_cli_interrupt_says_how_to_resume(synth_dir, tmp_path, capsys, monkeypatch):
    import cvcaptcha.search as search

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "run_search", interrupted)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"segmenter": ["equal"]}))
    argv = ["search", str(synth_dir), "--grid", str(grid), "-o", str(tmp_path / "o")]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resume" in err
