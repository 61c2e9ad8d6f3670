"""Cutting an ink mask into character slices.

Every strategy is a small object with the same interface:

* ``fit(masks, n_chars)`` learns geometry (typical character width) from
  training masks and returns self;
* ``cut(mask, n_chars, scorer=None)`` returns an ``(n_chars, 2)`` int array of
  column intervals ``[x0, x1)``, left to right, always exactly ``n_chars`` of
  them;
* ``cut_status(mask, n_chars, scorer=None)`` returns the same cuts and whether
  the strategy's own evidence gave ``n_chars`` pieces (``None`` when the count
  is imposed by construction), which is what "exact count" means in
  :func:`cvcaptcha.compare.compare_segmenters`.

A *scorer* lets the character classifier take part in segmentation: called
as ``scorer(mask, intervals)`` with an ``(m, 2)`` array of candidate slices, it
returns an ``(m, n_chars)`` array where entry ``[j, k]`` is the log-score of
slice ``j`` being the ``k``-th character. Scoring by the best class gives free
decoding; scoring by the known label's class gives forced alignment. Only
strategies with ``guided = True`` use it; the others ignore it.

Strategies are registered by name in :data:`SEGMENTERS`; adding one touches
only this file. All sizes are relative to the image height or to the
character width learned in ``fit``, so nothing is tied to one captcha family.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import ClassVar

import cv2
import numpy as np

from .columns import (
    all_gaps,
    edges_to_cuts,
    equal_cuts,
    pitches,
    smoothed_ink,
    text_extent,
)
from .errors import ConfigError
from .paths import (
    add_margins,
    candidate_slices,
    dp_cuts,
    intervals_around,
    moved_centres,
    viterbi,
    viterbi_points,
)

#: ``scorer(mask, intervals) -> (len(intervals), n_chars)`` log-scores.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Segmenter:
    """Base strategy: learns the typical character width; subclasses implement ``cut_status``."""

    #: Whether ``cut`` uses a classifier scorer; guided strategies also
    #: provide ``lattice(mask, n_chars)``, their candidate slices.
    guided: ClassVar[bool] = False
    #: Floor of the learned width spread, as a fraction of the mean width.
    min_spread: ClassVar[float] = 0.15

    def fit(self, masks: list[np.ndarray], n_chars: int | Sequence[int]) -> Segmenter:
        """Learn the mean and spread of character widths from training masks.

        The width of one character is the text extent over the label length
        (``n_chars``: one for all, or each mask's own);
        its spread is floored (see :meth:`set_widths`) so a very regular
        training set does not make the width prior brittle.
        """
        counts = np.broadcast_to(np.asarray(n_chars), (len(masks),))
        widths = [(x1 - x0) / n for (x0, x1), n in zip(map(text_extent, masks), counts)]
        return self.set_widths(np.array(widths, dtype=float), counts)

    def set_widths(self, widths: np.ndarray, counts: np.ndarray | None = None) -> Segmenter:
        """Set the learned width prior from observed character widths (pixels).

        The spread is floored at ``min_spread`` of the mean and at one pixel.
        With ``counts`` (the label length each width was seen in) of several
        lengths, each length also gets its own prior (``length_widths_``: rows
        of length, mean, spread), which :meth:`width_prior` prefers: a site
        may draw a longer text at a narrower pitch.
        """
        widths = np.asarray(widths, dtype=float)
        self.char_width_, self.char_width_std_ = self._spread(widths)
        lengths = [] if counts is None else sorted(set(np.asarray(counts).tolist()))
        if len(lengths) > 1:
            counts = np.asarray(counts)
            self.length_widths_ = np.array(
                [[n, *self._spread(widths[counts == n])] for n in lengths], dtype=float
            )
        elif hasattr(self, "length_widths_"):
            del self.length_widths_
        return self

    def _spread(self, widths: np.ndarray) -> tuple[float, float]:
        """Median and floored spread of ``widths`` (see :meth:`set_widths`)."""
        mean = float(np.median(widths))
        return mean, float(max(np.std(widths), self.min_spread * mean, 1.0))

    def learn_cuts(self, masks: list[np.ndarray], cuts: list[np.ndarray]) -> Segmenter:
        """Refit the priors from cuts known to be right (forced alignments).

        The width prior comes from the distances between neighbouring
        character centres (see :meth:`set_widths`); the margin prior from
        where the first and last centres sit inside the text extent
        (``margins_``: mean and spread of ``first - x0`` and of ``x1 - last``
        in pixels, spreads floored like the width's), which a strategy may use
        to keep a path from starting or ending a character early or late.
        """
        self.set_widths(
            np.concatenate([pitches(c) for c in cuts]),
            np.concatenate([np.full(max(len(c) - 1, 1), len(c)) for c in cuts]),
        )
        centres = [c.mean(axis=1) for c in cuts]
        extents = np.array([text_extent(m) for m in masks], dtype=float)
        heads = np.array([c[0] for c in centres]) - extents[:, 0]
        tails = extents[:, 1] - np.array([c[-1] for c in centres])
        floor = max(self.min_spread * self.char_width_, 1.0)
        self.margins_ = [
            float(np.mean(heads)), float(max(np.std(heads), floor)),
            float(np.mean(tails)), float(max(np.std(tails), floor)),
        ]
        return self

    def width_prior(self, x0: int, x1: int, n_chars: int) -> tuple[float, float]:
        """Mean and spread of a character's width, learned (for captchas of
        ``n_chars`` characters when the family has several lengths) or from
        this extent."""
        table = getattr(self, "length_widths_", None)
        if table is not None:
            row = np.nonzero(table[:, 0] == n_chars)[0]
            if len(row):
                return float(table[row[0], 1]), float(table[row[0], 2])
        mean = getattr(self, "char_width_", (x1 - x0) / n_chars)
        std = getattr(self, "char_width_std_", max(0.15 * mean, 1.0))
        return mean, std

    def cut(self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None) -> np.ndarray:
        """Exactly ``n_chars`` column intervals, left to right."""
        return self.cut_status(mask, n_chars, scorer)[0]

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        """Cuts and whether the strategy found ``n_chars`` pieces without forcing."""
        raise NotImplementedError

    def count(self, mask: np.ndarray) -> int | None:
        """How many pieces the strategy's own evidence finds, or None for a
        strategy that only places the number of characters it is given."""
        return None

    @property
    def recentres(self) -> bool:
        """Whether :meth:`recentre` moves cuts (strategies placing characters as
        points may; the others never do)."""
        return False

    def recentre(self, mask: np.ndarray, cuts: np.ndarray, scorer: Scorer) -> np.ndarray | None:
        """Cuts moved to where a finer ``scorer`` places the characters, or None
        when the strategy does not recentre (see :attr:`recentres`)."""
        return None


class EqualWidth(Segmenter):
    """Equal-width slices of the text extent: the baseline.

    The count is imposed by construction, so its exact-count status is ``None``.
    """

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        return equal_cuts(*text_extent(mask), n_chars), None


class Projection(Segmenter):
    """Cut at the lowest-ink column near each equal-width cut.

    Each inner cut moves independently within a third of a character width of
    its equal-width position, which fixes small drifts cheaply. Exact when
    every cut lands on a gap column.
    """

    def __init__(self, window: float = 0.35) -> None:
        self.window = window

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        x0, x1 = text_extent(mask)
        base = equal_cuts(x0, x1, n_chars)
        if n_chars == 1 or x1 - x0 < 2 * n_chars:
            return base, False
        ink = smoothed_ink(mask)
        half = max(1, int(round(self.window * (x1 - x0) / n_chars)))
        edges = [x0]
        for e in base[1:, 0]:
            lo = max(edges[-1] + 1, e - half)
            hi = min(x1 - (n_chars - len(edges)), e + half + 1)
            edges.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else int(e))
        edges.append(x1)
        cuts = edges_to_cuts(np.array(edges))
        return cuts, all_gaps(ink, cuts)


class DynamicProgramming(Segmenter):
    """Choose all cuts jointly: least ink crossed plus the learned width prior.

    Unlike :class:`Projection`, one poor gap can be traded against the widths
    of every character. Exact when every cut lands on a gap column.
    """

    def __init__(self, width_weight: float = 0.05) -> None:
        self.width_weight = width_weight

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        return _dp_status(self, mask, n_chars, self.width_weight)


def _dp_status(
    seg: Segmenter, mask: np.ndarray, n_chars: int, weight: float
) -> tuple[np.ndarray, bool]:
    """:func:`dp_cuts` over the text extent with ``seg``'s width prior, and its gap status."""
    x0, x1 = text_extent(mask)
    if n_chars == 1 or x1 - x0 < 2 * n_chars:
        return equal_cuts(x0, x1, n_chars), False
    ink = smoothed_ink(mask)
    mean, std = seg.width_prior(x0, x1, n_chars)
    cuts = edges_to_cuts(dp_cuts(ink, x0, x1, n_chars, mean, std, weight))
    return cuts, all_gaps(ink, cuts)


class Components(Segmenter):
    """Connected components, splitting over-wide blobs and merging fragments.

    Each component's box is trimmed to its columns holding a stroke, so a thin
    noise line touching the text does not stretch it. Components overlapping
    in x are merged (dots, broken strokes); then the blob widest relative to
    the learned width is split at low-ink columns while there are too few
    pieces, and the neighbouring pair with the narrowest union is merged while
    there are too many. Exact when the merged blobs already number ``n_chars``.
    """

    def __init__(self, min_area: float = 0.02) -> None:
        self.min_area = min_area

    def blobs(self, mask: np.ndarray) -> list[list[int]]:
        """Column intervals of the ink blobs, fragments merged, left to right."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = self.min_area * mask.shape[0] ** 2
        boxes = []
        for i in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1:
            left = int(stats[i, cv2.CC_STAT_LEFT])
            right = left + int(stats[i, cv2.CC_STAT_WIDTH])
            piece = (labels[:, left:right] == i).astype(np.uint8)
            a, b = text_extent(piece)
            boxes.append([left + a, left + b])
        boxes.sort()
        merged: list[list[int]] = []
        for a, b in boxes:
            if merged and merged[-1][1] - a > 0.5 * min(b - a, merged[-1][1] - merged[-1][0]):
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return merged

    def count(self, mask: np.ndarray) -> int | None:
        """The number of blobs (fragments merged)."""
        return len(self.blobs(mask))

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        merged = self.blobs(mask)
        if not merged:
            return equal_cuts(*text_extent(mask), n_chars), False
        exact = len(merged) == n_chars
        mean, _ = self.width_prior(merged[0][0], merged[-1][1], n_chars)
        ink = smoothed_ink(mask)
        while len(merged) < n_chars:
            i = max(range(len(merged)), key=lambda j: merged[j][1] - merged[j][0])
            a, b = merged[i]
            if b - a < 2:
                break
            pieces = min(max(2, int(round((b - a) / mean))), n_chars - len(merged) + 1, b - a)
            merged[i:i + 1] = _split_at_valleys(ink, a, b, pieces).tolist()
        while len(merged) > n_chars:
            i = min(range(len(merged) - 1), key=lambda j: merged[j + 1][1] - merged[j][0])
            merged[i:i + 2] = [[merged[i][0], max(merged[i][1], merged[i + 1][1])]]
        if len(merged) < n_chars:
            return equal_cuts(*text_extent(mask), n_chars), False
        return np.array(merged, dtype=int), exact


def _split_at_valleys(ink: np.ndarray, a: int, b: int, pieces: int) -> np.ndarray:
    """Split ``[a, b)`` into ``pieces`` at the lowest-ink column near each equal cut."""
    edges = np.linspace(a, b, pieces + 1)
    half = (b - a) / pieces / 3.0
    cuts = [a]
    for k, e in enumerate(edges[1:-1], start=1):
        lo = max(cuts[-1] + 1, int(e - half))
        hi = min(b - (pieces - k), int(e + half) + 1)
        cuts.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else max(cuts[-1] + 1, int(e)))
    cuts.append(b)
    return edges_to_cuts(np.array(cuts))


class Lattice(Segmenter):
    """Classifier-guided segmentation: recognise and segment together.

    Over-segments the text extent into candidate edges every ``step`` of a
    character width, scores every plausible slice with the scorer (the
    character classifier) and keeps the best path of ``n_chars`` slices by
    Viterbi, adding the learned width prior as a log-likelihood. The first and
    last edges may move up to ``slack`` widths outside the extent, so noise
    strokes at either end can be skipped. Without a scorer it falls back to
    :class:`DynamicProgramming`. Exact when a lattice path was found.
    """

    guided = True
    min_spread = 0.1

    def __init__(
        self,
        step: float = 0.1,
        slack: float = 0.5,
        width_weight: float = 0.5,
        fallback_weight: float = 0.05,
    ) -> None:
        self.step = step
        self.slack = slack
        self.width_weight = width_weight
        self.fallback_weight = fallback_weight

    def lattice(self, mask: np.ndarray, n_chars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate slices ``(intervals, pairs, widths)``; see :func:`candidate_slices`."""
        x0, x1 = text_extent(mask)
        mean, std = self.width_prior(x0, x1, n_chars)
        edges, pairs, widths = candidate_slices(
            x0, x1, mean, std, max(1.0, self.step * mean), self.slack * mean
        )
        edges = np.clip(edges, 0, mask.shape[1])
        return edges[pairs], pairs, widths

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        if scorer is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)
        x0, x1 = text_extent(mask)
        intervals, pairs, widths = self.lattice(mask, n_chars)
        if len(pairs) == 0:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        mean, std = self.width_prior(x0, x1, n_chars)
        scores = np.asarray(scorer(mask, intervals), dtype=float)
        scores = scores - self.width_weight * 0.5 * ((widths - mean) / std)[:, None] ** 2
        n_edges = int(pairs.max()) + 1
        edge_x = np.zeros(n_edges, dtype=int)
        edge_x[pairs[:, 0]], edge_x[pairs[:, 1]] = intervals[:, 0], intervals[:, 1]
        slack = self.slack * mean
        path = viterbi(scores, pairs, n_edges, edge_x <= x0 + slack, edge_x >= x1 - slack)
        if path is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        return intervals[path], True


