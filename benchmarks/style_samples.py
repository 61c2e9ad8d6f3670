"""A picture of every synthetic style: a few samples each, with their labels.

Usage::

    python benchmarks/style_samples.py [--output docs/styles.png] [--per-style 2] [--seed 0]

Each row shows one style at its natural size (scaled up to a common height),
with the style's name and size on the left and each sample's label below it;
transparent samples sit on a chequerboard so their transparency shows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.styles import get_style
from cvcaptcha.synth import STYLES, generate

ROW_HEIGHT = 72
GAP = 12
NAME_WIDTH = 130


def chequered(image: Image.Image, square: int = 6) -> Image.Image:
    """``image`` laid over a grey chequerboard (shows transparency), as RGB."""
    board = Image.new("RGBA", image.size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, image.size[1], square):
        for x in range((y // square) % 2 * square, image.size[0], 2 * square):
            draw.rectangle((x, y, x + square - 1, y + square - 1), fill=(205, 205, 205, 255))
    board.alpha_composite(image.convert("RGBA"))
    return board.convert("RGB")


def samples(style: str, count: int, seed: int, folder: Path) -> list[tuple[str, Image.Image]]:
    """``count`` captchas of ``style`` at its natural size: (label, image scaled up)."""
    paths = generate(folder / style, count, seed=seed, style=style)
    out = []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            scale = ROW_HEIGHT / image.size[1]
            size = (round(image.size[0] * scale), ROW_HEIGHT)
            shown = image.convert("RGBA").resize(size, Image.NEAREST)
        out.append((path.stem, chequered(shown) if image.mode == "RGBA" else shown.convert("RGB")))
    return out


def sheet(rows: list[tuple[str, list[tuple[str, Image.Image]]]]) -> Image.Image:
    """One row per style: its name and size, then each sample above its label."""
    font = ImageFont.load_default(size=15)
    small = ImageFont.load_default(size=13)
    row_h = ROW_HEIGHT + 24
    width = NAME_WIDTH + max(sum(im.size[0] + GAP for _, im in cells) for _, cells in rows)
    out = Image.new("RGB", (width + GAP, GAP + len(rows) * (row_h + GAP)), (245, 245, 245))
    draw = ImageDraw.Draw(out)
    y = GAP
    for name, cells in rows:
        look = get_style(name)
        draw.text((GAP, y + 18), name, fill=(0, 0, 0), font=font)
        note = f"{look.size[0]}x{look.size[1]} {look.file_format.upper()}"
        draw.text((GAP, y + 40), note, fill=(90, 90, 90), font=small)
        x = NAME_WIDTH
        for label, image in cells:
            out.paste(image, (x, y))
            draw.text((x, y + ROW_HEIGHT + 4), label, fill=(0, 0, 0), font=font)
            x += image.size[0] + GAP
        y += row_h + GAP
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="docs/styles.png")
    parser.add_argument("--per-style", type=int, default=2, help="samples per style")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--styles", nargs="+", choices=STYLES, default=list(STYLES))
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [(s, samples(s, args.per_style, args.seed, Path(tmp))) for s in args.styles]
    except CvCaptchaError as exc:
        print(f"style_samples: error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet(rows).save(out, optimize=True)
    for name, cells in rows:
        print(f"{name:8s} {'  '.join(label for label, _ in cells)}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
