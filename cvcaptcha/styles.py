"""How synthetic captchas look: one drawing function per style, registered by name.

A style is a factory ``make(width, height)`` returning ``draw(label, rng)``, a
function that draws one captcha as a Pillow image using only ``rng`` for its
random choices, so a seed gives the same images. :func:`style` registers a
factory with the style's natural size, label length and alphabet, and the
file format its real counterpart comes in; adding a style touches one place.

The fonts are those every install has: DroidSansMono from the ``captcha``
package, Pillow's built-in scalable font (Aileron) and OpenCV's Hershey stroke
fonts (sans, serif and their italics), made bolder or slanted as needed.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ConfigError

Draw = Callable[[str, random.Random], Image.Image]
#: ``face(char, cap)``: the glyph's ink coverage in [0, 1] with capitals ``cap``
#: pixels tall, cropped to its ink columns, and the row of its baseline.
Face = Callable[[str, float], tuple[np.ndarray, int]]

DEFAULT_ALPHABET = "23456789abcdefghkmnpqrstuvwxyz"
UPPER_DIGITS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32: no I, O, 0, 1
MIXED_CASE = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # 56: no I, O, l, o


@dataclass(frozen=True)
class Style:
    """A registered style: its factory and the natural look of its real counterpart."""

    name: str
    make: Callable[[int, int], Draw]
    size: tuple[int, int]
    length: int
    alphabet: str
    file_format: str = "png"  # "png" or "jpeg"
    mode: str = "RGB"  # Pillow mode of the drawn images


#: The registered styles by name, in registration order.
REGISTRY: dict[str, Style] = {}


def style(
    name: str, size: tuple[int, int], length: int, alphabet: str,
    file_format: str = "png", mode: str = "RGB",
) -> Callable[[Callable[[int, int], Draw]], Callable[[int, int], Draw]]:
    """Register a drawing factory under ``name`` (a decorator).

    Examples
    --------
    >>> @style("flat", size=(40, 20), length=2, alphabet="ab")  # doctest: +SKIP
    ... def _flat(width, height):
    ...     return lambda label, rng: Image.new("L", (width, height), 255)
    """

    def register(make: Callable[[int, int], Draw]) -> Callable[[int, int], Draw]:
        REGISTRY[name] = Style(name, make, size, length, alphabet, file_format, mode)
        return make

    return register


def get_style(name: str) -> Style:
    """The style registered as ``name``; ConfigError naming the choices otherwise.

    Examples
    --------
    >>> get_style("tiny").size
    (80, 25)
    """
    if name not in REGISTRY:
        raise ConfigError(f"unknown style {name!r}; choose from {', '.join(REGISTRY)}")
    return REGISTRY[name]


# -- fonts and glyphs -----------------------------------------------------------
def _box(cap: float) -> tuple[int, int, int, int]:
    """Height, width, baseline row and pen column of a canvas holding one glyph."""
    return int(2 * cap) + 4, int(2.2 * cap) + 4, int(1.5 * cap) + 2, int(0.3 * cap) + 2


def _crop_columns(ink: np.ndarray) -> np.ndarray:
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    return ink[:, cols[0]:cols[-1] + 1] if cols.size else ink[:, :1]


def hershey_face(font: int, italic: bool = False, weight: float = 0.07) -> Face:
    """An OpenCV Hershey font as a :data:`Face`; ``weight`` is stroke width over cap height.

    Examples
    --------
    >>> ink, base = hershey_face(cv2.FONT_HERSHEY_COMPLEX)("A", 20)
    >>> bool(ink.shape[0] > base > 0 and 0.0 <= ink.min() and ink.max() <= 1.0)
    True
    """
    flags = font | (cv2.FONT_ITALIC if italic else 0)

    def render(char: str, cap: float) -> tuple[np.ndarray, int]:
        height, width, base, pen = _box(cap)
        ink = np.zeros((height, width), np.uint8)
        thickness = max(1, round(weight * cap))
        # Hershey capitals are 21 units tall at scale 1; a thick pen adds to them.
        scale = max(0.1, (cap - thickness + 1) / 21)
        cv2.putText(ink, char, (pen, base), flags, scale, 255, thickness, cv2.LINE_AA)
        return _crop_columns(ink.astype(np.float32) / 255), base

    return render


@functools.lru_cache(maxsize=256)
def _truetype(which: str, size: int) -> ImageFont.FreeTypeFont:
    if which == "droid":
        import captcha

        path = Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf"
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    try:
        font = ImageFont.load_default(size=size)  # Aileron, scalable in Pillow >= 10.1
    except TypeError:  # Pillow 10.0: no size
        font = None
    if not isinstance(font, ImageFont.FreeTypeFont):  # or a bitmap font without FreeType
        return _truetype("droid", size)
    return font


def truetype_face(which: str, bold: int = 0) -> Face:
    """``"droid"`` (DroidSansMono) or ``"aileron"`` (Pillow's font) as a :data:`Face`;
    ``bold`` strokes the outline that many pixels wider.

    Examples
    --------
    >>> ink, base = truetype_face("droid")("7", 20)
    >>> bool(ink.max() > 0.9)
    True
    """
    top = -_truetype(which, 100).getbbox("H", anchor="ls")[1]

    def render(char: str, cap: float) -> tuple[np.ndarray, int]:
        height, width, base, pen = _box(cap)
        image = Image.new("L", (width, height), 0)
        font = _truetype(which, max(6, round(100 * cap / top)))
        ImageDraw.Draw(image).text(
            (pen, base), char, fill=255, font=font, anchor="ls", stroke_width=bold, stroke_fill=255
        )
        return _crop_columns(np.asarray(image, np.float32) / 255), base

    return render


def turn(ink: np.ndarray, base: int, cap: float, angle: float = 0.0, slant: float = 0.0
         ) -> np.ndarray:
    """Turn a glyph by ``angle`` degrees and slant it (``slant`` = shift right per
    pixel up) about its middle, keeping its baseline row; columns recropped.

    Examples
    --------
    >>> ink = np.zeros((20, 4), np.float32); ink[5:15] = 1
    >>> turn(ink, 15, 10, slant=0.5).shape[1] > 4
    True
    """
    pad = int(0.6 * cap) + 2
    ink = np.pad(ink, ((0, 0), (pad, pad)))
    centre = (ink.shape[1] / 2, base - cap / 2)
    matrix = np.vstack([cv2.getRotationMatrix2D(centre, angle, 1.0), [0, 0, 1]])
    shear = np.array([[1, -slant, slant * centre[1]], [0, 1, 0], [0, 0, 1]])
    out = cv2.warpAffine(ink, (shear @ matrix)[:2], (ink.shape[1], ink.shape[0]),
                         flags=cv2.INTER_LINEAR)
    return _crop_columns(np.clip(out, 0, 1))


# -- canvases -------------------------------------------------------------------
def _canvas(width: int, height: int, colour: tuple[float, ...]) -> np.ndarray:
    """A float RGBA canvas (values in [0, 1]) filled with ``colour`` (RGB or RGBA)."""
    rgba = tuple(colour) + (1.0,) * (4 - len(colour))
    return np.tile(np.asarray(rgba, np.float32), (height, width, 1))


def _paint(canvas: np.ndarray, colour: tuple[float, float, float], cover: np.ndarray) -> None:
    """Lay ``colour`` over ``canvas`` with coverage ``cover`` (Porter-Duff over, in place)."""
    alpha = np.clip(cover, 0, 1)[..., None]
    below = canvas[..., 3:4] * (1 - alpha)
    total = alpha + below
    safe = np.where(total > 0, total, 1)
    canvas[..., :3] = (np.asarray(colour, np.float32) * alpha + canvas[..., :3] * below) / safe
    canvas[..., 3:4] = total


def _place(cover: np.ndarray, ink: np.ndarray, x: int, baseline: int, base: int) -> None:
    """Put a glyph's coverage with its left column at ``x``, its baseline at ``baseline``."""
    top = baseline - base
    height, width = cover.shape
    y0, y1 = max(0, top), min(height, top + ink.shape[0])
    x0, x1 = max(0, x), min(width, x + ink.shape[1])
    if y1 > y0 and x1 > x0:
        part = ink[y0 - top:y1 - top, x0 - x:x1 - x]
        cover[y0:y1, x0:x1] = np.maximum(cover[y0:y1, x0:x1], part)


def _to_image(canvas: np.ndarray, mode: str) -> Image.Image:
    rgba = Image.fromarray((np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8), "RGBA")
    return rgba if mode == "RGBA" else rgba.convert(mode)


def _wave(rng: random.Random, width: int, height: int, swing: float) -> np.ndarray:
    """Points of a sine-like curve across the whole width, for cv2.polylines."""
    level, amp = rng.uniform(0.35, 0.65) * height, rng.uniform(0.5, 1.0) * swing * height
    waves, phase = rng.uniform(0.7, 2.0), rng.uniform(0, 2 * math.pi)
    xs = np.linspace(-2, width + 2, 60)
    ys = level + amp * np.sin(2 * math.pi * waves * xs / width + phase)
    return np.round(np.stack([xs, ys], axis=1) * 16).astype(np.int32)  # 4 fractional bits


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h % 1.0, s, v)