class Window(Segmenter):
    """Classifier-guided segmentation with characters as points, not slices.

    Candidate character centres lie every ``step`` of the learned pitch along
    the text extent (up to ``slack`` pitches beyond it); the scorer reads a
    fixed-width window around each, and Viterbi keeps the ``n_chars`` centres
    with the best total score plus the learned pitch prior. Overlapping,
    touching glyphs need no cut line at all: only where each one is centred.
    Each returned interval is centred on its character and as wide as the
    local pitch. Without a scorer it falls back to :class:`DynamicProgramming`.

    Parameters
    ----------
    step : float
        Spacing of the candidate centres, as a fraction of the learned pitch.
    slack : float
        How far beyond the text extent candidates reach, in pitches.
    pitch_weight : float
        Weight of the pitch prior's log-density (``-z**2 / 2`` per step
        between neighbouring centres) against the scorer's log-probabilities.
        Above 1 the learned pitch counts for more than a Gaussian would give
        it (figures: ``docs/experiments.md``). A family with an irregular
        pitch learns a wide spread, which weakens the prior by itself.
    margin_weight : float
        Weight of the margin prior's log-density (learned by
        :meth:`~Segmenter.learn_cuts`: where the first and last centres sit
        inside the text extent) on the first and last centres; a path that
        starts or ends a character early, reading noise as a glyph, then
        loses. 0 (or a segmenter never given aligned cuts): no margin prior.
    fallback_weight : float
        Width-prior weight of the :class:`DynamicProgramming` fallback.
    recentre_span : float
        How far :meth:`recentre` may move each centre, as a fraction of the
        learned pitch; 0: no recentring. The recognizer recentres only a
        captcha with a character it reads unsurely (see its ``shift_below``).
        The default 0.25 gives three windows a character with the default
        ``recentre_step`` (figures: ``docs/benchmarks.md``).
    recentre_step : float
        Spacing of :meth:`recentre`'s candidates, as a fraction of the
        learned pitch (at least one pixel).
    """

    guided = True
    min_spread = 0.1

    def __init__(
        self, step: float = 0.2, slack: float = 0.5, pitch_weight: float = 2.0,
        margin_weight: float = 1.0, fallback_weight: float = 0.05,
        recentre_span: float = 0.25, recentre_step: float = 0.25,
    ) -> None:
        self.step = step
        self.slack = slack
        self.pitch_weight = pitch_weight
        self.margin_weight = margin_weight
        self.fallback_weight = fallback_weight
        self.recentre_span = recentre_span
        self.recentre_step = recentre_step

    def _candidates(
        self, x0: int, x1: int, n_chars: int
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Candidate character centres (pixels, left to right) for the text
        extent ``[x0, x1)``, the pitch-wide interval around each, and the pitch
        prior (mean, spread)."""
        mean, std = self.width_prior(x0, x1, n_chars)
        lo = x0 + mean * (0.5 - self.slack)
        hi = max(lo, x1 - mean * (0.5 - self.slack))
        centres = np.arange(lo, hi + 1e-9, max(1.0, self.step * mean))
        return centres, intervals_around(centres, mean / 2), mean, std

    def lattice(self, mask: np.ndarray, n_chars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate windows ``(intervals, pairs, widths)``: one pitch-wide
        interval per candidate centre (``pairs`` index the centres)."""
        _, intervals, mean, _ = self._candidates(*text_extent(mask), n_chars)
        index = np.arange(len(intervals))
        return intervals, np.stack([index, index], axis=1), np.full(len(intervals), mean)

    def cut_status(
        self, mask: np.ndarray, n_chars: int, scorer: Scorer | None = None
    ) -> tuple[np.ndarray, bool | None]:
        if scorer is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)
        x0, x1 = text_extent(mask)
        centres, intervals, mean, std = self._candidates(x0, x1, n_chars)
        path = None
        if len(centres) >= n_chars:
            path = self._best_path(mask, (x0, x1), (mean, std), centres, intervals, scorer)
        if path is None:
            return _dp_status(self, mask, n_chars, self.fallback_weight)[0], False
        return np.maximum(intervals[path], 0), True

    @property
    def recentres(self) -> bool:
        return bool(self.recentre_span)

    def recentre(self, mask: np.ndarray, cuts: np.ndarray, scorer: Scorer) -> np.ndarray | None:
        """Each character's centre moved by up to ``recentre_span`` of the pitch,
        in ``recentre_step`` steps, to the best path of ``scorer``'s scores
        plus the pitch and margin priors.

        The candidate grid of :meth:`cut_status` is coarse (``step``) because
        it is scored everywhere; this second pass scores only a few positions
        around each centre, so a costlier, pixel-exact scorer can afford them:
        a wide glyph (an "m") read a few pixels off its centre looks like a
        narrower one (an "n").

        Parameters
        ----------
        mask : ndarray of bool
        cuts : ndarray of int, shape (n_chars, 2)
            Intervals from :meth:`cut_status` with a scorer.
        scorer : Scorer

        Returns
        -------
        ndarray of int, shape (n_chars, 2) or None
            The moved intervals, as wide as the learned pitch; None when
            ``recentre_span`` is 0.
        """
        if not self.recentres:
            return None
        extent = text_extent(mask)
        mean, std = self.width_prior(*extent, len(cuts))
        stride = max(1, round(self.recentre_step * mean))
        reach = round(self.recentre_span * mean / stride)
        centres = moved_centres(cuts.sum(axis=1) / 2, stride, reach)
        intervals = intervals_around(centres, mean / 2)
        path = self._best_path(mask, extent, (mean, std), centres, intervals, scorer)
        return cuts if path is None else np.maximum(intervals[path], 0)

    def _best_path(
        self, mask: np.ndarray, extent: tuple[int, int], pitch: tuple[float, float],
        centres: np.ndarray, intervals: np.ndarray, scorer: Scorer,
    ) -> np.ndarray | None:
        """Indices of the candidate centres, one per character of ``scorer``'s
        columns, with the best total of its scores and the pitch and margin
        priors (None: no path); ``extent`` is the mask's text extent, ``pitch``
        the pitch prior's mean and spread."""
        x0, x1 = extent
        mean, std = pitch
        scores = np.array(scorer(mask, intervals), dtype=float)
        margins = getattr(self, "margins_", None)
        if margins is not None and self.margin_weight:
            add_margins(scores, centres, x0, x1, *margins, self.margin_weight)
        return viterbi_points(scores, centres, mean, std, self.pitch_weight)


