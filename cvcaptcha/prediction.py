"""What reading a captcha gives back: the public :class:`Prediction` and the
recognizer's internal :class:`Read` at working scale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass
class Prediction:
    """What the recognizer read in one captcha.

    ``confidence`` is the product of the per-character probabilities (and,
    in a family of several lengths, of ``length_confidence``): the model's
    probability that the whole text is right.
    """

    text: str
    confidence: float
    char_confidences: list[float]
    cuts: np.ndarray = field(repr=False)
    #: In a family of several lengths, the share of the chosen length among
    #: the lengths read (see :func:`~cvcaptcha.length.choose_length`), a factor
    #: of ``confidence``; 1 in a family of one length.
    length_confidence: float = 1.0


class Read(NamedTuple):
    """One captcha's read, at working scale: its cuts, the class
    probabilities of each character, the exact-count status (see
    :meth:`~cvcaptcha.segment.Segmenter.cut_status`) and the share of its
    length among the lengths read (1 in a family of one length)."""

    cuts: np.ndarray
    proba: np.ndarray
    status: bool | None
    length_share: float
