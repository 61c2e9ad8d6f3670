"""Scoring a fitted model on labelled captchas: accuracy and time per captcha."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .io import ImageLike


def evaluate(
    model: Any, images: Sequence[ImageLike], labels: Sequence[str]
) -> dict[str, float]:
    """Whole-captcha and character accuracy, and time per captcha.

    Parameters
    ----------
    model : CaptchaRecognizer
        Fitted (anything with ``check_labels`` and ``predict``).
    images, labels
        The captchas and their texts; a label the model cannot emit is refused.

    Returns
    -------
    dict
        ``n``, ``captcha_accuracy``, ``char_accuracy``, ``ms_per_captcha``.
    """
    labels = [str(label) for label in labels]
    model.check_labels(labels)
    start = time.perf_counter()
    predicted = model.predict(images)
    elapsed = time.perf_counter() - start
    chars = [a == b for p, t in zip(predicted, labels) for a, b in zip(p, t)]
    return {
        "n": len(labels),
        "captcha_accuracy": float(np.mean([p == t for p, t in zip(predicted, labels)])),
        "char_accuracy": float(np.mean(chars)),
        "ms_per_captcha": 1000.0 * elapsed / max(1, len(labels)),
    }
