"""The model report: how a model reads a labelled folder, as one HTML page.

:func:`write_report` evaluates a model on a labelled folder and writes a
self-contained ``index.html`` with its PNG figures under ``figures/``: dataset
overview, headline figures, confusion matrix, most-misread characters, gallery
of failures and the confidence/reject-threshold trade-off.

This module is the one the CLI loads for its HTML verbs (an ImportError here
names the missing ``report`` extra), so it also re-exports the other pages'
writers, :func:`write_inspection` and :func:`write_learning_curve`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import plots
from .analysis import (
    Evaluation,
    analyse,
    failure_gallery,
    misread_characters,
    operating_points,
    predict_all,
)
from .errors import ConfigError, LabelError
from .inspection import describe_dataset, overview_figures, write_inspection
from .io import load_dataset
from .learning_curve import write_learning_curve
from .outdir import FIGURES, check_out_dir, prepare_out_dir
from .pages import render_page

__all__ = ["write_inspection", "write_learning_curve", "write_report"]


def _segmenter_facts(params: dict[str, Any], summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The segmentation strategy the model uses and, when ``segmenter="auto"`` chose it,
    the held-out captcha (and character) accuracy of every candidate, best first."""
    return _auto_facts("segmenter", params, summary, "auto_captcha_accuracy", "auto_char_accuracy")


