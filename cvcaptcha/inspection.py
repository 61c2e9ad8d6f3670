"""What a labelled folder looks like, checked before anyone trains on it.

:func:`describe_dataset` computes counts, sizes, label lengths, character
frequencies and problems; :func:`write_inspection` loads a folder and writes
them as a page. The model report reuses both for its data overview.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import plots
from .io import IMAGE_EXTENSIONS, Dataset, load_dataset
from .outdir import FIGURES, prepare_out_dir
from .pages import render_page

#: Characters seen fewer times than this are flagged as too rare to learn well.
RARE_CHAR = 5
#: A label length held by fewer than this share of the labels is flagged (a
#: typo, or a length the model will hardly learn).
RARE_LENGTH = 0.05


def _some(names: Sequence[str], shown: int = 5) -> str:
    """The first few names and how many more: a message stays one line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def describe_dataset(data: Dataset, samples: int = 24, seed: int = 0) -> dict[str, Any]:
    """Counts, sizes, label lengths, character frequencies and problems of a folder.

    Parameters
    ----------
    data : Dataset
        As loaded by ``load_dataset(folder, skip_bad=True)``; its ``skipped``
        files are reported as problems.
    samples : int
        How many captchas to pick (seeded) for the sample grid.
    seed : int
        Seed of that pick.

    Returns
    -------
    dict
        ``n``, ``skipped`` (name, reason), ``sizes`` and ``lengths`` ((value,
        count) most common first), ``alphabet``, ``char_counts`` (n_chars,),
        ``by_position`` (max length, n_chars), ``sample_index``, ``problems``
        (things that break training) and ``notes`` (things worth knowing).

    Examples
    --------
    >>> img = np.full((40, 120), 255, np.uint8)
    >>> d = describe_dataset(Dataset([img, img], ["ab", "ba"], [Path("ab.png"), Path("ba.png")]))
    >>> d["alphabet"], d["problems"]
    ('ab', [])
    """
    labels = data.labels
    alphabet = "".join(sorted(set("".join(labels))))
    index = {c: i for i, c in enumerate(alphabet)}
    lengths = Counter(len(label) for label in labels)
    by_position = np.zeros((max(lengths), len(alphabet)), dtype=int)
    for label in labels:
        for pos, char in enumerate(label):
            by_position[pos, index[char]] += 1
    sizes = Counter(f"{img.shape[1]}x{img.shape[0]}" for img in data.images)
    problems = [f"unreadable file {path.name}: {why}" for path, why in data.skipped]
    if 0 in lengths:
        problems.append("a file name has an empty label")
    if len(alphabet) < 2:
        problems.append("the labels use fewer than two characters: nothing to learn")
    notes = []
    if len(sizes) > 1:
        notes.append(f"{len(sizes)} different image sizes; they are handled, but check they belong")
    if len(lengths) > 1:
        shown = ", ".join(f"{n} ({lengths[n]})" for n in sorted(lengths))
        notes.append(
            f"labels of {len(lengths)} lengths: {shown}; one model reads them all, "
            "each captcha's length read with its text"
        )
        few = sorted(n for n, count in lengths.items() if count < RARE_LENGTH * len(labels))
        if few:
            odd = [p.name for p, label in zip(data.paths, labels) if len(label) in few]
            notes.append(
                f"few labels of length {', '.join(map(str, few))} (under "
                f"{RARE_LENGTH:.0%}): typos, or a length to read with --lengths? {_some(odd)}"
            )
    rare = [c for c, count in zip(alphabet, by_position.sum(axis=0)) if count < RARE_CHAR]
    if rare:
        notes.append(
            f"characters seen fewer than {RARE_CHAR} times (hard to learn): {''.join(rare)}"
        )
    folded = Counter(label.lower() for label in labels)
    clashes = sorted(label for label, count in folded.items() if count > 1)
    if clashes:
        notes.append(
            f"{len(clashes)} label(s) occur more than once ignoring case or extension: "
            + _some(clashes)
        )
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(labels), min(samples, len(labels)), replace=False))
    return {
        "n": len(labels),
        "skipped": [(path.name, why) for path, why in data.skipped],
        "sizes": sizes.most_common(),
        "lengths": sorted(lengths.items()),
        "alphabet": alphabet,
        "char_counts": by_position.sum(axis=0),
        "by_position": by_position,
        "sample_index": [int(i) for i in pick],
        "problems": problems,
        "notes": notes,
    }


def overview_figures(data: Dataset, overview: dict[str, Any], figures: Path) -> dict[str, str]:
    """Draw the overview figures; returns their paths relative to the page."""
    pick = overview["sample_index"]
    plots.sample_grid([data.images[i] for i in pick], [data.labels[i] for i in pick],
                      figures / "samples.png")
    plots.char_frequencies(overview["alphabet"], overview["char_counts"],
                           overview["by_position"], figures / "characters.png")
    return {"samples": f"{FIGURES}/samples.png", "characters": f"{FIGURES}/characters.png"}


def write_inspection(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
) -> tuple[dict[str, Any], Path | None]:
    """Check a labelled folder and, if ``out_dir`` is given, write its overview page.

    Unreadable files do not stop the check: they are reported as problems.

    Parameters
    ----------
    data_dir : path
        The labelled folder.
    out_dir : path, optional
        Where to write ``index.html`` and figures.
    force : bool
        See :func:`~cvcaptcha.outdir.prepare_out_dir`.
    progress : bool
        Show a progress bar while loading.

    Returns
    -------
    overview : dict
        As :func:`describe_dataset` returns.
    index : Path or None
        The page written, if any.
    """
    data = load_dataset(data_dir, skip_bad=True, progress=progress)
    overview = describe_dataset(data)
    ignored = sorted(
        p.name for p in Path(data_dir).iterdir() if p.suffix.lower() not in IMAGE_EXTENSIONS
    )
    if ignored:
        overview["notes"].append(
            f"{len(ignored)} entry(ies) without an image extension ignored: {_some(ignored)}"
        )
    if out_dir is None:
        return overview, None
    figures = prepare_out_dir(out_dir, force)
    images = overview_figures(data, overview, figures)
    index = render_page(
        "inspect.html", Path(out_dir), title="cvcaptcha dataset check",
        data_dir=str(data_dir), overview=overview, images=images,
    )
    return overview, index
