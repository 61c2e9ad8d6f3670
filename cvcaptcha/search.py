"""Grid search over the whole recognizer pipeline, resumable, on loky or Dask.

:func:`run_search` cross-validates every configuration of a parameter grid
(:mod:`cvcaptcha.grid` checks and enumerates it before any work) with
scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` (or
``HalvingGridSearchCV``) on shuffled, seeded
:class:`~sklearn.model_selection.KFold` splits -- captcha labels are nearly all
unique, so stratified splitting cannot work -- and keeps ``OUT_DIR/results.csv``,
``summary.md`` and ``best.model`` up to date (:mod:`cvcaptcha.search_results`).

Configurations run in chunks, each one ``GridSearchCV`` whose finished rows are
written before the next starts: an interrupted search keeps them, and running
it again skips every configuration already in ``results.csv``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, KFold
from threadpoolctl import threadpool_limits

from .errors import ConfigError, CvCaptchaError
from .grid import RESERVED, config_key, configurations, validate_grid
from .io import ImageLike
from .persist import model_bytes, save_model
from .recognizer import CaptchaRecognizer
from .search_results import (
    BEST,
    RESULTS,
    STATE,
    SUMMARY,
    SearchResult,
    atomic_write,
    failed_rows,
    rank_rows,
    read_results,
    rows_from_cv,
    write_results,
    write_summary,
)


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
        A grid that does not name ``clean`` searches without a cleaner where
        ``base`` leaves it ``"auto"``: a cleaner trial inside every
        configuration's fit would multiply the search's cost; name it
        (``"clean": ["none", "thin"]``, or ``["auto"]``) to search it.
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
    if "clean" not in params and base.clean == "auto":
        base.set_params(clean="none")
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
    atomic_write(out / STATE, json.dumps(state, indent=1))
    if "memory" in base.get_params(deep=False):
        base.set_params(memory=str(cache_dir if cache_dir is not None else out / "cache"))

    done = {row["config"]: row for row in read_results(out / RESULTS)}
    configs = configurations(grid)
    pending = [p for p in configs if config_key(p) not in done]
    X, y = _indexable(images), [str(t) for t in labels]
    folds = KFold(cv, shuffle=True, random_state=seed)
    from tqdm.auto import tqdm

    def save() -> list[dict[str, Any]]:
        rows = rank_rows([done[config_key(p)] for p in configs if config_key(p) in done])
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
        atomic_write(out / STATE, json.dumps(state, indent=1))
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
        return failed_rows(part, exc)
    return rows_from_cv(search.cv_results_, halving)
