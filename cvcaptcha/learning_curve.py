"""Would more data help? Accuracy against training-set size, as numbers and a page."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import plots
from .errors import ConfigError
from .io import load_dataset
from .outdir import FIGURES, check_out_dir, prepare_out_dir
from .pages import render_page


def learning_curve(
    estimator: Any,
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 1.0),
    repeats: int = 1,
    test_size: float = 0.2,
    seed: int = 0,
    train_score_max: int = 200,
    progress: bool = False,
) -> dict[str, Any]:
    """Whole-captcha accuracy against training-set size on held-out captchas.

    Each repeat holds out a seeded random ``test_size`` share (labels are
    unique, so no stratification is possible) and trains fresh clones of
    ``estimator`` on growing prefixes of the shuffled remainder: the same
    held-out set judges every size, so the curve's shape is not split noise.

    Parameters
    ----------
    estimator : CaptchaRecognizer
        Unfitted recipe; cloned for every fit.
    images, labels : sequences
        The labelled captchas.
    fractions : sequence of float
        Shares of the training part to train on, each in (0, 1].
    repeats : int
        Independent held-out splits (mean and spread are reported).
    test_size : float
        Held-out share of the data.
    seed : int
        Seed of the splits.
    train_score_max : int
        Accuracy on the training captchas is measured on at most this many of
        them (reading is as slow as training).
    progress : bool
        Show a progress bar over the fits.

    Returns
    -------
    dict
        ``sizes`` (n_fractions,), ``test`` and ``train`` (repeats, n_fractions)
        accuracies, ``fit_seconds`` (repeats, n_fractions), ``n_test`` and
        ``loss_curves`` (the largest fit's ``loss_curve_`` per repeat, when the
        classifier records one).
    """
    from sklearn.base import clone
    from sklearn.model_selection import ShuffleSplit
    from tqdm.auto import tqdm

    fractions = sorted(set(float(f) for f in fractions))
    if not fractions or fractions[0] <= 0 or fractions[-1] > 1:
        raise ConfigError(f"fractions must lie in (0, 1], got {fractions}")
    if repeats < 1:
        raise ConfigError("repeats must be at least 1")
    if not 0 < test_size < 1:
        raise ConfigError(f"test size must lie in (0, 1), got {test_size}")
    n_test = int(round(test_size * len(labels)))
    if n_test < 1 or len(labels) - n_test < 2:
        raise ConfigError(f"{len(labels)} captchas are too few to hold out {test_size:.0%}")
    splits = ShuffleSplit(n_splits=repeats, test_size=n_test, random_state=seed)
    n_train = len(labels) - n_test
    sizes = np.array([max(2, int(round(f * n_train))) for f in fractions])
    test = np.full((repeats, len(sizes)), np.nan)
    train = np.full_like(test, np.nan)
    seconds = np.full_like(test, np.nan)
    losses: list[list[float]] = []

    def accuracy(model: Any, idx: np.ndarray) -> float:
        read = model.predict([images[i] for i in idx])
        return float(np.mean([r == labels[i] for r, i in zip(read, idx)]))

    with tqdm(total=repeats * len(sizes), desc="learning curve", unit="fit",
              disable=not progress) as bar:
        for r, (train_idx, test_idx) in enumerate(splits.split(np.arange(len(labels)))):
            for k, size in enumerate(sizes):
                part = train_idx[:size]
                model = clone(estimator)
                tick = time.perf_counter()
                model.fit([images[i] for i in part], [labels[i] for i in part])
                seconds[r, k] = time.perf_counter() - tick
                test[r, k] = accuracy(model, test_idx)
                train[r, k] = accuracy(model, part[:train_score_max])
                bar.update()
            curve = getattr(model.classifier_, "loss_curve_", None)
            if curve is not None:
                losses.append([float(v) for v in curve])
    return {"sizes": sizes, "test": test, "train": train, "fit_seconds": seconds,
            "n_test": n_test, "loss_curves": losses}


def write_learning_curve(
    estimator: Any,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    force: bool = False,
    progress: bool = False,
    **options: Any,
) -> tuple[Path, dict[str, Any]]:
    """Compute :func:`learning_curve` on a folder and write its page.

    Parameters
    ----------
    estimator : CaptchaRecognizer
        Unfitted recipe.
    data_dir : path
        Labelled folder (unreadable files are left out and listed).
    out_dir : path
        Output folder (see :func:`~cvcaptcha.outdir.prepare_out_dir`).
    force : bool
        Overwrite files cvcaptcha did not write.
    progress : bool
        Show progress bars.
    **options
        Passed to :func:`learning_curve` (``fractions``, ``repeats``,
        ``test_size``, ``seed``).

    Returns
    -------
    index : Path
    result : dict
        As :func:`learning_curve` returns.
    """
    check_out_dir(out_dir, force)
    data = load_dataset(data_dir, skip_bad=True, progress=progress)
    result = learning_curve(estimator, data.images, data.labels, progress=progress, **options)
    figures = prepare_out_dir(out_dir, force)
    test, train = result["test"], result["train"]
    plots.learning_curve(result["sizes"], test.mean(axis=0), test.std(axis=0),
                         train.mean(axis=0), train.std(axis=0), figures / "learning_curve.png")
    images = {"learning": f"{FIGURES}/learning_curve.png"}
    if result["loss_curves"]:
        plots.loss_curves(result["loss_curves"], figures / "loss_curve.png")
        images["loss"] = f"{FIGURES}/loss_curve.png"
    params = estimator.get_params(deep=False)
    classifier = params.get("classifier")
    rows = [
        {"size": int(size), "test": float(test[:, k].mean()), "test_std": float(test[:, k].std()),
         "train": float(train[:, k].mean()), "seconds": float(result["fit_seconds"][:, k].mean())}
        for k, size in enumerate(result["sizes"])
    ]
    index = render_page(
        "learning_curve.html", Path(out_dir), title="cvcaptcha learning curve",
        data_dir=str(data_dir), n=len(data), skipped=[(p.name, why) for p, why in data.skipped],
        images=images, rows=rows, n_test=result["n_test"], repeats=test.shape[0],
        recipe=[("segmenter", str(params.get("segmenter"))),
                ("features", str(params.get("features"))),
                ("classifier", classifier if isinstance(classifier, str)
                 else type(classifier).__name__)],
    )
    return index, result
