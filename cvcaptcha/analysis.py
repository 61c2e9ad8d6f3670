"""How a model reads a labelled folder: accuracy, confusions, confidence, worst cases.

The numbers come from plain functions (:func:`analyse`,
:func:`operating_points`) that can be tested and reused without drawing;
:func:`misread_characters` and :func:`failure_gallery` also draw the crops
and cuts that show *why* a captcha was misread.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import plots
from .outdir import FIGURES

#: Captchas read per ``predict_details`` call: small enough for a live progress bar.
BATCH = 32


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
        True texts (of one length or several).
    texts : sequence of str
        What the model read.
    alphabet : str
        The characters the model can emit.

    Returns
    -------
    dict
        ``captcha_correct`` (n,) bool, ``char_correct`` (n, longest label)
        bool (False past a label's end, and where the read is too short),
        ``captcha_accuracy``, ``char_accuracy``, ``position_accuracy``
        (longest label,), ``chars`` (rows/columns of the matrix: the model's
        alphabet plus any true character it cannot emit), ``confusion``
        (counts, of the reads of the label's length) and ``confusion_norm``
        (rows sum to one), ``wrong_length`` (share of reads of another length
        than their label) and ``by_length`` (label length -> ``n``,
        ``captcha_accuracy``, ``wrong_length``).

    Examples
    --------
    >>> a = analyse(["ab", "ba"], ["ab", "bb"], "ab")
    >>> a["captcha_accuracy"], a["confusion"].tolist()
    (0.5, [[1, 1], [0, 2]])
    """
    truth = padded(labels)
    read = padded(texts, truth.shape[1])
    valid = truth != PAD
    char_correct = (truth == read) & valid
    captcha_correct = np.array([t == label for t, label in zip(texts, labels)])
    same = np.array([len(t) == len(label) for t, label in zip(texts, labels)])
    lengths = np.array([len(label) for label in labels])
    chars = "".join(sorted(set(alphabet) | set(truth[valid])))
    index = {c: i for i, c in enumerate(chars)}
    confusion = np.zeros((len(chars), len(chars)), dtype=int)
    aligned = valid & same[:, None]
    np.add.at(
        confusion,
        ([index[c] for c in truth[aligned]], [index[c] for c in read[aligned]]),
        1,
    )
    totals = confusion.sum(axis=1, keepdims=True)
    return {
        "captcha_correct": captcha_correct,
        "char_correct": char_correct,
        "captcha_accuracy": float(captcha_correct.mean()),
        "char_accuracy": float(char_correct.sum() / valid.sum()),
        "position_accuracy": char_correct.sum(axis=0) / np.maximum(valid.sum(axis=0), 1),
        "chars": chars,
        "confusion": confusion,
        "confusion_norm": confusion / np.maximum(totals, 1),
        "wrong_length": float(np.mean(~same)),
        "by_length": {
            int(n): {
                "n": int(np.sum(lengths == n)),
                "captcha_accuracy": float(captcha_correct[lengths == n].mean()),
                "wrong_length": float(np.mean(~same[lengths == n])),
            }
            for n in sorted(set(lengths.tolist()))
        },
    }


#: Fills texts shorter than the longest label in :func:`padded`.
PAD = "\uffff"  # a noncharacter: never in a label (numpy drops a trailing "\\0")


def padded(texts: Sequence[str], width: int | None = None) -> np.ndarray:
    """Texts as a character array, one row each, cut or padded with
    :data:`PAD` to ``width`` (default: the longest text).

    Examples
    --------
    >>> padded(["ab", "abc"]).tolist() == [["a", "b", PAD], ["a", "b", "c"]]
    True
    """
    width = max(map(len, texts), default=0) if width is None else width
    return np.array([list(t[:width].ljust(width, PAD)) for t in texts]).reshape(len(texts), width)


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
    truth = padded(ev.labels)
    wrong = ~stats["char_correct"] & (truth != PAD)
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
            if j >= len(pred.text):  # a read too short has no crop here
                continue
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
        wrong = ~stats["char_correct"][i][:len(pred.text)]
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
