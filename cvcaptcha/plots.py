"""The figures of the analysis report, each written to one PNG.

Every function takes plain numbers or arrays (computed in
:mod:`cvcaptcha.report`) and a path, draws with matplotlib's headless Agg
backend and closes its figure, so a long report run does not pile up memory.
Labels come from file names and may hold anything a file name can: math-text
parsing is switched off so that a ``$`` in a label is drawn, not interpreted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, NullFormatter  # noqa: E402

#: Style of every figure: file-name text is drawn literally, sizes suit a 1280 px page.
STYLE: dict[str, object] = {
    "text.parse_math": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
GOOD = "#2a9d4b"
#: Widest figure in pixels: the report's content column.
MAX_WIDTH = 1100
BAD = "#d1372c"


@contextlib.contextmanager
def _figure(path: Path, figsize: tuple[float, float], **kwargs: object) -> Iterator[plt.Figure]:
    """A styled figure that is saved to ``path`` and closed on leaving the block."""
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=figsize, **kwargs)
        try:
            yield fig
            fig.savefig(path, bbox_inches="tight")
        finally:
            plt.close(fig)


def mosaic(
    tiles: Sequence[np.ndarray], columns: int, height: int, gap: int = 6
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Lay grey tiles out in rows on a white canvas, each scaled to ``height`` pixels.

    One image with one ``imshow`` draws far faster than an axes per tile.

    Parameters
    ----------
    tiles : sequence of ndarray
        Grey ``uint8`` images of any sizes.
    columns : int
        Tiles per row.
    height : int
        Height every tile is scaled to (aspect kept).
    gap : int
        White pixels between tiles and rows.

    Returns
    -------
    canvas : ndarray of uint8
    tops : list of (x, y)
        The top centre of each tile on the canvas, to put its caption at.

    Examples
    --------
    >>> canvas, tops = mosaic([np.zeros((10, 20), np.uint8)] * 3, 2, 10)
    >>> canvas.shape, tops[2]
    ((38, 58), (16.0, 22))
    """
    scaled = [
        cv2.resize(t, (max(1, round(t.shape[1] * height / t.shape[0])), height),
                   interpolation=cv2.INTER_AREA)
        for t in tiles
    ]
    rows = [scaled[i:i + columns] for i in range(0, len(scaled), columns)] or [[]]
    width = max(sum(t.shape[1] + gap for t in row) for row in rows) + gap
    canvas = np.full((len(rows) * (height + gap) + gap, width), 255, np.uint8)
    tops = []
    for r, row in enumerate(rows):
        y, x = gap + r * (height + gap), gap
        for tile in row:
            canvas[y:y + height, x:x + tile.shape[1]] = tile
            tops.append((x + tile.shape[1] / 2, y))
            x += tile.shape[1] + gap
    return canvas, tops


def _captioned(
    canvas: np.ndarray,
    tops: Sequence[tuple[float, float]],
    captions: Sequence[tuple[str, str]],
    path: Path,
    scale: float,
) -> None:
    """Draw a mosaic with a coloured caption over each tile.

    Drawn at ``scale`` times its pixel size, shrunk to fit ``MAX_WIDTH`` so that
    the page does not scale it (and its captions) down further.
    """
    height, width = canvas.shape
    scale = min(scale, MAX_WIDTH / width)
    with _figure(path, (scale * width / 100, scale * height / 100)) as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(canvas, cmap="gray", vmin=0, vmax=255, interpolation="antialiased")
        ax.axis("off")
        for (x, y), (text, colour) in zip(tops, captions):
            ax.text(x, y - 1, text, ha="center", va="bottom", fontsize=9, color=colour,
                    family="monospace")


def sample_grid(
    images: Sequence[np.ndarray], labels: Sequence[str], path: Path, columns: int = 6
) -> None:
    """A grid of captchas captioned with their labels: what the data looks like.

    Parameters
    ----------
    images : sequence of ndarray
        Grey images (any sizes).
    labels : sequence of str
        Their labels, drawn as captions.
    path : Path
        PNG to write.
    columns : int
        Images per row.
    """
    canvas, tops = mosaic(images, columns, height=60, gap=22)
    _captioned(canvas, tops, [(label, "black") for label in labels], path, scale=1.5)


