"""Analysis reports: what the data looks like and how a model reads it, as HTML pages.

Three pages, each a self-contained ``index.html`` with its PNG figures under
``figures/`` of an output folder:

* :func:`write_report` evaluates a model on a labelled folder: dataset
  overview, headline figures, confusion matrix, most-misread characters,
  gallery of failures and the confidence/reject-threshold trade-off.
* :func:`write_inspection` checks a folder before anyone trains on it.
* :func:`write_learning_curve` retrains on growing shares of a folder to show
  whether more data would help.

The numbers are computed by plain functions (``describe_dataset``,
``analyse``, ``operating_points``, ``learning_curve``) so that they can be
tested and reused without drawing; :mod:`cvcaptcha.plots` draws them and
Jinja2 templates (autoescaped: labels come from file names and may hold
``<``, ``&`` or quotes) lay them out.
"""

from __future__ import annotations

import datetime as _dt
import html.parser
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from . import __version__, plots
from .errors import ConfigError, CvCaptchaError, LabelError
from .io import IMAGE_EXTENSIONS, Dataset, load_dataset

#: Sub-folder of the output folder holding the figures.
FIGURES = "figures"
#: ``<meta name="generator">`` content that marks a page as ours (safe to overwrite).
GENERATOR = "cvcaptcha"
#: Characters seen fewer times than this are flagged as too rare to learn well.
RARE_CHAR = 5
#: Captchas read per ``predict_details`` call: small enough for a live progress bar.
BATCH = 32


# -- output folder --------------------------------------------------------------
class PageScan(html.parser.HTMLParser):
    """Collects the ``src`` of every ``<img>`` and whether the generator meta tag is ours."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.ours = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img" and values.get("src"):
            self.sources.append(values["src"] or "")
        if tag == "meta" and values.get("name") == "generator":
            self.ours = (values.get("content") or "").startswith(GENERATOR)


def _parse_page(index: Path) -> PageScan:
    parser = PageScan()
    parser.feed(index.read_text(errors="replace"))
    return parser


def check_out_dir(out_dir: str | os.PathLike, force: bool = False) -> PageScan | None:
    """Refuse an output folder whose files cvcaptcha did not write, before any long work.

    Parameters
    ----------
    out_dir : path
        The output folder (need not exist).
    force : bool
        Accept a foreign ``index.html`` or a non-empty ``figures/`` anyway.

    Returns
    -------
    PageScan or None
        The page of ours already in the folder, if any.

    Raises
    ------
    CvCaptchaError
        ``out_dir`` is a file, or holds files not written by cvcaptcha.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CvCaptchaError(f"{out} exists and is not a folder")
    index = out / "index.html"
    figures = out / FIGURES
    page = _parse_page(index) if index.is_file() else None
    if page is not None and page.ours:
        return page
    if not force:
        if index.exists():
            raise CvCaptchaError(f"{index} was not written by cvcaptcha; use --force to overwrite")
        if figures.is_dir() and any(figures.iterdir()):
            raise CvCaptchaError(
                f"{figures} holds files not written by cvcaptcha; use --force to overwrite"
            )
    return None