def _features_facts(params: dict[str, Any], summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The reader input the model uses and, when ``features="auto"`` chose it, the trials."""
    return _auto_facts(
        "features", params, summary, "auto_features_captcha_accuracy",
        "auto_features_char_accuracy",
    )


def _clean_facts(params: dict[str, Any], summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The front end's cleaner and, when ``clean="auto"`` chose it, the trials."""
    if "clean" not in summary:  # a model fitted before the front end had cleaners
        summary = {**summary, "clean": "none"}
    return _auto_facts(
        "clean", params, summary, "auto_clean_captcha_accuracy", "auto_clean_char_accuracy"
    )


def _auto_facts(
    param: str, params: dict[str, Any], summary: dict[str, Any], captcha_key: str, char_key: str
) -> list[tuple[str, str]]:
    """What ``param`` the model uses and, when ``auto`` chose it, every candidate's
    held-out captcha (and character) accuracy, best first."""
    used = str(summary.get(param, params.get(param)))
    scores = summary.get(captcha_key)
    chars = summary.get(char_key) or {}
    if params.get(param) != "auto" or not scores:
        return [(param, used)]
    ranked = sorted(scores, key=lambda n: (np.nan_to_num(-chars.get(n, 0.0), nan=np.inf),
                                           np.nan_to_num(-scores[n], nan=np.inf)))
    trials = ", ".join(
        f"{name} not measured" if np.isnan(scores[name]) else f"{name} {100 * scores[name]:.1f}%"
        + (f" (char {100 * chars[name]:.1f}%)" if name in chars else "")
        for name in ranked
    )
    return [(param, f"{used} (chosen by auto)"),
            (f"{param} trials", f"{trials} (held-out captcha accuracy)")]


def _model_facts(model: Any, model_path: Path) -> list[tuple[str, str]]:
    """Name, size and recipe of a fitted model, as (what, value) rows of the page."""
    params = model.get_params(deep=False)
    classifier = params.get("classifier")
    name = classifier if isinstance(classifier, str) else type(model.classifier_).__name__
    summary = getattr(model, "fit_summary_", {}) or {}
    facts = [
        ("model file", model_path.name),
        ("model size", f"{model_path.stat().st_size / 1024:.0f} KiB"),
        *_segmenter_facts(params, summary),
        *_features_facts(params, summary),
        *_clean_facts(params, summary),
        ("classifier", str(name)),
        ("label length", ", ".join(map(str, model.lengths_))),
        ("alphabet", f"{model.alphabet_} ({len(model.alphabet_)} characters)"),
    ]
    if "n_images" in summary:
        facts.append(("trained on", f"{summary['n_images']} captchas"))
    return facts


def write_report(
    model_path: str | os.PathLike,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    force: bool = False,
    failures: int = 24,
    top: int = 8,
    target: float = 0.99,
    progress: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Evaluate a model on a labelled folder and write the analysis page.

    Unreadable files and labels of a length the model does not read are
    left out of the evaluation and listed on the page; a family of several
    lengths gets its accuracy by length.

    Parameters
    ----------
    model_path : path
        A model file written by :func:`cvcaptcha.save_model`.
    data_dir : path
        Labelled folder to evaluate on.
    out_dir : path
        Where ``index.html`` and ``figures/`` go (see :func:`~cvcaptcha.outdir.prepare_out_dir`).
    force : bool
        Overwrite files cvcaptcha did not write.
    failures : int
        Most failures shown in the gallery.
    top : int
        How many most-misread characters to show.
    target : float
        The precision the confidence section reports a threshold for.
    progress : bool
        Show progress bars.

    Returns
    -------
    index : Path
        The page.
    summary : dict
        ``n``, ``captcha_accuracy``, ``char_accuracy``, ``ms_per_captcha``,
        ``model_bytes`` and the operating point at ``target``.

    Raises
    ------
    LabelError
        No captcha of the folder has a label length the model reads.
    """
    from .persist import load_model

    if not 0.0 < target < 1.0:
        raise ConfigError(f"target precision must be between 0 and 1, not {target}")
    if failures < 0 or top < 0:
        raise ConfigError("the numbers of failures and characters shown cannot be negative")
    model_path = Path(model_path)
    model = load_model(model_path).set_params(verbose=False)  # our own bar shows progress
    check_out_dir(out_dir, force)
    data = load_dataset(data_dir, skip_bad=True, progress=progress)
    overview = describe_dataset(data)
    lengths = tuple(model.lengths_)
    shown = ", ".join(map(str, lengths))
    keep = [i for i, label in enumerate(data.labels) if len(label) in lengths]
    if not keep:
        raise LabelError(f"no label in {data_dir} has a length the model reads ({shown})")
    excluded = len(data) - len(keep)
    if excluded:
        overview["problems"].append(
            f"{excluded} captcha(s) with labels not {shown} long were left out "
            "of the evaluation"
        )
    images = [data.images[i] for i in keep]
    predictions, ms = predict_all(model, images, progress)
    ev = Evaluation(images, model.fold([data.labels[i] for i in keep]),
                    [data.paths[i].name for i in keep],
                    predictions)
    stats = analyse(ev.labels, [p.text for p in predictions], model.alphabet_)
    confidence = [p.confidence for p in predictions]
    targets = sorted({0.9, 0.95, target, 0.999})
    curve = operating_points(confidence, stats["captcha_correct"], targets)
    chosen = next(p for p in curve["points"] if p["target"] == target)

    figures = prepare_out_dir(out_dir, force)
    images_html = overview_figures(data, overview, figures)
    plots.position_accuracy(stats["position_accuracy"], figures / "positions.png")
    plots.confusion_matrix(stats["confusion_norm"], stats["chars"], figures / "confusion.png")
    plots.confidence_curves(curve["thresholds"], curve["precision"], curve["coverage"],
                            target, chosen["threshold"], figures / "confidence.png")
    images_html.update(positions=f"{FIGURES}/positions.png",
                       confusion=f"{FIGURES}/confusion.png",
                       confidence=f"{FIGURES}/confidence.png")
    summary = {
        "n": len(keep),
        "captcha_accuracy": stats["captcha_accuracy"],
        "char_accuracy": stats["char_accuracy"],
        "ms_per_captcha": ms,
        "model_bytes": model_path.stat().st_size,
        "target": chosen,
        "wrong_length": stats["wrong_length"],
        "by_length": stats["by_length"],
    }
    n_failed = int((~stats["captcha_correct"]).sum())
    index = render_page(
        "report.html", Path(out_dir), title="cvcaptcha model report",
        data_dir=str(data_dir), overview=overview, images=images_html, summary=summary,
        facts=_model_facts(model, model_path), stats=stats,
        misread=misread_characters(ev, stats, figures, top),
        failures=failure_gallery(ev, stats, figures, failures), n_failed=n_failed,
        points=curve["points"], target=target,
        mean_confidence=float(np.mean(confidence)),
    )
    return index, summary
