"""A search's written results: ``results.csv`` rows, their ranking, ``summary.md``.

Rows are written atomically after every chunk of configurations, so an
interrupted search leaves whole files; :func:`read_results` reads them back
when it resumes.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .grid import config_key

RESULTS = "results.csv"
SUMMARY = "summary.md"
BEST = "best.model"
STATE = "search.json"
#: Measured columns of ``results.csv``, after ``rank``, ``config`` and the parameters.
METRICS: tuple[str, ...] = (
    "captcha_accuracy", "captcha_accuracy_std", "char_accuracy", "char_accuracy_std",
    "fit_s", "fit_s_std", "predict_ms", "model_bytes", "n_resources", "error",
)


@dataclass
class SearchResult:
    """What :func:`cvcaptcha.search.run_search` did.

    ``rows`` holds every configuration's results (see :data:`METRICS`) in
    rank order, ``params`` the grid's parameter names, ``ran`` how many
    configurations this call evaluated (the rest came from an earlier run).
    """

    rows: list[dict[str, Any]]
    params: list[str]
    ran: int
    seconds: float
    out_dir: Path

    @property
    def best(self) -> dict[str, Any] | None:
        """The top row, or None when every configuration failed."""
        top = self.rows[0] if self.rows else None
        return top if top is not None and not math.isnan(top["captcha_accuracy"]) else None


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows best first (captcha accuracy, then character accuracy, then fit time)."""

    def order(row: dict[str, Any]) -> tuple[float, float, float]:
        def value(name: str, sign: float) -> float:
            v = row[name]
            return math.inf if math.isnan(v) else sign * v

        return value("captcha_accuracy", -1), value("char_accuracy", -1), value("fit_s", 1)

    ranked = sorted(rows, key=order)
    for i, row in enumerate(ranked, 1):
        row["rank"] = i
    return ranked


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value)


def atomic_write(path: Path, text: str) -> None:
    """``text`` written with :func:`~cvcaptcha.persist.write_atomically` (UTF-8)."""
    from .persist import write_atomically

    write_atomically(path, text.encode("utf-8"))


def write_results(path: Path, rows: list[dict[str, Any]], params: list[str]) -> None:
    """Write ``results.csv`` (atomically: an interrupt never leaves half a file)."""
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["rank", *params, *METRICS, "config"])
    for row in rows:
        values = [row["params"].get(p, "") for p in params]
        metrics = [row[m] for m in METRICS]
        writer.writerow([row["rank"], *map(_cell, values), *map(_cell, metrics), row["config"]])
    atomic_write(path, buf.getvalue())


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``results.csv`` written by :func:`write_results`."""
    if not path.exists():
        return []
    rows = []
    with path.open(newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {
                "config": raw["config"], "params": json.loads(raw["config"]), "error": raw["error"]
            }
            for name in METRICS[:-1]:
                row[name] = float(raw[name]) if raw[name] else math.nan
            rows.append(row)
    return rows


def _column_getter(cv_results: dict[str, Any], i: int) -> Any:
    """Value ``i`` of a ``cv_results_`` column as a float (NaN when the column is absent)."""

    def get(name: str) -> float:
        return float(cv_results[name][i]) if name in cv_results else math.nan

    return get


def rows_from_cv(cv_results: dict[str, Any], halving: bool) -> list[dict[str, Any]]:
    """One row per configuration from ``cv_results_`` (halving: its last round)."""
    if halving:
        rows = rows_from_cv(
            {**cv_results, "mean_test_captcha_accuracy": cv_results["mean_test_score"],
             "std_test_captcha_accuracy": cv_results["std_test_score"]},
            halving=False,
        )
        last: dict[str, dict[str, Any]] = {}
        for row, n in zip(rows, cv_results["n_resources"]):
            row["n_resources"] = float(n)
            last[row["config"]] = row  # later rounds come later
        return list(last.values())
    rows = []
    for i, params in enumerate(cv_results["params"]):
        get = _column_getter(cv_results, i)
        rows.append({
            "config": config_key(params), "params": params, "error": "",
            "captcha_accuracy": get("mean_test_captcha_accuracy"),
            "captcha_accuracy_std": get("std_test_captcha_accuracy"),
            "char_accuracy": get("mean_test_char_accuracy"),
            "char_accuracy_std": get("std_test_char_accuracy"),
            "fit_s": get("mean_fit_time"), "fit_s_std": get("std_fit_time"),
            "predict_ms": get("mean_test_predict_ms"), "model_bytes": get("mean_test_model_bytes"),
            "n_resources": math.nan,
        })
    return rows


def failed_rows(chunk: list[dict[str, Any]], exc: Exception) -> list[dict[str, Any]]:
    """Rows for a chunk whose every fit failed; the cause's last line kept."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    rows = rows_from_cv({"params": chunk}, halving=False)
    for row in rows:
        row["error"] = lines[-1][:300] if lines else type(exc).__name__
    return rows


