"""Self-training: learn from unlabelled captchas by the model's own sure reads.

A model trained on a few hundred labels already reads many captchas surely and
rightly. Self-training reads the unlabelled captchas, takes those read at
least as surely as a threshold as if they were labelled, and trains again,
in rounds: each round's model is better, so it reads more captchas surely, and
every round re-reads all of them (a wrong early read is not kept for good).

The threshold is chosen on labelled captchas held out of a model's training
(:func:`choose_threshold`): the lowest confidence above which the held-out
reads are right at least ``precision`` of the time, never on test data. The
unlabelled captchas are then read by a second model that learned from every
label too: with a few hundred labels, a quarter of them held out reads
markedly worse, and its reads would be all the next round learns from.

The captchas read surely whole are the easy ones; a model learns little more
from them. So each round also keeps, from every other unlabelled captcha, the
characters read at least as surely as a second threshold (chosen the same way
on the held-out characters, at ``char_precision``): hard captchas' sure
characters teach the reader, though the captcha as a whole is not trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class Intake:
    """What a round takes from the unlabelled captchas: those read surely
    whole (``kept``, indices, read as ``texts``), and the sure characters of
    others (``partial``, indices; ``sure``, one boolean array per captcha over
    its read ``partial_texts``; ``partial_cuts``, the cuts it was read at)."""

    kept: np.ndarray
    texts: list[str]
    partial: np.ndarray
    partial_texts: list[str]
    sure: list[np.ndarray]
    partial_cuts: list[Any]

    @classmethod
    def whole(cls, kept: np.ndarray, texts: list[str]) -> Intake:
        """Captchas kept whole, and no characters of others."""
        return cls(kept, texts, np.empty(0, int), [], [], [])

    @property
    def n_chars(self) -> int:
        """Characters taken from captchas not kept whole."""
        return int(sum(int(m.sum()) for m in self.sure))


#: ``fit(labelled, intake)``: a model trained on the labelled captchas
#: ``labelled`` (indices) and what ``intake`` takes from the unlabelled ones.
Fit = Callable[[np.ndarray, Intake], object]
#: ``read(model, labelled, unlabelled)``: texts, confidences, each
#: character's confidence (one array per captcha) and cuts of those captchas.
Read = Callable[
    [object, np.ndarray, np.ndarray], tuple[list[str], np.ndarray, list[np.ndarray], list[Any]]
]


@dataclass
class Round:
    """What one round of self-training did."""

    round: int
    trained_on: int
    threshold: float
    held_out_precision: float
    held_out_kept: float
    added: int
    char_threshold: float = float("nan")
    chars_added: int = 0


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
    char_precision: float | None = 0.97,
) -> tuple[Intake, list[Round]]:
    """Rounds of self-training; returns what the last round takes from the
    unlabelled captchas (:class:`Intake`) and what each round did.

    Each round trains on the labelled captchas but a seeded ``held_out``
    share (and on what the previous round took) and chooses its thresholds on
    the held-out ones (:func:`choose_threshold`); a second model, trained on
    every label (and the same intake), reads the unlabelled captchas: those
    read at least that surely are kept, and, unless ``char_precision`` is
    None, the sure characters of the others.
    """
    order = np.random.default_rng(random_state).permutation(n_labelled)
    n_held = min(max(int(round(held_out * n_labelled)), 1), n_labelled - 1)
    held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
    everyone = np.arange(n_unlabelled)
    intake = Intake.whole(np.empty(0, int), [])
    done: list[Round] = []
    for r in range(1, rounds + 1):
        trained_on = len(train) + len(intake.kept)
        model = fit(train, intake)
        held_texts, held_conf, held_chars, _ = read(model, held, np.empty(0, int))
        correct = np.array([t == labels[i] for t, i in zip(held_texts, held)])
        threshold = choose_threshold(held_conf, correct, precision)
        # the thresholds come from a model that did not see the held-out labels; the
        # reads from one that learned from every label, as the final model will
        reader = fit(np.arange(n_labelled), intake)
        read_texts, read_conf, read_chars, read_cuts = read(reader, np.empty(0, int), everyone)
        sure = read_conf >= threshold
        intake = Intake.whole(everyone[sure], [t for t, s in zip(read_texts, sure) if s])
        char_threshold = float("nan")
        if char_precision is not None:
            char_threshold = choose_threshold(
                np.concatenate(held_chars),
                np.concatenate([_right_chars(t, labels[i]) for t, i in zip(held_texts, held)]),
                char_precision,
            )
            intake = _with_sure_chars(
                intake, ~sure, read_texts, read_chars, read_cuts, char_threshold
            )
        above = held_conf >= threshold
        done.append(Round(
            r, trained_on, threshold,
            float(correct[above].mean()) if above.any() else float("nan"),
            float(above.mean()), int(len(intake.kept)), char_threshold, intake.n_chars,
        ))
        if progress is not None:
            progress(f"self-training round {r}: threshold {threshold:.3f}, "
                     f"{len(intake.kept)} of {n_unlabelled} unlabelled captchas kept, "
                     f"{intake.n_chars} characters of others")
    return intake, done


def _right_chars(text: str, label: str) -> np.ndarray:
    """Which characters of a read are right (none where its length is wrong)."""
    if len(text) != len(label):
        return np.zeros(len(text), bool)
    return np.array([a == b for a, b in zip(text, label)], bool)


def _with_sure_chars(
    intake: Intake, others: np.ndarray, texts: list[str], chars: list[np.ndarray],
    cuts: list[Any], threshold: float,
) -> Intake:
    """``intake`` with the characters read at least ``threshold`` surely in
    the captchas ``others`` (a boolean mask over every unlabelled captcha)."""
    partial, sure = [], []
    for i in np.flatnonzero(others).tolist():
        mask = np.asarray(chars[i]) >= threshold
        if mask.any():
            partial.append(i)
            sure.append(mask)
    return Intake(
        intake.kept, intake.texts, np.array(partial, int), [texts[i] for i in partial], sure,
        [cuts[i] for i in partial],
    )


def summary(rounds: list[Round]) -> list[dict[str, float]]:
    """The rounds as plain dicts (for ``fit_summary_``)."""
    return [asdict(r) for r in rounds]
