"""Grid search over the whole recognizer pipeline, resumable, on loky or Dask.

A grid is a scikit-learn parameter grid over :class:`CaptchaRecognizer`
parameters (a dict, or a list of dicts, of names to lists of values; the
classifier's own parameters nested as ``classifier__<param>``), so
:class:`sklearn.model_selection.ParameterGrid` enumerates exactly the
configurations searched. :func:`validate_grid` checks it cheaply before any
work; :func:`run_search` cross-validates every configuration with scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` (or ``HalvingGridSearchCV``) on
shuffled, seeded :class:`~sklearn.model_selection.KFold` splits -- captcha
labels are nearly all unique, so stratified splitting cannot work -- and keeps
``OUT_DIR/results.csv``, ``summary.md`` and ``best.model`` up to date.

Configurations run in chunks, each one ``GridSearchCV`` whose finished rows are
written before the next starts: an interrupted search keeps them, and running
it again skips every configuration already in ``results.csv``.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid
from threadpoolctl import threadpool_limits

from .errors import ConfigError, CvCaptchaError
from .features import FEATURES, WINDOW_FEATURES
from .io import ImageLike
from .models import CLASSIFIERS, make_classifier
from .persist import model_bytes, save_model
from .preprocess import THRESHOLDS
from .recognizer import CaptchaRecognizer
from .segment import SEGMENTERS

RESULTS = "results.csv"
SUMMARY = "summary.md"
BEST = "best.model"
STATE = "search.json"
#: Recognizer parameters the search sets itself; a grid may not vary them.
RESERVED: tuple[str, ...] = ("memory", "verbose")
#: Parameters taking a registered name, and the names they accept.
NAMED: dict[str, tuple[str, ...]] = {
    "classifier": tuple(CLASSIFIERS),
    "segmenter": ("auto", *SEGMENTERS),
    "features": (*FEATURES, *WINDOW_FEATURES),
    "threshold": tuple(THRESHOLDS),
}
#: Measured columns of ``results.csv``, after ``rank``, ``config`` and the parameters.
METRICS: tuple[str, ...] = (
    "captcha_accuracy", "captcha_accuracy_std", "char_accuracy", "char_accuracy_std",
    "fit_s", "fit_s_std", "predict_ms", "model_bytes", "n_resources", "error",
)


# -- grid validation ----------------------------------------------------------
def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_ok(value: Any, default: Any) -> bool:
    """Whether ``value`` has the kind of the parameter's default (None: anything)."""
    if default is None:
        return True
    if hasattr(default, "get_params"):  # an estimator: a JSON grid cannot give one
        return False
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        kinds = int if isinstance(default, int) else (int, float)
        return isinstance(value, kinds) and not isinstance(value, bool)
    if isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list))
    return isinstance(value, type(default))


