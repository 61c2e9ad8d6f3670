"""The choice of ``segmenter="auto"``: try each strategy on held-out captchas.

Which strategy reads a family best depends on how it is drawn (touching
glyphs at a steady pitch favour ``window``, well separated glyphs at an
irregular pitch ``components``), and that is a fact of the data: so each
candidate is trained on a seeded part of the training set and judged by the
share of the rest it reads exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

#: Strategies ``segmenter="auto"`` chooses from, the first winning ties.
AUTO_SEGMENTERS: tuple[str, ...] = ("window", "components")
#: Most training and validation captchas the choice uses.
AUTO_SIZES: tuple[int, int] = (200, 150)

#: ``trial(name, train, val)``: the texts read in captchas ``val`` by strategy
#: ``name`` trained on captchas ``train`` (indices into the training set).
Trial = Callable[[str, np.ndarray, np.ndarray], list[str]]


def trial_split(
    n: int, random_state: int, sizes: tuple[int, int] = AUTO_SIZES
) -> tuple[np.ndarray, np.ndarray] | None:
    """Seeded training and validation indices for the trials: at most
    ``sizes[1]`` to validate (a quarter of a small set), at most ``sizes[0]``
    of the rest to train; None when the set is too small to hold any out.

    Examples
    --------
    >>> train, val = trial_split(20, 0)
    >>> len(train), len(val), len(set(train) | set(val))
    (15, 5, 20)
    >>> trial_split(3, 0) is None
    True
    """
    order = np.random.default_rng(random_state).permutation(n)
    n_val = min(sizes[1], n // 4)
    if n_val == 0:
        return None
    return order[n_val:][: sizes[0]], order[:n_val]


def auto_scores(
    labels: Sequence[str], trial: Trial, random_state: int,
    candidates: Sequence[str] = AUTO_SEGMENTERS, sizes: tuple[int, int] = AUTO_SIZES,
    progress: Callable[[Sequence[str]], Iterable[str]] = iter,
) -> dict[str, float]:
    """Held-out captcha accuracy of each candidate strategy (NaN for the first
    alone when the set is too small to hold captchas out); the recognizer keeps
    the best, the first winning ties. ``progress`` wraps the candidates (a
    progress bar)."""
    split = trial_split(len(labels), random_state, sizes)
    if split is None:
        return {candidates[0]: float("nan")}
    train, val = split
    scores = {}
    for name in progress(candidates):
        texts = trial(name, train, val)
        scores[name] = float(np.mean([t == labels[i] for t, i in zip(texts, val)]))
    return scores