SEGMENTERS: dict[str, Callable[[], Segmenter]] = {
    "equal": EqualWidth,
    "projection": Projection,
    "components": Components,
    "dp": DynamicProgramming,
    "lattice": Lattice,
    "window": Window,
}


def make_segmenter(name: str, **params: float) -> Segmenter:
    """Build a registered segmentation strategy by name, with ``params`` for
    its constructor.

    Examples
    --------
    >>> type(make_segmenter("equal")).__name__
    'EqualWidth'
    >>> make_segmenter("window", pitch_weight=1.0).pitch_weight
    1.0
    """
    try:
        build = SEGMENTERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown segmenter {name!r}; choose from {', '.join(SEGMENTERS)}"
        ) from None
    known = inspect.signature(build).parameters
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"segmenter {name!r} has no parameter {', '.join(unknown)}; "
            f"it takes {', '.join(known) or 'none'}"
        )
    return build(**params)


def segmenter_name(segmenter: Segmenter) -> str:
    """The registry name of a segmenter's strategy.

    Examples
    --------
    >>> segmenter_name(make_segmenter("dp"))
    'dp'
    """
    for name, build in SEGMENTERS.items():
        if type(segmenter) is build:
            return name
    raise ConfigError(f"segmenter {type(segmenter).__name__} is not registered")