def prepare_out_dir(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """Make ``out_dir/figures`` ready for a new page without clobbering user files.

    A folder holding a page this package wrote is reused: the figures that page
    referenced are deleted so none goes stale. Anything else is refused unless
    ``force`` (see :func:`check_out_dir`). Call it once the page's numbers are
    computed, so that a failed or interrupted run leaves the old page whole.

    Parameters
    ----------
    out_dir : path
        The output folder (created if missing).
    force : bool
        Overwrite a foreign ``index.html`` and figure files of the same names.

    Returns
    -------
    Path
        The figures folder.
    """
    out = Path(out_dir)
    page = check_out_dir(out, force)
    for src in page.sources if page is not None else []:
        old = out / src
        if src.startswith(f"{FIGURES}/") and ".." not in Path(src).parts and old.is_file():
            old.unlink()
    figures = out / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    return figures


def _render(template: str, out_dir: Path, **context: Any) -> Path:
    """Render a page template into ``out_dir/index.html`` with every value autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvcaptcha", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value, digits=1: f"{100 * value:.{digits}f}%"
    page = env.get_template(template).render(
        generator=f"{GENERATOR} {__version__}",
        created=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        figures=FIGURES,
        **context,
    )
    index = out_dir / "index.html"
    tmp = index.with_name(".index.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(index)
    return index


# -- dataset overview -----------------------------------------------------------
def _some(names: Sequence[str], shown: int = 5) -> str:
    """The first few names and how many more: a message stays one line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def describe_dataset(data: Dataset, samples: int = 24, seed: int = 0) -> dict[str, Any]:
    """Counts, sizes, label lengths, character frequencies and problems of a folder.

    Parameters
    ----------
    data : Dataset
        As loaded by ``load_dataset(folder, skip_bad=True)``; its ``skipped``
        files are reported as problems.
    samples : int
        How many captchas to pick (seeded) for the sample grid.
    seed : int
        Seed of that pick.

    Returns
    -------
    dict
        ``n``, ``skipped`` (name, reason), ``sizes`` and ``lengths`` ((value,
        count) most common first), ``alphabet``, ``char_counts`` (n_chars,),
        ``by_position`` (max length, n_chars), ``sample_index``, ``problems``
        (things that break training) and ``notes`` (things worth knowing).

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8)
    >>> d = describe_dataset(Dataset([img, img], ["ab", "ba"], [Path("ab.png"), Path("ba.png")]))
    >>> d["alphabet"], d["problems"]
    ('ab', [])
    """
    labels = data.labels
    alphabet = "".join(sorted(set("".join(labels))))
    index = {c: i for i, c in enumerate(alphabet)}
    lengths = Counter(len(label) for label in labels)
    by_position = np.zeros((max(lengths), len(alphabet)), dtype=int)
    for label in labels:
        for pos, char in enumerate(label):
            by_position[pos, index[char]] += 1
    sizes = Counter(f"{img.shape[1]}x{img.shape[0]}" for img in data.images)
    problems = [f"unreadable file {path.name}: {why}" for path, why in data.skipped]
    if len(lengths) > 1:
        common = lengths.most_common(1)[0][0]
        odd = [p.name for p, label in zip(data.paths, labels) if len(label) != common]
        problems.append(
            f"labels have mixed lengths (most are {common} long); the odd ones: {_some(odd)}"
        )
    if 0 in lengths:
        problems.append("a file name has an empty label")
    if len(alphabet) < 2:
        problems.append("the labels use fewer than two characters: nothing to learn")
    notes = []
    if len(sizes) > 1:
        notes.append(f"{len(sizes)} different image sizes; they are handled, but check they belong")
    rare = [c for c, count in zip(alphabet, by_position.sum(axis=0)) if count < RARE_CHAR]
    if rare:
        notes.append(
            f"characters seen fewer than {RARE_CHAR} times (hard to learn): {''.join(rare)}"
        )
    folded = Counter(label.lower() for label in labels)
    clashes = sorted(label for label, count in folded.items() if count > 1)
    if clashes:
        notes.append(
            f"{len(clashes)} label(s) occur more than once ignoring case or extension: "
            + _some(clashes)
        )
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(labels), min(samples, len(labels)), replace=False))
    return {
        "n": len(labels),
        "skipped": [(path.name, why) for path, why in data.skipped],
        "sizes": sizes.most_common(),
        "lengths": sorted(lengths.items()),
        "alphabet": alphabet,
        "char_counts": by_position.sum(axis=0),
        "by_position": by_position,
        "sample_index": [int(i) for i in pick],
        "problems": problems,
        "notes": notes,
    }


def _overview_figures(data: Dataset, overview: dict[str, Any], figures: Path) -> dict[str, str]:
    """Draw the overview figures; returns their paths relative to the page."""
    pick = overview["sample_index"]
    plots.sample_grid([data.images[i] for i in pick], [data.labels[i] for i in pick],
                      figures / "samples.png")
    plots.char_frequencies(overview["alphabet"], overview["char_counts"],
                           overview["by_position"], figures / "characters.png")
    return {"samples": f"{FIGURES}/samples.png", "characters": f"{FIGURES}/characters.png"}