# -- summary ------------------------------------------------------------------
def _fmt(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def format_table(rows: list[dict[str, Any]], params: list[str], top: int = 10) -> str:
    """The ``top`` rows as a Markdown table (also what the benchmark prints)."""
    head = ["rank", "captcha acc", "± std", "char acc", "fit s", "predict ms", "model KiB"]
    lines = ["| " + " | ".join([*head, *params]) + " |", "|" + "---|" * (len(head) + len(params))]
    for row in rows[:top]:
        cells = [
            str(row["rank"]), _fmt(row["captcha_accuracy"], ".4f"),
            _fmt(row["captcha_accuracy_std"], ".4f"), _fmt(row["char_accuracy"], ".4f"),
            _fmt(row["fit_s"], ".2f"), _fmt(row["predict_ms"], ".2f"),
            _fmt(row["model_bytes"] / 1024, ".0f"),
            *(_cell(row["params"].get(p, "")) for p in params),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parameter_effects(rows: list[dict[str, Any]], params: list[str]) -> str:
    """Per parameter that varies: mean and best captcha accuracy of each value's configurations."""
    parts = []
    for name in params:
        groups: dict[str, list[float]] = {}
        for row in rows:
            if name in row["params"]:
                groups.setdefault(_cell(row["params"][name]), []).append(row["captcha_accuracy"])
        if len(groups) < 2:
            continue
        parts += [f"### `{name}`", "", "| value | configs | mean captcha acc | best |",
                  "|---|---|---|---|"]
        for value, scores in groups.items():
            ok = [s for s in scores if not math.isnan(s)]
            mean = float(np.mean(ok)) if ok else math.nan
            best = max(ok) if ok else math.nan
            parts.append(f"| {value} | {len(scores)} | {_fmt(mean, '.4f')} | {_fmt(best, '.4f')} |")
        parts.append("")
    return "\n".join(parts) if parts else "Every parameter has a single value.\n"


def write_summary(path: Path, result: SearchResult, state: dict[str, Any]) -> None:
    """Write ``summary.md``: the setting, the best configuration, the top table, the effects."""
    rows = result.rows
    failed = sum(math.isnan(r["captcha_accuracy"]) for r in rows)
    how = "successive halving" if state["halving"] else "grid search"
    lines = [
        "# cvcaptcha search", "",
        f"{how.capitalize()}: {len(rows)} configurations, {state['cv']}-fold cross-validation "
        f"(shuffled KFold, seed {state['seed']}) on {state['n_images']} captchas; "
        f"{failed} failed. This run evaluated {result.ran} of them in {result.seconds:.0f} s.",
        "",
    ]
    best = result.best
    if best is None:
        lines += ["No configuration could be scored; no model was written.", ""]
    else:
        lines += [
            f"Best: captcha accuracy {best['captcha_accuracy']:.4f} "
            f"± {_fmt(best['captcha_accuracy_std'], '.4f')}, character accuracy "
            f"{_fmt(best['char_accuracy'], '.4f')} with `{best['config']}`; refitted on all "
            f"captchas as `{BEST}`.", "",
        ]
    if state["halving"]:
        lines += ["Halving scores come from each configuration's last round (`n_resources` "
                  "captchas in results.csv); only whole-captcha accuracy is measured.", ""]
    lines += ["## Top configurations", "", format_table(rows, result.params), "",
              "## Effect of each parameter", "", parameter_effects(rows, result.params)]
    atomic_write(path, "\n".join(lines))
