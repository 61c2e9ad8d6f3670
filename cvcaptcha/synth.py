"""Labelled synthetic captchas from the ``captcha`` package, reproducible by seed.

They are the embedded default data: the demo and the tests that must run
anywhere train on them, and they give a second captcha style besides real sets.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError, DatasetError

DEFAULT_ALPHABET = "23456789abcdefghkmnpqrstuvwxyz"


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

    Returns
    -------
    list of Path
        The files written.
    """
    from captcha.image import ImageCaptcha
    from tqdm.auto import tqdm

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
    # The package's default font sizes suit 60 px; scale them to the requested height.
    sizes = tuple(max(8, int(height * f)) for f in (0.7, 0.83, 0.93))
    maker = ImageCaptcha(width=width, height=height, font_sizes=sizes)
    paths = []
    with _seeded_captcha(rng):
        for label in tqdm(labels, desc="generating", unit="img", disable=not progress, leave=False):
            path = out / f"{label}.png"
            maker.generate_image(label).save(path, format="png")
            paths.append(path)
    return paths