def _check_classifier_param(key: str, value: Any, classifier: str) -> None:
    """Check ``classifier__<path>`` against the parameters of a named classifier.

    scikit-learn estimators declare what each parameter accepts
    (``_parameter_constraints``, the table their ``fit`` checks); others are
    checked against the type of the default.
    """
    from sklearn.utils._param_validation import validate_parameter_constraints

    path = key.split("__", 1)[1]
    params = make_classifier(classifier).get_params(deep=True)
    if path not in params:
        raise ConfigError(
            f"{key!r}: unknown parameter of classifier {classifier!r}{_suggest(path, params)}"
        )
    *owners, name = path.split("__")
    owner = make_classifier(classifier)
    for part in owners:
        owner = owner.get_params(deep=True)[part]
    constraints = getattr(owner, "_parameter_constraints", {})
    if name in constraints:
        try:
            validate_parameter_constraints(
                {name: constraints[name]}, {name: value}, type(owner).__name__
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{key!r}: {exc}") from None
    elif not _type_ok(value, params[path]):
        raise ConfigError(f"{key!r}: expected {type(params[path]).__name__}, got {value!r}")


def _check_value(key: str, value: Any, own: dict[str, Any], classifiers: list[Any]) -> None:
    if key.startswith("classifier__"):
        for name in classifiers:
            _check_classifier_param(key, value, name)
    elif not _type_ok(value, own[key]):
        raise ConfigError(f"{key!r}: expected {type(own[key]).__name__}, got {value!r}")
    elif key in NAMED and value not in NAMED[key]:
        raise ConfigError(f"{key!r}: unknown name {value!r}; choose from {', '.join(NAMED[key])}")


def validate_grid(grid: Any) -> list[dict[str, list[Any]]]:
    """Check a parameter grid against :class:`CaptchaRecognizer`, before any work.

    Every key must be a recognizer parameter (``classifier__<param>`` one of
    the classifier chosen in the same dict, or of the default classifier),
    every value a non-empty list whose items have the parameter's type, and
    every segmenter, feature, threshold and classifier name a registered one.
    Checking up front turns what would be the same error in every fit of a
    long search into one message naming the bad key.

    Parameters
    ----------
    grid : dict or list of dict
        A scikit-learn parameter grid, as read from JSON.

    Returns
    -------
    list of dict
        The grid as a list of dicts, ready for :class:`~sklearn.model_selection.ParameterGrid`.

    Raises
    ------
    ConfigError
        Naming the bad key (and the dict's index in a list of dicts).

    Examples
    --------
    >>> validate_grid({"segmenter": ["equal", "projection"]})
    [{'segmenter': ['equal', 'projection']}]
    >>> validate_grid({"segmenter": "equal"})
    Traceback (most recent call last):
    ...
    cvcaptcha.errors.ConfigError: 'segmenter': expected a list of values, got str
    """
    subgrids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(subgrids, list) or not subgrids:
        raise ConfigError("a grid is an object of parameter lists, or a non-empty list of them")
    own = CaptchaRecognizer().get_params(deep=False)
    for i, sub in enumerate(subgrids):
        where = f"grid[{i}]: " if isinstance(grid, list) else ""
        if not isinstance(sub, dict):
            raise ConfigError(f"{where}expected an object of parameter lists, not {sub!r}")
        # the classifier names first: the nested keys are checked against them
        for key in sorted(sub, key=lambda k: k != "classifier"):
            values = sub[key]
            head = key.split("__", 1)[0] if key.startswith("classifier__") else key
            try:
                if key in RESERVED:
                    raise ConfigError(f"{key!r} is set by the search, not searched over")
                if head not in own:
                    raise ConfigError(f"{key!r}: unknown parameter{_suggest(key, own)}")
                if not isinstance(values, list):
                    raise ConfigError(f"{key!r}: expected a list of values, got "
                                      f"{type(values).__name__}")
                if not values:
                    raise ConfigError(f"{key!r}: empty list of values")
                for value in values:
                    _check_value(key, value, own, sub.get("classifier", [own["classifier"]]))
            except ConfigError as exc:
                raise ConfigError(f"{where}{exc}") from None
    return [dict(sub) for sub in subgrids]


def load_grid(path: str | os.PathLike) -> list[dict[str, list[Any]]]:
    """Read and validate a JSON grid file (see :func:`validate_grid`)."""
    try:
        grid = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        return validate_grid(grid)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_key(params: dict[str, Any]) -> str:
    """Canonical JSON of one configuration: how results are matched on resume.

    Examples
    --------
    >>> config_key({"segmenter": "equal", "classifier": "logistic"})
    '{"classifier": "logistic", "segmenter": "equal"}'
    """
    return json.dumps(params, sort_keys=True)


def configurations(grid: list[dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every configuration of a grid, in :class:`ParameterGrid` order, duplicates once."""
    seen: dict[str, dict[str, Any]] = {}
    for params in ParameterGrid(grid):
        seen.setdefault(config_key(params), params)
    return list(seen.values())


# -- scoring ------------------------------------------------------------------
def _accuracies(predicted: list[str], labels: Sequence[str]) -> tuple[float, float]:
    """Whole-captcha and character accuracy; characters the model never saw count wrong."""
    labels = [str(t) for t in labels]
    exact = np.mean([p == t for p, t in zip(predicted, labels)])
    chars = sum(a == b for p, t in zip(predicted, labels) for a, b in zip(p, t))
    return float(exact), chars / max(1, sum(len(t) for t in labels))


def captcha_scores(
    estimator: CaptchaRecognizer, images: Sequence[ImageLike], labels: Sequence[str]
) -> dict[str, float]:
    """Multi-metric scorer: one ``predict`` gives both accuracies and its time.

    Returns
    -------
    dict
        ``captcha_accuracy`` (the refit metric), ``char_accuracy``,
        ``predict_ms`` (per captcha) and ``model_bytes`` (size of the model file).
    """
    start = time.perf_counter()
    predicted = estimator.predict(images)
    ms = 1000.0 * (time.perf_counter() - start) / max(1, len(labels))
    exact, chars = _accuracies(predicted, labels)
    return {
        "captcha_accuracy": exact,
        "char_accuracy": chars,
        "predict_ms": ms,
        "model_bytes": float(len(model_bytes(estimator))),
    }


def captcha_accuracy(
    estimator: CaptchaRecognizer, images: Sequence[ImageLike], labels: Sequence[str]
) -> float:
    """Whole-captcha accuracy as a scorer (successive halving takes one metric only)."""
    return _accuracies(estimator.predict(images), labels)[0]


# -- backends -----------------------------------------------------------------
@contextmanager
def parallel_backend(backend: str, jobs: int, scheduler: str | None = None) -> Iterator[int]:
    """Run joblib work on ``backend``; yields how many tasks can run at once.

    ``"loky"`` uses ``jobs`` local processes. ``"dask"`` runs joblib's Dask
    backend on a :class:`distributed.Client`: of the cluster at ``scheduler``
    (an address such as ``tcp://host:8786``; the count is then its worker
    threads), or of a local cluster of ``jobs`` single-threaded worker processes.

    A cluster of several machines: start ``dask-scheduler`` on one, then
    ``dask-worker tcp://SCHEDULER:8786 --nworkers N --nthreads 1`` on each
    machine (every one with cvcaptcha installed, the same version), and pass
    the scheduler's address. Workers only need the images the search sends
    them; the front-end cache path must be writable on every worker.
    """
    if backend == "loky":
        if scheduler:
            raise ConfigError("a scheduler address needs the dask backend")
        yield jobs
        return
    if backend != "dask":
        raise ConfigError(f"unknown backend {backend!r}; choose from loky, dask")
    try:
        import joblib
        from distributed import Client, LocalCluster
    except ImportError:
        raise CvCaptchaError(
            "the dask backend needs dask and distributed: pip install 'cvcaptcha[dask]'"
        ) from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise CvCaptchaError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    else:
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        # Dask's worker processes start with one BLAS thread, as loky's do; in-process
        # workers share this process, so limit it too, or BLAS sums would differ.
        with threadpool_limits(1), joblib.parallel_backend("dask"):
            yield max(1, sum(client.nthreads().values()))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- results ------------------------------------------------------------------
@dataclass
class SearchResult:
    """What :func:`run_search` did.

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


def _rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    _atomic_write(path, buf.getvalue())


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


def _rows_from_cv(cv_results: dict[str, Any], halving: bool) -> list[dict[str, Any]]:
    """One row per configuration from ``cv_results_`` (halving: its last round)."""
    if halving:
        rows = _rows_from_cv(
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


def _failed_rows(chunk: list[dict[str, Any]], exc: Exception) -> list[dict[str, Any]]:
    """Rows for a chunk whose every fit failed; the cause's last line kept."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    rows = _rows_from_cv({"params": chunk}, halving=False)
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
    _atomic_write(path, "\n".join(lines))


# -- the search ---------------------------------------------------------------
def _indexable(images: Sequence[ImageLike]) -> Any:
    """Images of one shape as one 3-d array (loky then memory-maps it to the
    workers instead of pickling every image per task); others as a list."""
    shapes = {getattr(img, "shape", None) for img in images}
    if len(shapes) == 1 and len(next(iter(shapes)) or ()) == 2:
        return np.stack(images)
    return list(images)


def _check_out_dir(out: Path, state: dict[str, Any], force: bool) -> None:
    """Refuse an OUT_DIR holding another search's results, unless ``force``."""
    state_path = out / STATE
    ours = [out / name for name in (RESULTS, SUMMARY, BEST)]
    if state_path.exists():
        try:
            old = json.loads(state_path.read_text())
        except json.JSONDecodeError:
            old = {}
        differ = [k for k in ("grid", "data", "cv", "seed", "halving", "base")
                  if old.get(k) != state[k]]
    else:
        differ = ["its files"] if any(p.exists() for p in ours) else []
    if not differ:
        return
    if not force:
        raise CvCaptchaError(
            f"{out} holds the results of a different search ({', '.join(differ)} differ); "
            "use --force to replace them or choose another OUT_DIR"
        )
    for path in ours:
        path.unlink(missing_ok=True)


def run_search(
    images: Sequence[ImageLike],
    labels: Sequence[str],
    grid: Any,
    out_dir: str | os.PathLike,
    cv: int = 3,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    halving: bool = False,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    base: CaptchaRecognizer | None = None,
    force: bool = False,
    chunk: int | None = None,
    progress: bool = False,
) -> SearchResult:
    """Cross-validate every configuration of ``grid``; write results, summary and best model.

    Parameters
    ----------
    images, labels : sequences
        The labelled captchas.
    grid : dict or list of dict
        A parameter grid (see :func:`validate_grid`, checked before any work).
    out_dir : path
        Folder for ``results.csv``, ``summary.md``, ``best.model`` and the
        search's state; an earlier run of the same search there is resumed.
    cv : int
        Number of folds of the shuffled, seeded KFold.
    jobs : int
        Parallel workers (loky processes, or local Dask workers).
    backend : {"loky", "dask"}
    scheduler : str, optional
        Address of a running Dask scheduler (dask backend only).
    halving : bool
        Successive halving (``HalvingGridSearchCV``) instead of the full grid:
        weak configurations only see a share of the captchas. Runs as one
        piece, so an interrupted halving search starts over.
    seed : int
        Seed of the fold shuffle (and of halving's subsamples).
    cache_dir : path, optional
        Where the recognizer's ``memory`` caches the front end (default
        ``out_dir/cache``); safe to share between concurrent workers.
    base : CaptchaRecognizer, optional
        The recognizer whose parameters the grid overrides (default: defaults).
    force : bool
        Replace the results of a different search found in ``out_dir``.
    chunk : int, optional
        Configurations per ``GridSearchCV`` call, i.e. between two saves of
        ``results.csv`` (default: twice the number of workers, at least 2).
    progress : bool
        Show a progress bar with the time left.

    Returns
    -------
    SearchResult

    Raises
    ------
    ConfigError
        A bad grid or setting, before any work.
    KeyboardInterrupt
        Finished configurations are saved first; the same call resumes.
    """
    grid = validate_grid(grid)
    if cv < 2 or cv > len(labels):
        raise ConfigError(f"cv must be between 2 and the number of captchas, not {cv}")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, not {jobs}")
    import joblib

    start = time.perf_counter()
    base = clone(base) if base is not None else CaptchaRecognizer()
    out = Path(out_dir)
    params = sorted({key for sub in grid for key in sub})
    state = {
        "grid": grid,
        "data": joblib.hash(([str(t) for t in labels], [np.asarray(i) for i in images])),
        "n_images": len(labels), "cv": cv, "seed": seed, "halving": halving,
        "base": {k: repr(v) for k, v in base.get_params(deep=False).items()
                 if k not in RESERVED},
    }
    out.mkdir(parents=True, exist_ok=True)
    _check_out_dir(out, state, force)
    old = json.loads((out / STATE).read_text()) if (out / STATE).exists() else {}
    state["best"] = old.get("best")
    _atomic_write(out / STATE, json.dumps(state, indent=1))
    if "memory" in base.get_params(deep=False):
        base.set_params(memory=str(cache_dir if cache_dir is not None else out / "cache"))

    done = {row["config"]: row for row in read_results(out / RESULTS)}
    configs = configurations(grid)
    pending = [p for p in configs if config_key(p) not in done]
    X, y = _indexable(images), [str(t) for t in labels]
    folds = KFold(cv, shuffle=True, random_state=seed)
    from tqdm.auto import tqdm

    def save() -> list[dict[str, Any]]:
        rows = _rank([done[config_key(p)] for p in configs if config_key(p) in done])
        write_results(out / RESULTS, rows, params)
        return rows

    with parallel_backend(backend, jobs, scheduler) as n_jobs, tqdm(
        total=len(configs), initial=len(configs) - len(pending), unit="config",
        desc="search", disable=not progress, smoothing=0.1,
    ) as bar:
        size = max(1, len(pending)) if halving else max(2, chunk or 2 * n_jobs)
        for i in range(0, len(pending), size):
            part = pending[i:i + size]
            for row in _evaluate(base, part, X, y, folds, n_jobs, halving, seed):
                done[row["config"]] = row
            save()
            bar.update(len(part))
    result = SearchResult(save(), params, len(pending), 0.0, out)
    best = result.best
    if best is not None and (state["best"] != best["config"] or not (out / BEST).exists()):
        model = clone(base).set_params(**best["params"]).fit(X, y)
        save_model(model, out / BEST, overwrite=True)
        state["best"] = best["config"]
        _atomic_write(out / STATE, json.dumps(state, indent=1))
    result.seconds = time.perf_counter() - start
    write_summary(out / SUMMARY, result, state)
    return result


def _evaluate(
    base: BaseEstimator,
    part: list[dict[str, Any]],
    X: Any,
    y: list[str],
    folds: KFold,
    n_jobs: int,
    halving: bool,
    seed: int,
) -> list[dict[str, Any]]:
    """Cross-validate the configurations of ``part`` in one scikit-learn search."""
    grid = [{k: [v] for k, v in p.items()} for p in part]
    if halving:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV

        search: Any = HalvingGridSearchCV(
            base, grid, scoring=captcha_accuracy, refit=False, cv=folds, n_jobs=n_jobs,
            error_score=np.nan, min_resources="exhaust", random_state=seed,
        )
    else:
        search = GridSearchCV(
            base, grid, scoring=captcha_scores, refit=False, cv=folds, n_jobs=n_jobs,
            error_score=np.nan,
        )
    try:
        search.fit(X, y)
    except ValueError as exc:  # scikit-learn refuses a search whose every fit failed
        if "fits failed" not in str(exc):
            raise
        return _failed_rows(part, exc)
    return _rows_from_cv(search.cv_results_, halving)
