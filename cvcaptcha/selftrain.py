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
    cross_fit: bool = False,
) -> tuple[np.ndarray, list[str], list[Round]]:
    """Rounds of self-training; returns the unlabelled captchas to train on
    (indices), their texts, and what each round did.

    Each round trains on the labelled captchas but a seeded ``held_out``
    share (and on the unlabelled captchas the previous round kept), chooses
    its threshold on the held-out ones (:func:`choose_threshold`) and keeps
    every unlabelled captcha it reads at least that surely. With
    ``cross_fit``, rounds after the first train two models, each on the
    captchas kept from one seeded half of the unlabelled ones, and each reads
    the other half: no model re-reads a captcha it was trained on with its
    own earlier read, so a wrong read is not confirmed by having been learned.
    """
    rng = np.random.default_rng(random_state)
    order = rng.permutation(n_labelled)
    half = rng.permutation(n_unlabelled) % 2
    n_held = min(max(int(round(held_out * n_labelled)), 1), n_labelled - 1)
    held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
    everyone = np.arange(n_unlabelled)
    kept, texts = np.empty(0, int), []
    done: list[Round] = []
    for r in range(1, rounds + 1):
        trained_on = len(train) + len(kept)
        if cross_fit and len(kept):
            parts = [(everyone[half == h], half[kept] != h) for h in (0, 1)]
        else:
            parts = [(everyone, np.ones(len(kept), bool))]
        sure_reads: dict[int, str] = {}
        stats = []
        for group, use in parts:
            model = fit(train, kept[use], [t for t, u in zip(texts, use) if u])
            held_texts, held_conf = read(model, held, np.empty(0, int))
            correct = np.array([t == labels[i] for t, i in zip(held_texts, held)])
            threshold = choose_threshold(held_conf, correct, precision)
            read_texts, read_conf = read(model, np.empty(0, int), group)
            sure_reads.update(
                (int(i), t) for i, t, c in zip(group, read_texts, read_conf) if c >= threshold
            )
            above = held_conf >= threshold
            stats.append((
                threshold, float(correct[above].mean()) if above.any() else float("nan"),
                float(above.mean()),
            ))
        kept = np.array(sorted(sure_reads), int)
        texts = [sure_reads[i] for i in kept.tolist()]
        threshold, held_precision, held_kept = (float(np.mean(v)) for v in zip(*stats))
        done.append(Round(r, trained_on, threshold, held_precision, held_kept, int(len(kept))))
        if progress is not None:
            progress(f"self-training round {r}: threshold {threshold:.3f}, "
                     f"{len(kept)} of {n_unlabelled} unlabelled captchas kept")
    return kept, texts, done


def summary(rounds: list[Round]) -> list[dict[str, float]]:
    """The rounds as plain dicts (for ``fit_summary_``)."""
    return [asdict(r) for r in rounds]