def char_frequencies(
    chars: str, counts: np.ndarray, by_position: np.ndarray, path: Path
) -> None:
    """Character counts overall (bars) and per position (heat map).

    A character missing at one position, or a skew between positions, shows
    how the captcha generator draws its text and what the classifier sees
    rarely.

    Parameters
    ----------
    chars : str
        The characters, in the order of ``counts``.
    counts : ndarray of int, shape (n_chars,)
        Occurrences of each character in all labels.
    by_position : ndarray of int, shape (n_positions, n_chars)
        Occurrences of each character at each position.
    path : Path
        PNG to write.
    """
    width = max(6.0, 0.32 * len(chars) + 1.5)
    n_pos = by_position.shape[0]
    with _figure(path, (width, 2.6 + 0.35 * n_pos + 0.6)) as fig:
        top, bottom = fig.subplots(
            2, 1, gridspec_kw={"height_ratios": [2.6, 0.35 * n_pos + 0.6]}, sharex=True
        )
        x = np.arange(len(chars))
        top.bar(x, counts, color="#4477aa")
        top.set_ylabel("occurrences")
        top.set_title("characters overall and per position")
        image = bottom.imshow(by_position, aspect="auto", cmap="viridis", interpolation="nearest")
        bottom.set_yticks(np.arange(n_pos), [str(i + 1) for i in range(n_pos)])
        bottom.set_ylabel("position")
        bottom.set_xticks(x, list(chars), family="monospace")
        fig.colorbar(image, ax=bottom, pad=0.01, fraction=0.03, label="count")


def position_accuracy(accuracy: np.ndarray, path: Path) -> None:
    """Character accuracy at each position: the ends often suffer most from bad cuts.

    Parameters
    ----------
    accuracy : ndarray of float, shape (n_positions,)
    path : Path
        PNG to write.
    """
    with _figure(path, (max(4.0, 0.8 * len(accuracy) + 1.5), 2.6)) as fig:
        ax = fig.subplots()
        x = np.arange(1, len(accuracy) + 1)
        ax.bar(x, accuracy, color="#4477aa")
        for xi, acc in zip(x, accuracy):
            ax.text(xi, acc + 0.01, f"{acc:.1%}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(x)
        ax.set_xlabel("position")
        ax.set_ylabel("character accuracy")
        ax.set_ylim(0, 1.12)


def confusion_matrix(matrix: np.ndarray, chars: str, path: Path) -> None:
    """Row-normalised confusion matrix, true characters down, read characters across.

    A power-law colour scale keeps a 2% confusion visible next to a 98% diagonal;
    cells of at least 1% carry their percentage.

    Parameters
    ----------
    matrix : ndarray of float, shape (n, n)
        Row-normalised: ``matrix[i, j]`` is the share of true ``chars[i]`` read as ``chars[j]``.
    chars : str
        The characters of rows and columns.
    path : Path
        PNG to write.
    """
    n = len(chars)
    side = max(4.5, 0.36 * n + 1.8)
    with _figure(path, (side + 1.0, side)) as fig:
        ax = fig.subplots()
        image = ax.imshow(matrix, cmap="Blues", norm=PowerNorm(0.4, vmin=0, vmax=1))
        fontsize = 8 if n <= 24 else 6
        for i, j in zip(*np.nonzero(matrix >= 0.01)):
            value = matrix[i, j]
            ax.text(
                j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=fontsize,
                color="white" if value > 0.35 else ("black" if i == j else BAD),
            )
        ticks = np.arange(n)
        ax.set_xticks(ticks, list(chars), family="monospace")
        ax.set_yticks(ticks, list(chars), family="monospace")
        ax.tick_params(top=True, labeltop=True, length=0)
        ax.set_xlabel("read as")
        ax.set_ylabel("true character")
        ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="share of the true character")


def crop_strip(
    wrong: Sequence[tuple[np.ndarray, str]],
    right: Sequence[np.ndarray],
    char: str,
    path: Path,
) -> None:
    """Crops of one character read wrongly (captioned with the reading) beside crops read right.

    Parameters
    ----------
    wrong : sequence of (ndarray, str)
        Grey crops of misreads and what the model read.
    right : sequence of ndarray
        Grey crops of the same character read correctly.
    char : str
        The true character.
    path : Path
        PNG to write.
    """
    spacer = np.full((8, 8), 255, np.uint8)  # a wide gap between the two groups
    tiles = [crop for crop, _ in wrong] + [spacer] + list(right)
    captions = [(f"→{read}", BAD) for _, read in wrong] + [("", "white")] + [
        (char, GOOD) for _ in right
    ]
    canvas, tops = mosaic(tiles, len(tiles), height=64, gap=16)
    _captioned(canvas, tops, captions, path, scale=1.0)


