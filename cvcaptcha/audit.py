"""Auditing labels: the captchas whose label a model trained without them disputes.

Hand-typed labels hold mistakes (henan-4digit's, about 2 % of them, see
``docs/benchmarks.md``), and each one both teaches the model a wrong glyph and
costs a point of measured accuracy for a right read. A model cannot vouch for
the labels it learned, so every captcha is read by a model trained on the
other folds (shuffled ``KFold``: captcha labels are nearly unique, so the
folds are random), and the captchas read differently from their label are
listed most sure first: those at the top are far more often wrong labels than
misreads. Nothing is changed on disk; the user looks and renames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from .errors import DatasetError


@dataclass
class Disagreement:
    """A captcha whose cross-validated read is not its label."""

    index: int
    label: str
    read: str
    confidence: float
    char_confidences: list[float]


def cross_read(
    estimator: Any, images: Sequence[Any], labels: Sequence[str], folds: int = 2,
    random_state: int = 0, progress: Callable[[str], None] | None = None,
) -> list[Any]:
    """Every captcha's :class:`~cvcaptcha.recognizer.Prediction` by a clone of
    ``estimator`` fitted on the other ``folds - 1`` folds, in input order.

    Raises
    ------
    DatasetError
        When there are fewer captchas than folds or fewer than two folds.
    """
    if folds < 2 or len(labels) < 2 * folds:
        raise DatasetError(
            f"auditing {len(labels)} captchas in {folds} folds needs at least two folds "
            f"and {2 * folds} captchas"
        )
    out: list[Any] = [None] * len(labels)
    splits = KFold(n_splits=folds, shuffle=True, random_state=random_state).split(labels)
    for k, (train, test) in enumerate(splits, 1):
        if progress is not None:
            progress(f"fold {k} of {folds}: training on {len(train)}, reading {len(test)}")
        model = clone(estimator).fit([images[i] for i in train], [labels[i] for i in train])
        for i, prediction in zip(test, model.predict_details([images[i] for i in test])):
            out[i] = prediction
    return out


def disagreements(
    labels: Sequence[str], predictions: Sequence[Any], ignore_case: bool = False
) -> list[Disagreement]:
    """The captchas read differently from their label, most sure read first.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> reads = [P(text="ab", confidence=0.9, char_confidences=[0.9, 1.0]),
    ...          P(text="cd", confidence=0.99, char_confidences=[1.0, 0.99]),
    ...          P(text="xy", confidence=0.5, char_confidences=[0.5, 1.0])]
    >>> [(d.index, d.label, d.read) for d in disagreements(["ab", "ce", "XY"], reads)]
    [(1, 'ce', 'cd'), (2, 'XY', 'xy')]
    >>> len(disagreements(["ab", "ce", "XY"], reads, ignore_case=True))
    1
    """
    found = []
    for i, (label, p) in enumerate(zip(labels, predictions)):
        same = p.text.casefold() == label.casefold() if ignore_case else p.text == label
        if not same:
            found.append(Disagreement(
                i, label, p.text, float(p.confidence), [float(c) for c in p.char_confidences],
            ))
    order = np.argsort([-d.confidence for d in found], kind="stable")
    return [found[i] for i in order]
