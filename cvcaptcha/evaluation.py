"""Scoring a fitted model on labelled captchas: accuracy and time per captcha."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .io import ImageLike


def evaluate(
    model: Any, images: Sequence[ImageLike], labels: Sequence[str]
) -> dict[str, Any]:
    """Whole-captcha and character accuracy, and time per captcha, overall and
    by label length.

    Parameters
    ----------
    model : CaptchaRecognizer
        Fitted (anything with ``check_labels`` and ``predict``).
    images, labels
        The captchas and their texts; a label the model cannot emit is refused.
        A model with ``ignore_case`` is scored against lower-cased labels.

    Returns
    -------
    dict
        ``n``, ``captcha_accuracy``, ``char_accuracy`` (a character missing
        from a read too short counts wrong), ``ms_per_captcha``,
        ``wrong_length`` (share of reads of another length than their label)
        and ``by_length`` (label length -> ``n``, ``captcha_accuracy``,
        ``wrong_length``).
    """
    labels = model.fold(labels) if hasattr(model, "fold") else [str(t) for t in labels]
    model.check_labels(labels)
    start = time.perf_counter()
    predicted = model.predict(images)
    elapsed = time.perf_counter() - start
    chars = [i < len(p) and p[i] == c for p, t in zip(predicted, labels) for i, c in enumerate(t)]
    right = np.array([p == t for p, t in zip(predicted, labels)])
    wrong_length = np.array([len(p) != len(t) for p, t in zip(predicted, labels)])
    lengths = np.array([len(t) for t in labels])
    return {
        "n": len(labels),
        "captcha_accuracy": float(np.mean(right)),
        "char_accuracy": float(np.mean(chars)),
        "ms_per_captcha": 1000.0 * elapsed / max(1, len(labels)),
        "wrong_length": float(np.mean(wrong_length)),
        "by_length": {
            int(n): {
                "n": int(np.sum(lengths == n)),
                "captcha_accuracy": float(np.mean(right[lengths == n])),
                "wrong_length": float(np.mean(wrong_length[lengths == n])),
            }
            for n in sorted(set(lengths.tolist()))
        },
    }
