"""How long repeated fits will take, estimated before they start.

Commands that train many recognizers (cross-validation, learning curves,
grid searches) can run for minutes or hours, and a progress bar's estimate
comes after the first fits. :func:`probe_fit` times fresh clones of the
recipe on two small seeded samples of the captchas and fits a line -- fixed
cost plus cost per captcha -- so :meth:`FitCost.seconds` can extrapolate to
every fit of the run at the price of a few small ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from .io import ImageLike

#: Captchas in the larger of the two probe fits.
PROBE_SIZE = 40


@dataclass(frozen=True)
class FitCost:
    """Seconds one fit takes: ``fixed + per_captcha * n`` for ``n`` training captchas."""

    fixed: float
    per_captcha: float

    def seconds(self, sizes: Iterable[int]) -> float:
        """Total seconds of one fit per entry of ``sizes`` (training captchas of each)."""
        return float(sum(self.fixed + self.per_captcha * n for n in sizes))


def probe_fit(
    estimator: Any,
    images: Sequence[ImageLike],
    labels: Sequence[str],
    size: int = PROBE_SIZE,
    seed: int = 0,
) -> FitCost:
    """Time fresh clones of ``estimator`` fitted on ``size`` and ``size // 2`` captchas.

    The larger fit runs first, so one-time costs of a process (compilation,
    imports) land on it and steepen the line: the estimate errs long, not
    short. A negative fixed cost (noise) is clipped to zero.

    Parameters
    ----------
    estimator : CaptchaRecognizer
        Unfitted recipe; never fitted itself.
    images, labels : sequences
        Captchas to draw the seeded samples from (at least 4).
    size : int
        Captchas of the larger probe fit (fewer if there are fewer).
    seed : int
        Seed of the sample.

    Returns
    -------
    FitCost
    """
    size = min(size, len(labels))
    order = np.random.default_rng(seed).permutation(len(labels))[:size]
    timings: list[tuple[int, float]] = []
    for n in (size, max(2, size // 2)):
        chosen = order[:n]
        start = time.perf_counter()
        clone(estimator).fit([images[i] for i in chosen], [labels[i] for i in chosen])
        timings.append((n, time.perf_counter() - start))
    (n1, t1), (n0, t0) = timings
    per_captcha = max(t1 - t0, 0.0) / (n1 - n0) if n1 > n0 else t1 / n1
    fixed = max(t0 - per_captcha * n0, 0.0)
    return FitCost(fixed, per_captcha)


def format_duration(seconds: float) -> str:
    """``about 40 s``, ``about 7 min``, ``about 2.5 h``: as exact as an estimate can be."""
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60):.0f} min"
    return f"about {seconds / 3600:.1f} h"