# -- styles -----------------------------------------------------------------------
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


@style("captcha", size=(160, 60), length=5, alphabet=DEFAULT_ALPHABET)
def _captcha_style(width: int, height: int) -> Draw:
    """The ``captcha`` package's drawing: coloured glyphs of random size and turn
    at an irregular spacing, noise dots and a curve."""
    from captcha.image import ImageCaptcha

    # The package's default font sizes suit 60 px; scale them to the requested height.
    sizes = tuple(max(8, int(height * f)) for f in (0.7, 0.83, 0.93))
    maker = ImageCaptcha(width=width, height=height, font_sizes=sizes)

    def draw(label: str, rng: random.Random) -> Image.Image:
        with _seeded_captcha(rng):
            return maker.generate_image(label)

    return draw


@style("pitch", size=(160, 60), length=5, alphabet=DEFAULT_ALPHABET, mode="L")
def _pitch_style(width: int, height: int) -> Draw:
    """DroidSansMono glyphs in three sizes, each turned by up to 20 degrees and
    placed where it fits whole, a little up or down; dark grey on light grey,
    at a pitch of 75 % of the width over the label length (varied by up to
    15 % a step, so glyphs touch and overlap their neighbours); one sine-like
    curve across, about as thick as a stroke; a slight blur."""
    from PIL import ImageFilter

    fonts = [_truetype_plain(max(8, int(height * f))) for f in (0.7, 0.8, 0.9)]

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


