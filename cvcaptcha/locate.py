"""Where the characters are: cuts from the segmenter, guided and recentred.

Locating is the pipeline's second stage. An unguided strategy cuts a mask by
itself. A guided one (``window``, ``lattice``) searches for the best path
through the locator's scores (:meth:`~cvcaptcha.locator.Locator.scorer`);
when it also recentres, a captcha the reader is unsure of is re-searched in
a few positions around each centre with the reader's own scores, and the
reads of the chosen windows are kept so they are not read twice.

In training the same searches run as *forced alignments*: scored with the
label's class at each position instead of the best class (:func:`align`,
:func:`recentre_to_labels`), which gives the classifiers cleaner characters
than any unguided cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .locator import Locator
from .prepare import Prepared
from .reads import Reader
from .segment import Segmenter

#: One captcha's cuts (working scale), exact-count status, and the reader's
#: probabilities of the cut windows when they were read while locating.
Located = tuple[np.ndarray, "bool | None", "np.ndarray | None"]


def locate(
    segmenter: Segmenter, preps: Sequence[Prepared], n_chars: int,
    tables: Sequence[np.ndarray | None], locator: Locator | None, reader: Reader,
    weight: float,
) -> list[Located]:
    """Cuts and exact-count status of each captcha, and the reader's
    probabilities of its cut windows when the segmenter recentres (else None).

    A guided segmenter reads the locator's ``tables`` (None for each captcha
    when unguided). When the segmenter recentres, every captcha is read at the
    locator's cuts (one reader call for the batch), and only a captcha with an
    unsure character (see :meth:`Reader.sure`) is recentred by the reader,
    its scores plus ``weight`` times the locator's.
    """
    located = [
        segmenter.cut_status(p.mask, n_chars)
        if table is None or locator is None
        else segmenter.cut_status(p.mask, n_chars, locator.scorer(table, n_chars))
        for p, table in zip(preps, tables)
    ]
    if not segmenter.recentres or not preps:
        return [(cuts, status, None) for cuts, status in located]
    centred = reader.centred(preps, [cuts for cuts, _ in located])
    found: list[Located] = []
    for p, table, (cuts, status), proba in zip(preps, tables, located, centred):
        if table is None or locator is None or reader.sure(proba):
            found.append((cuts, status, proba))
            continue
        seen = {"intervals": cuts, "proba": proba}
        scorer = reader.recentring_scorer(p, locator, table, weight, None, seen)
        moved = segmenter.recentre(p.mask, cuts, scorer)
        # a window moved inside the image was not read as it stands: read here
        found.append((moved, status, reader.windows(p, moved, seen)))
    return found


def align(
    segmenter: Segmenter, preps: Sequence[Prepared], tables: Sequence[np.ndarray | None],
    locator: Locator, targets: Iterable[np.ndarray],
) -> list[np.ndarray]:
    """Each training captcha's cuts by forced alignment with the locator: the
    best path scored with the label's class (``targets``, alphabet indices,
    one array per captcha, any length) at each position."""
    return [
        segmenter.cut(p.mask, len(t), scorer=locator.scorer(table, len(t), t))
        for p, table, t in zip(preps, tables, targets)
    ]


def recentre_to_labels(
    segmenter: Segmenter, preps: Sequence[Prepared], cuts: Sequence[np.ndarray],
    tables: Sequence[np.ndarray | None], locator: Locator, reader: Reader, weight: float,
    targets: Iterable[np.ndarray],
) -> list[np.ndarray]:
    """Each training captcha's ``cuts`` recentred by forced alignment with the
    reader (plus ``weight`` times the locator): the reader then learns each
    character where it will read it, not where the locator's coarser grid put it."""
    return [
        segmenter.recentre(p.mask, c, reader.recentring_scorer(p, locator, table, weight, t))
        for p, c, table, t in zip(preps, cuts, tables, targets)
    ]
