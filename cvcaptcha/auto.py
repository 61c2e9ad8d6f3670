"""The choice of ``segmenter="auto"``: try each strategy on held-out captchas.

Which strategy reads a family best depends on how it is drawn (touching
glyphs at a steady pitch favour ``window``, well separated glyphs at an
irregular pitch ``components``), and that is a fact of the data: so each
candidate is trained on a seeded part of the training set and judged on the
rest: by the share of their characters it reads right, which a few hundred
captchas measure far more surely than the share read whole (two strategies
that each read one or two of 150 captchas whole can differ twofold in the
characters they read), then by that share.
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
) -> dict[str, dict[str, float]]:
    """Held-out ``"captcha"`` and ``"char"`` accuracy of each candidate
    strategy (NaN for the first alone when the set is too small to hold
    captchas out); :func:`best` picks one. ``progress`` wraps the candidates
    (a progress bar)."""
    split = trial_split(len(labels), random_state, sizes)
    if split is None:
        return {candidates[0]: {"captcha": float("nan"), "char": float("nan")}}
    train, val = split
    scores = {}
    for name in progress(candidates):
        texts = trial(name, train, val)
        truth = [labels[i] for i in val]
        chars = [k < len(t) and t[k] == c for t, label in zip(texts, truth)
                 for k, c in enumerate(label)]
        scores[name] = {
            "captcha": float(np.mean([t == label for t, label in zip(texts, truth)])),
            "char": float(np.mean(chars)),
        }
    return scores


def best(scores: dict[str, dict[str, float]]) -> str:
    """The candidate reading the most held-out characters, then captchas;
    the first winning ties (NaN scores lose).

    Examples
    --------
    >>> best({"window": {"captcha": 0.0, "char": 0.38},
    ...       "components": {"captcha": 0.01, "char": 0.20}})
    'window'
    """
    def key(name: str) -> tuple[float, float]:
        s = scores[name]
        return (np.nan_to_num(s["char"], nan=-1.0), np.nan_to_num(s["captcha"], nan=-1.0))

    return max(scores, key=key)
