"""Labelled synthetic captchas, reproducible by seed.

Two styles: ``"captcha"``, made by the ``captcha`` package (coloured glyphs of
random size and turn at an irregular spacing, noise dots and a curve), and
``"pitch"``: dark glyphs of one font at a steady pitch, touching their
neighbours, crossed by one noise curve, like many real captcha sets. They are
the embedded default data (the demo and the tests that must run anywhere train
on them) and families to check a recipe on besides real sets.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from .errors import ConfigError, DatasetError

DEFAULT_ALPHABET = "23456789abcdefghkmnpqrstuvwxyz"
STYLES: tuple[str, ...] = ("captcha", "pitch")


class _SeededSecrets:
    """The part of :mod:`secrets` the ``captcha`` package uses, backed by a seeded RNG.

    ``captcha`` draws every random choice from :mod:`secrets`, which cannot be
    seeded; swapping this in makes a generated set reproducible.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def randbelow(self, n: int) -> int:
        return self._rng.randrange(n)

    def randbits(self, k: int) -> int:
        return self._rng.getrandbits(k)

    def choice(self, seq: list) -> object:
        return self._rng.choice(seq)


@contextlib.contextmanager
def _seeded_captcha(rng: random.Random) -> Iterator[None]:
    import captcha.image as captcha_image

    original = captcha_image.secrets
    captcha_image.secrets = _SeededSecrets(rng)  # type: ignore[assignment]
    try:
        yield
    finally:
        captcha_image.secrets = original


def random_labels(count: int, length: int, alphabet: str, rng: random.Random) -> list[str]:
    """``count`` distinct random labels (file names must not collide).

    Examples
    --------
    >>> random_labels(3, 2, "ab", random.Random(0)) != []
    True
    """
    if length < 1:
        raise ConfigError("length must be at least 1")
    if not alphabet or len(set(alphabet)) != len(alphabet):
        raise ConfigError("alphabet must be non-empty without repeated characters")
    bad = [c for c in alphabet if c in '/\\:*?"<>|.' or not c.isprintable() or c.isspace()]
    if bad:
        raise ConfigError(f"alphabet characters not usable in file names: {''.join(bad)!r}")
    if count > len(alphabet) ** length:
        raise ConfigError(
            f"cannot make {count} distinct labels of length {length} "
            f"from {len(alphabet)} characters"
        )
    seen: set[str] = set()
    labels: list[str] = []
    while len(labels) < count:
        label = "".join(rng.choice(alphabet) for _ in range(length))
        if label.lower() not in seen:  # case-insensitive file systems
            seen.add(label.lower())
            labels.append(label)
    return labels


def generate(
    out_dir: str | os.PathLike,
    count: int,
    length: int = 5,
    alphabet: str = DEFAULT_ALPHABET,
    seed: int = 0,
    width: int = 160,
    height: int = 60,
    progress: bool = False,
    style: str = "captcha",
) -> list[Path]:
    """Write ``count`` labelled captcha PNGs (``<label>.png``) into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created if missing; existing files are never overwritten.
    count, length : int
        Number of captchas and characters per captcha.
    alphabet : str
        Characters to draw from.
    seed : int
        The same seed gives the same images.
    width, height : int
        Image size in pixels.
    progress : bool
        Show a progress bar.
    style : {"captcha", "pitch"}
        How the captchas look (see the module's description).

    Returns
    -------
    list of Path
        The files written.
    """
    from tqdm.auto import tqdm

    if style not in STYLES:
        raise ConfigError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    if count < 1:
        raise ConfigError("count must be at least 1")
    if width < 16 or height < 16:
        raise ConfigError("width and height must be at least 16 pixels")
    rng = random.Random(seed)
    labels = random_labels(count, length, alphabet, rng)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder")
    clash = [label for label in labels if (out / f"{label}.png").exists()]
    if clash:
        raise DatasetError(f"{out}: {len(clash)} file(s) would be overwritten, e.g. {clash[0]}.png")
    out.mkdir(parents=True, exist_ok=True)
    draw = _captcha_style(width, height) if style == "captcha" else _pitch_style(width, height)
    paths = []
    with _seeded_captcha(rng):
        for label in tqdm(labels, desc="generating", unit="img", disable=not progress, leave=False):
            path = out / f"{label}.png"
            draw(label, rng).save(path, format="png")
            paths.append(path)
    return paths


def _captcha_style(width: int, height: int) -> Callable[[str, random.Random], Image.Image]:
    """The ``captcha`` package's drawing (its random choices come from the
    seeded generator :func:`_seeded_captcha` puts in place)."""
    from captcha.image import ImageCaptcha

    # The package's default font sizes suit 60 px; scale them to the requested height.
    sizes = tuple(max(8, int(height * f)) for f in (0.7, 0.83, 0.93))
    maker = ImageCaptcha(width=width, height=height, font_sizes=sizes)
    return lambda label, _: maker.generate_image(label)


def _pitch_style(width: int, height: int) -> Callable[[str, random.Random], Image.Image]:
    """Glyphs of the font the ``captcha`` package ships (so it exists wherever
    the package does) in three sizes, each turned by up to 20 degrees and
    placed where it fits whole, a little up or down; dark grey on light grey,
    at a pitch of 75 % of the width over the label length (varied by up to
    15 % a step, so glyphs touch and overlap their neighbours); one sine-like
    curve across, about as thick as a stroke; a slight blur."""
    import captcha
    from PIL import ImageDraw, ImageFilter, ImageFont

    font_file = Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf"
    fonts = [ImageFont.truetype(str(font_file), max(8, int(height * f))) for f in (0.7, 0.8, 0.9)]

    def draw(label: str, rng: random.Random) -> Image.Image:
        image = Image.new("L", (width, height), rng.randint(200, 245))
        pitch = 0.75 * width / len(label)
        x = 0.125 * width + rng.uniform(-0.1, 0.1) * pitch
        for char in label:
            glyph = Image.new("L", (height, height), 0)
            font = rng.choice(fonts)
            ImageDraw.Draw(glyph).text((0.15 * height, -0.05 * height), char, fill=255, font=font)
            glyph = glyph.rotate(rng.uniform(-20, 20), resample=Image.BILINEAR)
            _, ink_top, _, ink_bottom = glyph.getbbox() or (0, 0, 0, height)
            slack = max(0, height - (ink_bottom - ink_top))
            top = int(slack * rng.uniform(0.2, 0.8)) - ink_top
            image.paste(rng.randint(20, 70), (int(x - 0.15 * height), top), glyph)
            x += pitch * rng.uniform(0.85, 1.15)
        xs = [width * i / 40 for i in range(41)]
        level, swing, waves, phase = (
            rng.uniform(0.3, 0.7) * height, rng.uniform(-0.2, 0.2) * height,
            rng.uniform(0.5, 2.0), rng.uniform(0, 2 * math.pi),
        )
        curve = [(x, level + swing * math.sin(math.pi * waves * x / width + phase)) for x in xs]
        ImageDraw.Draw(image).line(curve, fill=rng.randint(20, 70), width=max(1, height // 16))
        return image.filter(ImageFilter.GaussianBlur(0.6))

    return draw
