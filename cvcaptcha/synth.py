"""Labelled synthetic captchas, reproducible by seed.

:func:`generate` writes captchas of one of the looks :mod:`cvcaptcha.styles`
draws: ``"captcha"`` (the ``captcha`` package's) and ``"pitch"`` (dark glyphs
at a steady pitch, touching, crossed by a curve) are the embedded default data
(the demo and the tests that must run anywhere train on them); ``"plain"``,
``"pale"``, ``"alpha"``, ``"serif"`` and ``"tiny"`` imitate real captcha
families (see their drawing functions), so a recipe can be checked on those
looks without the real sets.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError, DatasetError
from .length import parse_lengths
from .styles import DEFAULT_ALPHABET, REGISTRY, Draw, get_style

__all__ = ["DEFAULT_ALPHABET", "STYLES", "generate", "random_labels"]

#: Names of the styles :func:`generate` draws.
STYLES: tuple[str, ...] = tuple(REGISTRY)
#: File extension and Pillow options of each file format.
_FORMATS = {"png": (".png", {}), "jpeg": (".jpg", {"quality": 75})}


def random_labels(
    count: int, length: int | Sequence[int], alphabet: str, rng: random.Random
) -> list[str]:
    """``count`` distinct random labels (file names must not collide), each
    of ``length`` characters or of a length drawn evenly from ``length``'s.

    Examples
    --------
    >>> random_labels(3, 2, "ab", random.Random(0)) != []
    True
    >>> sorted({len(t) for t in random_labels(20, [2, 3], "abc", random.Random(0))})
    [2, 3]
    """
    lengths = sorted(set(length)) if isinstance(length, Sequence) else [length]
    if not lengths or min(lengths) < 1:
        raise ConfigError("length must be at least 1")
    if not alphabet or len(set(alphabet)) != len(alphabet):
        raise ConfigError("alphabet must be non-empty without repeated characters")
    bad = [c for c in alphabet if c in '/\\:*?"<>|.' or not c.isprintable() or c.isspace()]
    if bad:
        raise ConfigError(f"alphabet characters not usable in file names: {''.join(bad)!r}")
    if count > sum(len(alphabet) ** n for n in lengths):
        raise ConfigError(
            f"cannot make {count} distinct labels of length {length} "
            f"from {len(alphabet)} characters"
        )
    seen: set[str] = set()
    labels: list[str] = []
    while len(labels) < count:
        n = lengths[0] if len(lengths) == 1 else rng.choice(lengths)
        label = "".join(rng.choice(alphabet) for _ in range(n))
        if label.lower() not in seen:  # case-insensitive file systems
            seen.add(label.lower())
            labels.append(label)
    return labels


def generate(
    out_dir: str | os.PathLike,
    count: int,
    length: int | str | Sequence[int] | None = None,
    alphabet: str | None = None,
    seed: int = 0,
    width: int | None = None,
    height: int | None = None,
    progress: bool = False,
    style: str = "captcha",
    image_format: str | None = None,
) -> list[Path]:
    """Write ``count`` labelled captchas (``<label>.png`` or ``.jpg``) into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created if missing; existing files are never overwritten.
    count : int
        Number of captchas.
    length : int, str or sequence of int, optional
        Characters per captcha; the style's natural length by default. Several
        lengths (``"4-6"``, a list) make a family of several lengths, each
        captcha's drawn evenly from them; unless ``width`` is given, each
        captcha is then as wide as the style draws that many characters at
        its natural pitch (the canvas grows with the text, as on sites that
        draw longer texts wider).
    alphabet : str, optional
        Characters to draw from; the style's natural alphabet by default.
    seed : int
        The same seed gives the same images.
    width, height : int, optional
        Image size in pixels; the style's natural size by default.
    progress : bool
        Show a progress bar.
    style : str
        How the captchas look, one of :data:`STYLES` (see the module's description).
    image_format : {"png", "jpeg"}, optional
        File format; the style's natural one by default (JPEG at quality 75 for
        ``"pale"``, PNG for the others).

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> paths = generate(tempfile.mkdtemp(), 2, style="pale", seed=1)
    >>> [p.suffix for p in paths]
    ['.jpg', '.jpg']
    """
    from tqdm.auto import tqdm

    look = get_style(style)
    lengths = parse_lengths(look.length if length is None else length) or (look.length,)
    fixed_width = width is not None
    alphabet = look.alphabet if alphabet is None else alphabet
    width = look.size[0] if width is None else width
    height = look.size[1] if height is None else height
    image_format = look.file_format if image_format is None else image_format.lower()
    image_format = "jpeg" if image_format == "jpg" else image_format
    if image_format not in _FORMATS:
        raise ConfigError(f"unknown image format {image_format!r}; choose png or jpeg")
    if image_format == "jpeg" and look.mode == "RGBA":
        raise ConfigError(f"style {style!r} draws transparency, which JPEG cannot hold")
    if count < 1:
        raise ConfigError("count must be at least 1")
    if width < 16 or height < 16:
        raise ConfigError("width and height must be at least 16 pixels")
    rng = random.Random(seed)
    labels = random_labels(count, lengths if len(lengths) > 1 else lengths[0], alphabet, rng)
    suffix, options = _FORMATS[image_format]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder")
    clash = [label for label in labels if (out / f"{label}{suffix}").exists()]
    if clash:
        raise DatasetError(
            f"{out}: {len(clash)} file(s) would be overwritten, e.g. {clash[0]}{suffix}"
        )
    out.mkdir(parents=True, exist_ok=True)
    draws: dict[int, Draw] = {}
    paths = []
    for label in tqdm(labels, desc="generating", unit="img", disable=not progress, leave=False):
        path = out / f"{label}{suffix}"
        wide = width if fixed_width or len(lengths) == 1 else round(
            width * len(label) / look.length
        )
        if wide not in draws:
            draws[wide] = look.make(wide, height)
        image = draws[wide](label, rng)
        if image_format == "jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        image.save(path, format=image_format, **options)
        paths.append(path)
    return paths
