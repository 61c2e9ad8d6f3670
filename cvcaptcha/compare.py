"""Comparing segmentation strategies under the same features and classifier.

:func:`compare_segmenters` trains one recognizer per registered strategy on
the same shuffled, seeded K folds and measures each on the held-out fold;
:func:`write_comparison` saves the table as CSV and Markdown and draws every
strategy's cuts over the same sample captchas.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from .errors import ConfigError, DatasetError
from .io import ImageLike, check_labels, read_image
from .recognizer import CaptchaRecognizer
from .segment import SEGMENTERS

#: Columns of every result row, in table order.
COLUMNS: tuple[str, ...] = (
    "strategy",
    "exact_count_rate",
    "char_accuracy",
    "captcha_accuracy",
    "ms_per_captcha",
)


@dataclass
class Comparison:
    """Result of :func:`compare_segmenters`.

    ``rows`` holds one dict per strategy with the keys of :data:`COLUMNS`.
    ``images`` and ``labels`` are the held-out captchas of the first fold, and
    ``cuts[strategy]`` / ``texts[strategy]`` what each strategy made of them,
    for drawing.
    """

    rows: list[dict[str, Any]]
    images: list[np.ndarray] = field(repr=False)
    labels: list[str] = field(repr=False)
    cuts: dict[str, list[np.ndarray]] = field(repr=False)
    texts: dict[str, list[str]] = field(repr=False)


def compare_segmenters(
    images: Sequence[ImageLike],
    labels: Sequence[str],
    cv: int = 5,
    classifier: Any = None,
    seed: int = 0,
    strategies: Sequence[str] | None = None,
    progress: bool = False,
    **params: Any,
) -> Comparison:
    """Cross-validate every segmentation strategy with one recipe.

    Parameters
    ----------
    images : sequence of arrays, paths or bytes
    labels : sequence of str
        Labels are unique strings, so folds come from a shuffled
        :class:`~sklearn.model_selection.KFold`, not a stratified one.
    cv : int
        Number of folds (at least 2).
    classifier : str or estimator, optional
        The character classifier every strategy shares; the recognizer's
        default when None.
    seed : int
        Seed of the fold shuffle.
    strategies : sequence of str, optional
        Names from :data:`cvcaptcha.segment.SEGMENTERS`; all by default.
    progress : bool
        Show a progress bar over strategies and folds.
    **params
        Further :class:`CaptchaRecognizer` parameters, shared by all.

    Returns
    -------
    Comparison
        ``exact_count_rate`` is the share of held-out captchas the strategy's
        own evidence split into exactly the label length before any forced
        split, merge or fallback (see :meth:`Segmenter.cut_status`; in a
        family of several lengths, also read at the label's length); it is
        NaN for equal width, whose count is imposed. ``exact_count_by_length``
        and ``captcha_accuracy_by_length`` give both by label length. Accuracies and
        milliseconds per captcha (prediction, all stages) are averaged over
        held-out captchas of all folds.

    Examples
    --------
    >>> from cvcaptcha.synth import generate  # doctest: +SKIP
    >>> result = compare_segmenters(images, labels, cv=3)  # doctest: +SKIP
    >>> [row["strategy"] for row in result.rows]  # doctest: +SKIP
    ['equal', 'projection', 'components', 'dp', 'lattice']
    """
    from tqdm.auto import tqdm

    names = list(strategies or SEGMENTERS)
    unknown = [n for n in names if n not in SEGMENTERS]
    if unknown:
        raise ConfigError(f"unknown segmenter(s) {unknown}; choose from {', '.join(SEGMENTERS)}")
    if cv < 2:
        raise ConfigError("cv must be at least 2")
    labels = [str(label) for label in labels]
    if len(images) != len(labels):
        raise DatasetError(f"{len(images)} images but {len(labels)} labels")
    if len(labels) < cv:
        raise DatasetError(f"{len(labels)} captchas cannot make {cv} folds")
    check_labels(labels, mixed=True)
    grays = [read_image(img) for img in images]
    folds = list(KFold(cv, shuffle=True, random_state=seed).split(np.arange(len(labels))))
    rows: list[dict[str, Any]] = []
    cuts: dict[str, list[np.ndarray]] = {}
    texts: dict[str, list[str]] = {}
    bar = tqdm(total=len(names) * cv, desc="compare", unit="fit", disable=not progress)
    for name in names:
        exact: list[float] = []
        chars: list[bool] = []
        whole: list[bool] = []
        lengths: list[int] = []
        seconds = 0.0
        for k, (train, test) in enumerate(folds):
            model = CaptchaRecognizer(segmenter=name, **params)
            if classifier is not None:
                model.set_params(classifier=classifier)
            model.fit([grays[i] for i in train], [labels[i] for i in train])
            held = [grays[i] for i in test]
            start = time.perf_counter()
            found = model.predict_details(held)
            seconds += time.perf_counter() - start
            for pred, i, (_, s) in zip(found, test, model.cut_status(held)):
                # exact: the strategy's own pieces, at the label's length
                right_length = len(pred.text) == len(labels[i])
                exact.append(math.nan if s is None else float(s and right_length))
                whole.append(pred.text == labels[i])
                chars += [k < len(pred.text) and pred.text[k] == c for k, c in enumerate(labels[i])]
                lengths.append(len(labels[i]))
            if k == 0:
                cuts[name] = [p.cuts for p in found]
                texts[name] = [p.text for p in found]
            bar.update()
        by = np.array(lengths)
        rows.append(
            {
                "strategy": name,
                "exact_count_rate": float(np.mean(exact)),
                "char_accuracy": float(np.mean(chars)),
                "captcha_accuracy": float(np.mean(whole)),
                "ms_per_captcha": 1000.0 * seconds / len(whole),
                "exact_count_by_length": {
                    int(n): float(np.mean(np.array(exact)[by == n])) for n in sorted(set(lengths))
                },
                "captcha_accuracy_by_length": {
                    int(n): float(np.mean(np.array(whole)[by == n])) for n in sorted(set(lengths))
                },
            }
        )
    bar.close()
    first = folds[0][1]
    return Comparison(
        rows, [grays[i] for i in first], [labels[i] for i in first], cuts, texts
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}" if value <= 1 else f"{value:.2f}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table (NaN shown as ``n/a``).

    Examples
    --------
    >>> print(format_table([{"strategy": "equal", "exact_count_rate": float("nan"),
    ...     "char_accuracy": 0.9, "captcha_accuracy": 0.5, "ms_per_captcha": 1.5}]))
    | strategy | exact_count_rate | char_accuracy | captcha_accuracy | ms_per_captcha |
    |---|---|---|---|---|
    | equal | n/a | 0.9000 | 0.5000 | 1.50 |
    """
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def format_by_length(rows: Sequence[dict[str, Any]]) -> str:
    """Exact-count rate and captcha accuracy by label length as a Markdown
    table ("" for a family of one length).

    Examples
    --------
    >>> print(format_by_length([{"strategy": "dp", "exact_count_by_length": {4: 0.5, 5: 1.0},
    ...     "captcha_accuracy_by_length": {4: 0.25, 5: 0.75}}]))
    | strategy | 4: exact / accuracy | 5: exact / accuracy |
    |---|---|---|
    | dp | 0.5000 / 0.2500 | 1.0000 / 0.7500 |
    """
    lengths = sorted({n for row in rows for n in row["exact_count_by_length"]})
    if len(lengths) < 2:
        return ""
    lines = ["| strategy | " + " | ".join(f"{n}: exact / accuracy" for n in lengths) + " |",
             "|" + "---|" * (len(lengths) + 1)]
    lines += [
        f"| {row['strategy']} | " + " | ".join(
            f"{_cell(row['exact_count_by_length'][n])} / "
            f"{_cell(row['captcha_accuracy_by_length'][n])}" for n in lengths
        ) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def pick_samples(comparison: Comparison, count: int) -> list[int]:
    """Indices of sample captchas: those the best strategy misreads first, then others.

    The best strategy is the one with the highest captcha accuracy.
    """
    best = max(comparison.rows, key=lambda r: r["captcha_accuracy"])["strategy"]
    wrong = [i for i, t in enumerate(comparison.texts[best]) if t != comparison.labels[i]]
    right = [i for i in range(len(comparison.labels)) if i not in set(wrong)]
    half = max(1, count // 2)
    chosen = wrong[:half]
    return chosen + right[: count - len(chosen)]


def draw_cuts(comparison: Comparison, indices: Sequence[int], path: Path) -> Path:
    """One figure: a row per sample captcha, a column per strategy, cuts overlaid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["strategy"] for row in comparison.rows]
    fig, axes = plt.subplots(
        len(indices), len(names), figsize=(2.6 * len(names), 1.0 * len(indices) + 0.6),
        squeeze=False,
    )
    for r, i in enumerate(indices):
        for c, name in enumerate(names):
            ax = axes[r, c]
            ax.imshow(comparison.images[i], cmap="gray", vmin=0, vmax=255)
            for j, (x0, x1) in enumerate(comparison.cuts[name][i]):
                ax.axvspan(x0, x1, color=("tab:blue", "tab:orange")[j % 2], alpha=0.2)
                ax.axvline(x0, color="tab:red", lw=0.8)
                ax.axvline(x1, color="tab:red", lw=0.8, ls=":")
            text = comparison.texts[name][i]
            ok = text == comparison.labels[i]
            ax.set_title(f"{name}: {text}", fontsize=7, color="black" if ok else "red")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(comparison.labels[i], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_comparison(
    comparison: Comparison, out_dir: str | os.PathLike, n_samples: int = 8
) -> list[Path]:
    """Write ``results.csv``, ``results.md`` and ``cuts.png`` into ``out_dir``.

    The figure shows every strategy's cuts on the same held-out captchas,
    half of them ones the most accurate strategy reads wrong (when there are
    any), titled with each strategy's reading (red when wrong).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / "results.csv", out / "results.md"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({c: row[c] for c in COLUMNS} for row in comparison.rows)
    by_length = format_by_length(comparison.rows)
    md_path.write_text(format_table(comparison.rows) + "\n" + (
        f"\nBy label length:\n\n{by_length}\n" if by_length else ""
    ))
    indices = pick_samples(comparison, min(n_samples, len(comparison.labels)))
    return [csv_path, md_path, draw_cuts(comparison, indices, out / "cuts.png")]
