"""The text-band crop (``band``) on captchas whose text sits in a strip of a tall canvas.

Usage::

    python benchmarks/band.py [--style plain] [--count 500] [--train 300]
        [--output out/band.json]

Draws ``--count`` captchas of a synthetic style, pastes each into a random
strip of a canvas three times as tall (a site drawing small text anywhere in
a tall image), and trains the recipe (``components`` segmenter) on the first
``--train`` with ``band`` off, on, and ``"auto"``, scoring each on the rest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.synth import STYLES, generate
from cvcaptcha.tables import format_table, write_json


def tall_canvas(images: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Each image pasted at a random height into a white canvas three times as tall.

    Examples
    --------
    >>> [c.shape for c in tall_canvas([np.zeros((10, 30), np.uint8)], 0)]
    [(30, 30)]
    """
    rng = np.random.default_rng(seed)
    out = []
    for img in images:
        h = img.shape[0]
        top = int(rng.integers(0, 2 * h + 1))
        canvas = np.full((3 * h, img.shape[1]), 255, np.uint8)
        canvas[top:top + h] = img
        out.append(canvas)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", choices=STYLES, default="plain")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="out/band.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "data", args.count, seed=args.seed, style=args.style)
        data = load_dataset(Path(tmp) / "data")
    images = tall_canvas(data.images, args.seed)
    n = args.train
    rows = []
    for band in (False, True, "auto"):
        model = CaptchaRecognizer(band=band, segmenter="components")
        model.fit(images[:n], data.labels[:n])
        rows.append({
            "style": args.style, "band": str(band), "band_chosen": model.band_,
            "n_train": n, "n_test": len(images) - n,
            "captcha_acc": model.score(images[n:], data.labels[n:]),
        })
        print(format_table(rows[-1:], list(rows[-1])).splitlines()[-1], flush=True)
    print(format_table(rows, list(rows[0])))
    write_json(rows, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