def draw_cuts(image: np.ndarray, cuts: np.ndarray, wrong: Sequence[bool], path: Path) -> None:
    """The captcha with each character slice shaded, red where it was misread.

    Drawn with OpenCV (no matplotlib figure) because a gallery holds many of them.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W)
        The grey captcha.
    cuts : ndarray of int, shape (n, 2)
        Column intervals ``[x0, x1)`` of the characters.
    wrong : sequence of bool
        Whether each character was misread.
    path : Path
        PNG to write.
    """
    scale = max(1, int(np.ceil(300 / image.shape[1])))
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    colour = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    shade = colour.copy()
    height = colour.shape[0]
    palette = {True: (44, 55, 209), False: (75, 157, 42)}  # BGR of BAD and GOOD
    for (x0, x1), bad in zip(np.asarray(cuts, dtype=int), wrong):
        cv2.rectangle(shade, (x0 * scale, 0), (x1 * scale - 1, height - 1), palette[bool(bad)], -1)
    blended = cv2.addWeighted(colour, 0.75, shade, 0.25, 0)
    for x0, x1 in np.asarray(cuts, dtype=int):
        for x in (x0 * scale, x1 * scale - 1):
            cv2.line(blended, (x, 0), (x, height - 1), (200, 90, 20), 1)
    if not cv2.imwrite(str(path), blended):
        raise OSError(f"could not write {path}")


def confidence_curves(
    thresholds: np.ndarray,
    precision: np.ndarray,
    coverage: np.ndarray,
    target: float,
    chosen: float | None,
    path: Path,
) -> None:
    """Precision and coverage of the answered captchas against the reject threshold.

    Parameters
    ----------
    thresholds : ndarray of float
        Confidence thresholds (a captcha is answered when its confidence is at least this).
    precision : ndarray of float
        Accuracy among the answered captchas at each threshold (NaN when none is answered).
    coverage : ndarray of float
        Share of captchas answered at each threshold.
    target : float
        The precision the deployer wants (drawn as a line).
    chosen : float or None
        The lowest threshold reaching ``target``, if any (marked).
    path : Path
        PNG to write.
    """
    with _figure(path, (10.5, 3.4)) as fig:
        left, right = fig.subplots(1, 2)
        left.plot(thresholds, precision, color="#4477aa", label="precision (answered right)")
        left.plot(thresholds, coverage, color="#ee7733", label="coverage (answered)")
        left.axhline(target, color="grey", lw=0.8, ls="--")
        if chosen is not None:
            left.axvline(chosen, color=GOOD, lw=1, ls=":")
        left.set_xlabel("reject threshold on captcha confidence")
        left.set_ylim(0, 1.02)
        left.legend(loc="lower left", fontsize=9)
        right.plot(coverage, precision, color="#4477aa")
        right.axhline(target, color="grey", lw=0.8, ls="--")
        right.set_xlabel("coverage (share answered)")
        right.set_ylabel("precision")
        right.set_xlim(0, 1.02)
        right.set_ylim(max(0.0, np.nanmin(precision) - 0.05) if len(precision) else 0, 1.01)


def learning_curve(
    sizes: np.ndarray,
    test_mean: np.ndarray,
    test_std: np.ndarray,
    train_mean: np.ndarray,
    train_std: np.ndarray,
    path: Path,
) -> None:
    """Whole-captcha accuracy on held-out and training captchas against training-set size.

    A held-out curve still climbing at the right edge says more data would
    help; a wide gap to the training curve says the model overfits.

    Parameters
    ----------
    sizes : ndarray of int
        Training-set sizes.
    test_mean, test_std, train_mean, train_std : ndarray of float
        Accuracy mean and standard deviation over the repeats.
    path : Path
        PNG to write.
    """
    with _figure(path, (7.5, 3.8)) as fig:
        ax = fig.subplots()
        for mean, std, colour, name in (
            (train_mean, train_std, "#ee7733", "training captchas"),
            (test_mean, test_std, "#4477aa", "held-out captchas"),
        ):
            ax.plot(sizes, mean, "o-", color=colour, label=name)
            ax.fill_between(sizes, mean - std, mean + std, color=colour, alpha=0.2)
        ax.set_xlabel("training captchas")
        ax.set_ylabel("whole-captcha accuracy")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right")


def loss_curves(curves: Sequence[Sequence[float]], path: Path) -> None:
    """The MLP classifier's training loss per epoch, one line per repeat.

    Parameters
    ----------
    curves : sequence of sequence of float
        ``loss_curve_`` of each fitted classifier.
    path : Path
        PNG to write.
    """
    with _figure(path, (7.5, 3.2)) as fig:
        ax = fig.subplots()
        for i, curve in enumerate(curves):
            ax.plot(np.arange(1, len(curve) + 1), curve, label=f"repeat {i + 1}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        # plain tick labels: log axes default to math text, which STYLE turns off
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if len(curves) > 1:
            ax.legend()
