"""The README's pictures: ``docs/reads.png`` and, optionally, ``docs/report.png``.

Usage::

    python benchmarks/figures.py MODEL TEST_DIR [--name STEM] [--out docs]
        [--report] [--chromium chromium]

``docs/reads.png``: one captcha of ``TEST_DIR`` (the file ``STEM.png`` with
``--name``; otherwise the first, in name order, that the model reads right and
whose label holds an ``m`` or an ``n``) with the model's character windows
drawn over it and, above each window, the character read and the reader's
confidence in it, from :meth:`CaptchaRecognizer.predict_details` (cuts in the
original image's pixels).

``docs/report.png`` (with ``--report``): ``cvcaptcha report MODEL TEST_DIR``
written to a temporary folder, then its ``index.html`` rendered by headless
Chromium (``apt-get install chromium``) as a 1000x1900 screenshot. The same by
hand::

    cvcaptcha report MODEL TEST_DIR -o /tmp/report-out
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \\
        --screenshot=docs/report.png --window-size=1000,1900 \\
        file:///tmp/report-out/index.html

The pictures in ``docs/`` come from the default recipe trained on the seed-0
832 Kaggle captchas, read on the 208 held-out ones (the split of
``benchmarks/accuracy.py --seeds 0``; see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from cvcaptcha import load_model  # noqa: E402
from cvcaptcha.errors import CvCaptchaError  # noqa: E402
from cvcaptcha.io import label_of, list_images, read_image  # noqa: E402

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def pick(model, paths: list[Path], name: str | None) -> tuple[Path, object]:
    """The captcha to draw and the model's reading of it."""
    if name is not None:
        chosen = [p for p in paths if p.stem == name]
        if not chosen:
            raise SystemExit(f"figures: no {name}.* in the test folder")
        return chosen[0], model.predict_details([read_image(chosen[0])])[0]
    for path in paths:
        label = label_of(path)
        if "m" not in label and "n" not in label:
            continue
        pred = model.predict_details([read_image(path)])[0]
        if pred.text == label:
            return path, pred
    raise SystemExit("figures: no captcha with an m or an n read right; pass --name")


def draw_reads(model, test_dir: Path, out: Path, name: str | None = None) -> Path:
    """Draw one captcha with its character windows and per-character confidences."""
    path, pred = pick(model, list_images(test_dir), name)
    grey = read_image(path)
    h, w = grey.shape
    fig, ax = plt.subplots(figsize=(w / 40, h / 40 + 1.1), dpi=150)
    ax.imshow(grey, cmap="gray", vmin=0, vmax=255)
    for k, ((x0, x1), char, conf) in enumerate(
        zip(pred.cuts.tolist(), pred.text, pred.char_confidences)
    ):
        colour = COLOURS[k % len(COLOURS)]
        ax.add_patch(
            Rectangle((x0 - 0.5, -0.5 + 1 + k % 2), x1 - x0, h - 3, fill=False,
                      edgecolor=colour, linewidth=2)
        )
        ax.text((x0 + x1) / 2, -3 - 9 * (k % 2), f"{char} {conf:.2f}", color=colour,
                ha="center", va="bottom", fontsize=11, fontweight="bold")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -24)
    ax.axis("off")
    ax.set_title(
        f"{path.name}: read {pred.text!r}, confidence {pred.confidence:.3f}",
        fontsize=11, pad=2,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return out


def draw_report(model_path: Path, test_dir: Path, out: Path, chromium: str) -> Path:
    """Write the model's analysis report and screenshot it with headless Chromium."""
    browser = shutil.which(chromium)
    if browser is None:
        raise SystemExit(f"figures: {chromium} not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report"
        subprocess.run(
            [sys.executable, "-m", "cvcaptcha", "report", str(model_path), str(test_dir),
             "-o", str(page)],
            check=True,
        )
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={out.resolve()}", "--window-size=1000,1900",
             (page / "index.html").resolve().as_uri()],
            check=True, stderr=subprocess.DEVNULL,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("test_dir", type=Path)
    parser.add_argument("--name", help="file stem of the captcha to draw")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--report", action="store_true", help="also write report.png")
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.model)
        print(draw_reads(model, args.test_dir, args.out / "reads.png", args.name))
        if args.report:
            print(draw_report(args.model, args.test_dir, args.out / "report.png", args.chromium))
    except CvCaptchaError as exc:
        print(f"figures: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