def write_inspection(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
) -> tuple[dict[str, Any], Path | None]:
    """Check a labelled folder and, if ``out_dir`` is given, write its overview page.

    Unreadable files do not stop the check: they are reported as problems.

    Parameters
    ----------
    data_dir : path
        The labelled folder.
    out_dir : path, optional
        Where to write ``index.html`` and figures.
    force : bool
        See :func:`prepare_out_dir`.
    progress : bool
        Show a progress bar while loading.

    Returns
    -------
    overview : dict
        As :func:`describe_dataset` returns.
    index : Path or None
        The page written, if any.
    """
    data = load_dataset(data_dir, skip_bad=True, progress=progress)
    overview = describe_dataset(data)
    ignored = sorted(
        p.name for p in Path(data_dir).iterdir() if p.suffix.lower() not in IMAGE_EXTENSIONS
    )
    if ignored:
        overview["notes"].append(
            f"{len(ignored)} entry(ies) without an image extension ignored: {_some(ignored)}"
        )
    if out_dir is None:
        return overview, None
    figures = prepare_out_dir(out_dir, force)
    images = _overview_figures(data, overview, figures)
    index = _render(
        "inspect.html", Path(out_dir), title="cvcaptcha dataset check",
        data_dir=str(data_dir), overview=overview, images=images,
    )
    return overview, index


# -- model analysis -------------------------------------------------------------
def predict_all(
    model: Any, images: Sequence[np.ndarray], progress: bool = False
) -> tuple[list[Any], float]:
    """``model.predict_details`` over all images in small batches, and ms per captcha.

    Batches keep the progress bar moving and Ctrl-C responsive on large folders.

    Parameters
    ----------
    model : CaptchaRecognizer
        A fitted recognizer.
    images : sequence of ndarray
        Grey captchas.
    progress : bool
        Show a progress bar.

    Returns
    -------
    predictions : list of Prediction
    ms_per_captcha : float
        Reading time only (no loading or drawing).
    """
    from tqdm.auto import tqdm

    predictions: list[Any] = []
    elapsed = 0.0
    with tqdm(total=len(images), desc="reading", unit="img", disable=not progress,
              leave=False) as bar:
        for start in range(0, len(images), BATCH):
            batch = images[start:start + BATCH]
            tick = time.perf_counter()
            predictions.extend(model.predict_details(batch))
            elapsed += time.perf_counter() - tick
            bar.update(len(batch))
    return predictions, 1000.0 * elapsed / max(1, len(images))


def analyse(labels: Sequence[str], texts: Sequence[str], alphabet: str) -> dict[str, Any]:
    """Accuracy figures and the character confusion matrix of one evaluation.

    Parameters
    ----------
    labels : sequence of str
        True texts, all of the model's label length.
    texts : sequence of str
        What the model read.
    alphabet : str
        The characters the model can emit.

    Returns
    -------
    dict
        ``captcha_correct`` (n,) bool, ``char_correct`` (n, length) bool,
        ``captcha_accuracy``, ``char_accuracy``, ``position_accuracy``
        (length,), ``chars`` (rows/columns of the matrix: the model's alphabet
        plus any true character it cannot emit), ``confusion`` (counts) and
        ``confusion_norm`` (rows sum to one).

    Examples
    --------
    >>> a = analyse(["ab", "ba"], ["ab", "bb"], "ab")
    >>> a["captcha_accuracy"], a["confusion"].tolist()
    (0.5, [[1, 1], [0, 2]])
    """
    truth = np.array([list(label) for label in labels])
    read = np.array([list(text) for text in texts])
    char_correct = truth == read
    chars = "".join(sorted(set(alphabet) | set(truth.ravel())))
    index = {c: i for i, c in enumerate(chars)}
    confusion = np.zeros((len(chars), len(chars)), dtype=int)
    np.add.at(
        confusion,
        ([index[c] for c in truth.ravel()], [index[c] for c in read.ravel()]),
        1,
    )
    totals = confusion.sum(axis=1, keepdims=True)
    return {
        "captcha_correct": char_correct.all(axis=1),
        "char_correct": char_correct,
        "captcha_accuracy": float(char_correct.all(axis=1).mean()),
        "char_accuracy": float(char_correct.mean()),
        "position_accuracy": char_correct.mean(axis=0),
        "chars": chars,
        "confusion": confusion,
        "confusion_norm": confusion / np.maximum(totals, 1),
    }


