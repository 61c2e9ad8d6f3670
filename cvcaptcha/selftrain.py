"""Self-training: learn from unlabelled captchas by the model's own sure reads.

A model trained on a few hundred labels already reads many captchas surely and
rightly. Self-training reads the unlabelled captchas, takes those read at
least as surely as a threshold as if they were labelled, and trains again,
in rounds: each round's model is better, so it reads more captchas surely, and
every round re-reads all of them (a wrong early read is not kept for good).

The threshold is chosen on labelled captchas held out of the round's training
(:func:`choose_threshold`): the lowest confidence above which the held-out
reads are right at least ``precision`` of the time, never on test data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: ``fit(labelled, pseudo, texts)``: a model trained on the labelled captchas
#: ``labelled`` (indices) and the unlabelled captchas ``pseudo`` read as ``texts``.
Fit = Callable[[np.ndarray, np.ndarray, list[str]], object]
#: ``read(model, labelled, unlabelled)``: texts and confidences of those captchas.
Read = Callable[[object, np.ndarray, np.ndarray], tuple[list[str], np.ndarray]]


@dataclass
class Round:
    """What one round of self-training did."""

    round: int
    trained_on: int
    threshold: float
    held_out_precision: float
    held_out_kept: float
    added: int


def choose_threshold(
    confidences: np.ndarray, correct: np.ndarray, precision: float, floor: float = 0.0
) -> float:
    """The lowest confidence (at least ``floor``) above which at least
    ``precision`` of the held-out reads are right; 1.0 (nothing sure enough)
    when no confidence qualifies.

    Examples
    --------
    >>> conf = np.array([0.99, 0.95, 0.9, 0.8, 0.6])
    >>> choose_threshold(conf, np.array([1, 1, 1, 0, 1]), 0.95)
    0.9
    >>> choose_threshold(conf, np.array([0, 1, 1, 1, 1]), 0.95)
    1.0
    """
    order = np.argsort(-confidences, kind="stable")
    conf, right = confidences[order], np.asarray(correct, float)[order]
    kept_precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    # a cut between two reads of the same confidence is no cut: keep whole ties only
    last_of_tie = np.append(conf[1:] != conf[:-1], True)
    ok = (kept_precision >= precision) & last_of_tie & (conf >= floor)
    return float(conf[np.flatnonzero(ok)[-1]]) if ok.any() else 1.0


def self_train(
    n_labelled: int, n_unlabelled: int, labels: Sequence[str], fit: Fit, read: Read,
    rounds: int = 3, precision: float = 0.95, held_out: float = 0.25,
    random_state: int = 0, progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, list[str], list[Round]]:
    """Rounds of self-training; returns the unlabelled captchas to train on
    (indices), their texts, and what each round did.

    Each round trains on the labelled captchas but a seeded ``held_out``
    share (and on the unlabelled captchas the previous round kept), chooses
    its threshold on the held-out ones (:func:`choose_threshold`) and keeps
    every unlabelled captcha it reads at least that surely.
    """
    order = np.random.default_rng(random_state).permutation(n_labelled)
    n_held = min(max(int(round(held_out * n_labelled)), 1), n_labelled - 1)
    held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
    everyone = np.arange(n_unlabelled)
    kept, texts = np.empty(0, int), []
    done: list[Round] = []
    for r in range(1, rounds + 1):
        trained_on = len(train) + len(kept)
        model = fit(train, kept, texts)
        held_texts, held_conf = read(model, held, np.empty(0, int))
        correct = np.array([t == labels[i] for t, i in zip(held_texts, held)])
        threshold = choose_threshold(held_conf, correct, precision)
        read_texts, read_conf = read(model, np.empty(0, int), everyone)
        sure = read_conf >= threshold
        kept, texts = everyone[sure], [t for t, s in zip(read_texts, sure) if s]
        above = held_conf >= threshold
        done.append(Round(
            r, trained_on, threshold,
            float(correct[above].mean()) if above.any() else float("nan"),
            float(above.mean()), int(len(kept)),
        ))
        if progress is not None:
            progress(f"self-training round {r}: threshold {threshold:.3f}, "
                     f"{len(kept)} of {n_unlabelled} unlabelled captchas kept")
    return kept, texts, done


def summary(rounds: list[Round]) -> list[dict[str, float]]:
    """The rounds as plain dicts (for ``fit_summary_``)."""
    return [asdict(r) for r in rounds]