def _truetype_plain(size: int) -> ImageFont.FreeTypeFont:
    """DroidSansMono with Pillow's default layout (as the pitch style always drew it)."""
    import captcha

    return ImageFont.truetype(str(Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf"),
                              size)


_SERIFS = [hershey_face(cv2.FONT_HERSHEY_COMPLEX), hershey_face(cv2.FONT_HERSHEY_TRIPLEX)]
_SERIF_ITALICS = [hershey_face(cv2.FONT_HERSHEY_COMPLEX, italic=True),
                  hershey_face(cv2.FONT_HERSHEY_TRIPLEX, italic=True)]


@style("plain", size=(72, 24), length=4, alphabet=UPPER_DIGITS, mode="L")
def _plain_style(width: int, height: int) -> Draw:
    """Black serif glyphs (upright or italic, regular or heavier, one font drawn
    per glyph) on white at a fixed pitch, each turned by up to 12 degrees; no
    noise, like a blog plugin's small captcha."""
    faces = _SERIFS + _SERIF_ITALICS

    def draw(label: str, rng: random.Random) -> Image.Image:
        canvas = _canvas(width, height, (1.0, 1.0, 1.0))
        cover = np.zeros((height, width), np.float32)
        cap, pitch = 0.5 * height, 0.8 * width / len(label)
        for i, char in enumerate(label):
            ink, base = rng.choice(faces)(char, cap)
            ink = turn(ink, base, cap, angle=rng.uniform(-12, 12))
            x = round(0.08 * width + i * pitch + (pitch - ink.shape[1]) / 2)
            _place(cover, ink, x, round(0.75 * height), base)
        _paint(canvas, (0.0, 0.0, 0.0), cover)
        return _to_image(canvas, "L")

    return draw


@style("pale", size=(90, 30), length=4, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ",
       file_format="jpeg")
def _pale_style(width: int, height: int) -> Draw:
    """Upper-case sans glyphs, well spaced, each of a random colour (a third of
    them very pale), on white; 20 to 40 short black scratches; saved as JPEG."""
    faces = [truetype_face("aileron"), truetype_face("aileron", bold=1), truetype_face("droid"),
             hershey_face(cv2.FONT_HERSHEY_DUPLEX, weight=0.1)]

    def draw(label: str, rng: random.Random) -> Image.Image:
        canvas = _canvas(width, height, (1.0, 1.0, 1.0))
        cap, pitch = 0.5 * height, 0.84 * width / len(label)
        for i, char in enumerate(label):
            ink, base = rng.choice(faces)(char, cap * rng.uniform(0.9, 1.1))
            ink = turn(ink, base, cap, angle=rng.uniform(-10, 10))
            cover = np.zeros((height, width), np.float32)
            x = round(0.08 * width + (i + 0.5) * pitch - ink.shape[1] / 2 + rng.uniform(-2, 2))
            _place(cover, ink, x, round(0.72 * height + rng.uniform(-2, 2)), base)
            pale = rng.random() < 1 / 3
            low, high = (0.6, 0.9) if pale else (0.0, 0.75)
            _paint(canvas, tuple(rng.uniform(low, high) for _ in range(3)), cover)
        scratches = np.zeros((height, width), np.uint8)
        for _ in range(rng.randint(20, 40)):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            length, angle = rng.uniform(0.1, 0.25) * height, rng.uniform(0, math.pi)
            end = (x + length * math.cos(angle), y + length * math.sin(angle))
            cv2.line(scratches, (round(x * 16), round(y * 16)),
                     (round(end[0] * 16), round(end[1] * 16)), 255, 1, cv2.LINE_AA, 4)
        _paint(canvas, (0.0, 0.0, 0.0), scratches.astype(np.float32) / 255)
        return _to_image(canvas, "RGB")

    return draw


@style("alpha", size=(240, 80), length=4, alphabet="0123456789", mode="RGBA")
def _alpha_style(width: int, height: int) -> Draw:
    """Hollow digits outlined in dots, overlapping and turned by up to 20
    degrees, with one thick wavy line of the same colour across and 30 to 60
    small dots of random colours, on a fully transparent background (whose
    pixels are transparent black, as a reader ignoring alpha sees them)."""
    faces = [truetype_face("droid", bold=2), truetype_face("aileron", bold=2),
             hershey_face(cv2.FONT_HERSHEY_TRIPLEX, weight=0.14)]

    def draw(label: str, rng: random.Random) -> Image.Image:
        canvas = _canvas(width, height, (0.0, 0.0, 0.0, 0.0))
        colour = _hsv(rng.random(), rng.uniform(0.6, 1.0), rng.uniform(0.45, 0.85))
        cover = np.zeros((height, width), np.uint8)
        cap = 0.6 * height
        dot, step = max(1, round(0.025 * cap)), max(3, round(0.09 * cap))
        glyphs = []
        for char in label:
            ink, base = rng.choice(faces)(char, cap)
            glyphs.append((turn(ink, base, cap, angle=rng.uniform(-20, 20)), base))
        pitch = 0.85 * np.mean([ink.shape[1] for ink, _ in glyphs])
        x = (width - pitch * (len(label) - 1) - glyphs[-1][0].shape[1]) / 2 + rng.uniform(-8, 8)
        for ink, base in glyphs:
            shape = np.zeros((height, width), np.float32)
            _place(shape, ink, round(x), round(0.5 * height + cap / 2 + rng.uniform(-4, 4)), base)
            outlines, _ = cv2.findContours((shape > 0.5).astype(np.uint8), cv2.RETR_LIST,
                                           cv2.CHAIN_APPROX_NONE)
            for outline in outlines:
                for px, py in outline[::step, 0]:
                    cv2.circle(cover, (int(px), int(py)), dot, 255, -1, cv2.LINE_AA)
            x += pitch
        cv2.polylines(cover, [_wave(rng, width, height, 0.15)], False, 255,
                      max(2, round(height / 12)), cv2.LINE_AA, 4)
        _paint(canvas, colour, cover.astype(np.float32) / 255)
        for _ in range(rng.randint(30, 60)):
            spot = np.zeros((height, width), np.uint8)
            centre = (rng.randrange(width), rng.randrange(height))
            cv2.circle(spot, centre, rng.randint(1, 2), 255, -1, cv2.LINE_AA)
            _paint(canvas, _hsv(rng.random(), rng.uniform(0.5, 1), rng.uniform(0.5, 1)),
                   spot.astype(np.float32) / 255)
        canvas[canvas[..., 3] == 0] = 0
        return _to_image(canvas, "RGBA")

    return draw


@style("serif", size=(90, 32), length=4, alphabet=MIXED_CASE)
def _serif_style(width: int, height: int) -> Draw:
    """Case-sensitive serif glyphs, upright, italic or slanted, in muted colours
    on a pale tinted background, turned by up to 10 degrees; three to five thin
    dark lines crossing from edge to edge."""
    faces = _SERIFS + _SERIF_ITALICS

    def draw(label: str, rng: random.Random) -> Image.Image:
        tint = _hsv(rng.random(), rng.uniform(0.04, 0.15), rng.uniform(0.93, 1.0))
        canvas = _canvas(width, height, tint)
        cap, pitch = 0.42 * height, 0.82 * width / len(label)
        for i, char in enumerate(label):
            ink, base = rng.choice(faces)(char, cap)
            slant = rng.choice([0.0, 0.0, rng.uniform(0.15, 0.3)])
            ink = turn(ink, base, cap, angle=rng.uniform(-10, 10), slant=slant)
            cover = np.zeros((height, width), np.float32)
            x = round(0.09 * width + (i + 0.5) * pitch - ink.shape[1] / 2 + rng.uniform(-1, 1))
            _place(cover, ink, x, round(0.7 * height + rng.uniform(-2, 2)), base)
            muted = _hsv(rng.random(), rng.uniform(0.25, 0.5), rng.uniform(0.3, 0.6))
            _paint(canvas, muted, cover)
        for _ in range(rng.randint(3, 5)):
            line = np.zeros((height, width), np.uint8)
            ends = [(-1.0, rng.uniform(0, height)), (width + 1.0, rng.uniform(0, height))]
            cv2.line(line, *[(round(x * 16), round(y * 16)) for x, y in ends], 255, 1,
                     cv2.LINE_AA, 4)
            _paint(canvas, tuple(rng.uniform(0.05, 0.3) for _ in range(3)),
                   line.astype(np.float32) / 255)
        return _to_image(canvas, "RGB")

    return draw


@style("tiny", size=(80, 25), length=5, alphabet="0123456789", mode="1")
def _tiny_style(width: int, height: int) -> Draw:
    """1-bit black digits on white, each in another font (two TrueType, four
    Hershey), weight and slant, touching their neighbours, no noise."""
    faces: list[Callable[[int], Face]] = [
        lambda bold: truetype_face("droid", bold),
        lambda bold: truetype_face("aileron", bold),
        lambda bold: hershey_face(cv2.FONT_HERSHEY_SIMPLEX, weight=0.07 + 0.07 * bold),
        lambda bold: hershey_face(cv2.FONT_HERSHEY_DUPLEX, weight=0.07 + 0.07 * bold),
        lambda bold: hershey_face(cv2.FONT_HERSHEY_COMPLEX, weight=0.07 + 0.07 * bold),
        lambda bold: hershey_face(cv2.FONT_HERSHEY_TRIPLEX, weight=0.07 + 0.07 * bold),
    ]
    faces_by_weight = [[make(bold) for make in faces] for bold in (0, 1)]

    def draw(label: str, rng: random.Random) -> Image.Image:
        cap = 0.6 * height
        picks = rng.sample(range(len(faces)), min(len(label), len(faces)))
        glyphs = []
        for i, char in enumerate(label):
            face = faces_by_weight[rng.randint(0, 1)][picks[i % len(picks)]]
            ink, base = face(char, cap * rng.uniform(0.9, 1.1))
            slant = rng.choice([0.0, rng.uniform(-0.3, 0.35)])
            glyphs.append((turn(ink, base, cap, slant=slant), base))
        gaps = [rng.randint(1, 2) for _ in glyphs[1:]]  # overlap in pixels: touching
        total = sum(ink.shape[1] for ink, _ in glyphs) - sum(gaps)
        x = round((width - total) / 2 + rng.uniform(-3, 3))
        cover = np.zeros((height, width), np.float32)
        baseline = round(0.8 * height + rng.uniform(-1, 1))
        for (ink, base), gap in zip(glyphs, [*gaps, 0]):
            _place(cover, ink, x, baseline, base)
            x += ink.shape[1] - gap
        return Image.fromarray(np.where(cover > 0.5, 0, 255).astype(np.uint8), "L").convert("1")

    return draw