def operating_points(
    confidence: Sequence[float], correct: Sequence[bool], targets: Sequence[float]
) -> dict[str, Any]:
    """Precision and coverage for every reject threshold, and the best one per target.

    A captcha is answered when its confidence is at least the threshold.
    Thresholds are the distinct confidences, highest first, so every possible
    answered set is considered.

    Parameters
    ----------
    confidence : sequence of float
        The model's confidence per captcha.
    correct : sequence of bool
        Whether each was read right.
    targets : sequence of float
        Wanted precisions (e.g. 0.99).

    Returns
    -------
    dict
        ``thresholds``, ``precision``, ``coverage`` (arrays, one entry per
        threshold) and ``points``: for each target, the lowest threshold whose
        answered captchas reach it (``threshold`` None when none does), with
        ``answered``, ``coverage`` and ``precision``.

    Examples
    --------
    >>> p = operating_points([0.9, 0.8, 0.3], [True, True, False], [0.99])
    >>> p["points"][0]["threshold"], p["points"][0]["answered"]
    (0.8, 2)
    """
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    answered = np.arange(1, len(conf) + 1)
    precision = np.cumsum(ok) / answered
    last_of_tie = np.append(conf[1:] != conf[:-1], True)  # a threshold answers the whole tie
    thresholds, precision, answered = conf[last_of_tie], precision[last_of_tie], answered[
        last_of_tie
    ]
    coverage = answered / max(1, len(conf))
    points = []
    for target in targets:
        reach = np.nonzero(precision >= target - 1e-12)[0]
        if len(reach):
            k = reach[-1]
            points.append({"target": target, "threshold": float(thresholds[k]),
                           "answered": int(answered[k]), "coverage": float(coverage[k]),
                           "precision": float(precision[k])})
        else:
            points.append({"target": target, "threshold": None, "answered": 0,
                           "coverage": 0.0, "precision": float("nan")})
    return {"thresholds": thresholds, "precision": precision, "coverage": coverage,
            "points": points}


@dataclass
class Evaluation:
    """The evaluable part of a folder and what the model read in it."""

    images: list[np.ndarray]
    labels: list[str]
    names: list[str]
    predictions: list[Any]


def _crop(image: np.ndarray, cut: np.ndarray) -> np.ndarray:
    x0, x1 = (int(v) for v in cut)
    return image[:, max(0, x0):max(x0 + 1, x1)]


def misread_characters(
    ev: Evaluation, stats: dict[str, Any], figures: Path, top: int, examples: int = 8
) -> list[dict[str, Any]]:
    """The ``top`` most-misread true characters with crop strips of misreads and right reads.

    Ranked by number of misreads, then by misread rate. Crops are the grey
    image columns of the model's own cuts, so a crop holding half a character
    blames segmentation and a clean one the classifier.

    Parameters
    ----------
    ev : Evaluation
        The evaluated captchas and their predictions.
    stats : dict
        :func:`analyse` of them.
    figures : Path
        Folder to write ``misread_NN.png`` into.
    top : int
        How many characters.
    examples : int
        Most misread crops per character (about half as many right ones).

    Returns
    -------
    list of dict
        ``char``, ``count``, ``misses``, ``rate``, ``readings`` (most common
        wrong readings with counts) and ``image`` (path relative to the page).
    """
    truth = np.array([list(label) for label in ev.labels])
    wrong = ~stats["char_correct"]
    rows = []
    for char in stats["chars"]:
        where = truth == char
        count = int(where.sum())
        misses = int((where & wrong).sum())
        if misses:
            rows.append((misses, misses / count, char, count))
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    out = []
    for rank, (misses, rate, char, count) in enumerate(rows[:top]):
        bad_crops, good_crops = [], []
        readings: Counter[str] = Counter()
        for i, j in zip(*np.nonzero(truth == char)):
            pred = ev.predictions[i]
            if wrong[i, j]:
                readings[pred.text[j]] += 1
                if len(bad_crops) < examples:
                    bad_crops.append((_crop(ev.images[i], pred.cuts[j]), pred.text[j]))
            elif len(good_crops) < examples // 2 + 2:
                good_crops.append(_crop(ev.images[i], pred.cuts[j]))
        name = f"misread_{rank:02d}.png"
        plots.crop_strip(bad_crops, good_crops, char, figures / name)
        out.append({"char": char, "count": count, "misses": misses, "rate": rate,
                    "readings": readings.most_common(4), "image": f"{FIGURES}/{name}"})
    return out


def failure_gallery(
    ev: Evaluation, stats: dict[str, Any], figures: Path, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` most confident failures, each drawn with its cuts.

    Confident failures come first because they are the ones a reject
    threshold cannot catch.

    Parameters
    ----------
    ev : Evaluation
        The evaluated captchas and their predictions.
    stats : dict
        :func:`analyse` of them.
    figures : Path
        Folder to write ``failure_NNN.png`` into.
    limit : int
        Most failures shown.

    Returns
    -------
    list of dict
        ``name``, ``truth``, ``text``, ``confidence``, ``image`` and ``chars``
        (per character: ``truth``, ``read``, ``confidence``, ``wrong``).
    """
    failed = np.nonzero(~stats["captcha_correct"])[0]
    failed = sorted(failed, key=lambda i: -ev.predictions[i].confidence)[:limit]
    out = []
    for rank, i in enumerate(failed):
        pred = ev.predictions[i]
        wrong = ~stats["char_correct"][i]
        name = f"failure_{rank:03d}.png"
        plots.draw_cuts(ev.images[i], pred.cuts, wrong, figures / name)
        out.append({
            "name": ev.names[i], "truth": ev.labels[i], "text": pred.text,
            "confidence": pred.confidence, "image": f"{FIGURES}/{name}",
            "chars": [
                {"truth": t, "read": r, "confidence": c, "wrong": bool(w)}
                for t, r, c, w in zip(ev.labels[i], pred.text, pred.char_confidences, wrong)
            ],
        })
    return out


def _model_facts(model: Any, model_path: Path) -> list[tuple[str, str]]:
    params = model.get_params(deep=False)
    classifier = params.get("classifier")
    name = classifier if isinstance(classifier, str) else type(model.classifier_).__name__
    facts = [
        ("model file", model_path.name),
        ("model size", f"{model_path.stat().st_size / 1024:.0f} KiB"),
        ("segmenter", str(params.get("segmenter"))),
        ("features", str(params.get("features"))),
        ("classifier", str(name)),
        ("label length", str(model.n_chars_)),
        ("alphabet", f"{model.alphabet_} ({len(model.alphabet_)} characters)"),
    ]
    summary = getattr(model, "fit_summary_", {}) or {}
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

    Unreadable files and labels of another length than the model reads are
    left out of the evaluation and listed on the page.

    Parameters
    ----------
    model_path : path
        A model file written by :func:`cvcaptcha.save_model`.
    data_dir : path
        Labelled folder to evaluate on.
    out_dir : path
        Where ``index.html`` and ``figures/`` go (see :func:`prepare_out_dir`).
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
        No captcha of the folder has the model's label length.
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
    keep = [i for i, label in enumerate(data.labels) if len(label) == model.n_chars_]
    if not keep:
        raise LabelError(f"no label in {data_dir} has the model's length of {model.n_chars_}")
    excluded = len(data) - len(keep)
    if excluded:
        overview["problems"].append(
            f"{excluded} captcha(s) with labels not {model.n_chars_} long were left out "
            "of the evaluation"
        )
    images = [data.images[i] for i in keep]
    predictions, ms = predict_all(model, images, progress)
    ev = Evaluation(images, [data.labels[i] for i in keep], [data.paths[i].name for i in keep],
                    predictions)
    stats = analyse(ev.labels, [p.text for p in predictions], model.alphabet_)
    confidence = [p.confidence for p in predictions]
    targets = sorted({0.9, 0.95, target, 0.999})
    curve = operating_points(confidence, stats["captcha_correct"], targets)
    chosen = next(p for p in curve["points"] if p["target"] == target)

    figures = prepare_out_dir(out_dir, force)
    images_html = _overview_figures(data, overview, figures)
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
    }
    n_failed = int((~stats["captcha_correct"]).sum())
    index = _render(
        "report.html", Path(out_dir), title="cvcaptcha model report",
        data_dir=str(data_dir), overview=overview, images=images_html, summary=summary,
        facts=_model_facts(model, model_path), stats=stats,
        misread=misread_characters(ev, stats, figures, top),
        failures=failure_gallery(ev, stats, figures, failures), n_failed=n_failed,
        points=curve["points"], target=target,
        mean_confidence=float(np.mean(confidence)),
    )
    return index, summary


# -- learning curve ---------------------------------------------------------------
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
        Output folder (see :func:`prepare_out_dir`).
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
    index = _render(
        "learning_curve.html", Path(out_dir), title="cvcaptcha learning curve",
        data_dir=str(data_dir), n=len(data), skipped=[(p.name, why) for p, why in data.skipped],
        images=images, rows=rows, n_test=result["n_test"], repeats=test.shape[0],
        recipe=[("segmenter", str(params.get("segmenter"))),
                ("features", str(params.get("features"))),
                ("classifier", classifier if isinstance(classifier, str)
                 else type(classifier).__name__)],
    )
    return index, result
