"""Per-stage prediction time of a model, single and batch, and ddddocr beside it.

Usage::

    python benchmarks/speed.py MODEL [DATA_DIR] [--count 200] [--repeat 3]
        [--output speed.json]

``DATA_DIR`` defaults to ``CVCAPTCHA_DATA``. Every stage runs on the same PNG
bytes, one captcha at a time on one core (set ``OPENBLAS_NUM_THREADS=1``);
times are the best of ``--repeat`` passes, in milliseconds per captcha:

* decode: PNG bytes to a grey array (``cvcaptcha.io.read_image``);
* preprocess: resize to the working height, binarise, ink levels;
* hog map: the HOG of the whole captcha's ink levels (what the locator reads);
* segment: the locator's scores of the candidate windows, the Viterbi path
  and its recentring by the reader (or an unguided strategy's cuts):
  ``model.cut_status([gray])`` minus the two stages above;
* features: the reader's features of the chosen slices:
  ``model.char_features([gray])`` minus ``cut_status``;
* classify: the reader's probabilities and the text: ``predict`` minus
  ``char_features``;
* predict (single): ``model.predict([gray])`` per captcha, from decoded array to text;
* predict (batch): ``model.predict(all_grays)`` divided by the count;
* end to end: decode + single predict from the PNG bytes.

When ``ddddocr`` is installed (optional; never a dependency) it reads the same
PNG bytes in the same run, and the table gives its time and accuracy and the
speed and size ratios. Results go to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.features import hog_map
from cvcaptcha.io import IMAGE_EXTENSIONS, read_image
from cvcaptcha.persist import load_model
from cvcaptcha.preprocess import ink_levels, preprocess, resize_height
from cvcaptcha.recognizer import CaptchaRecognizer


def per_item_ms(func: Callable[[Any], Any], items: list[Any], repeat: int) -> float:
    """Best of ``repeat`` passes of the time per item, in milliseconds (the
    best pass is the one least disturbed by the rest of the machine, as
    :mod:`timeit` advises; stage times are differences of such passes)."""
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            func(item)
        passes.append((time.perf_counter() - start) / len(items))
    return 1000.0 * min(passes)


def stage_times(model: CaptchaRecognizer, pngs: list[bytes], repeat: int) -> dict[str, float]:
    """Milliseconds per captcha of each stage (see the module docstring)."""
    params = model.front_params()
    grays = [read_image(b) for b in pngs]

    def resize(gray: np.ndarray) -> np.ndarray:
        return resize_height(gray, params["height"])[0] if params["height"] else gray

    def clean(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = preprocess(
            gray, params["threshold"], params["open_frac"], params["speck_frac"],
            params["line_frac"],
        )
        return mask, ink_levels(gray)

    inks = [clean(resize(g))[1] for g in grays]

    def hog(ink: np.ndarray) -> np.ndarray:
        return hog_map(ink, params["hog_orientations"], params["hog_cell"], params["hog_block"])

    times = {
        "decode": per_item_ms(read_image, pngs, repeat),
        "preprocess": per_item_ms(lambda g: clean(resize(g)), grays, repeat),
        "hog map": per_item_ms(hog, inks, repeat),
        "segment": per_item_ms(lambda g: model.cut_status([g]), grays, repeat),
        "features": per_item_ms(lambda g: model.char_features([g]), grays, repeat),
        "predict (single)": per_item_ms(lambda g: model.predict([g]), grays, repeat),
    }
    times["classify"] = max(0.0, times["predict (single)"] - times["features"])
    times["features"] = max(0.0, times["features"] - times["segment"])
    times["segment"] = max(0.0, times["segment"] - times["preprocess"] - times["hog map"])
    times["predict (batch)"] = per_item_ms(model.predict, [grays], repeat) / len(grays)
    times["end to end"] = times["decode"] + times["predict (single)"]
    order = ["decode", "preprocess", "hog map", "segment", "features", "classify"]
    return {k: times[k] for k in order} | {k: v for k, v in times.items() if k not in order}


def ddddocr_result(pngs: list[bytes], labels: list[str], repeat: int) -> dict[str, Any] | None:
    """ddddocr's time per captcha and accuracy on the same bytes, if it is installed."""
    try:
        import ddddocr
    except ImportError:
        return None
    ocr = ddddocr.DdddOcr(show_ad=False)
    texts = [ocr.classification(b) for b in pngs]
    ms = per_item_ms(ocr.classification, pngs, repeat)
    onnx = Path(ddddocr.__file__).parent / "common_old.onnx"
    size = onnx.stat().st_size if onnx.exists() else None
    accuracy = float(np.mean([t.strip() == label for t, label in zip(texts, labels)]))
    return {"ms_per_captcha": ms, "captcha_accuracy": accuracy, "model_bytes": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--count", type=int, default=200, help="captchas to time (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="passes per stage (default 5)")
    parser.add_argument("--output", type=Path, default=Path("speed.json"))
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        model = load_model(args.model)
        files = sorted(
            p for p in Path(args.data).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
        )[: args.count]
        if not files:
            raise CvCaptchaError(f"{args.data}: no images")
        pngs = [p.read_bytes() for p in files]
        labels = [p.stem for p in files]
        times = stage_times(model, pngs, args.repeat)
    except CvCaptchaError as exc:
        print(f"speed.py: error: {exc}", file=sys.stderr)
        return 1
    texts = model.predict([read_image(b) for b in pngs])
    accuracy = float(np.mean([t == label for t, label in zip(texts, labels)]))
    model_bytes = args.model.stat().st_size
    rows = [(stage, f"{ms:.3f}") for stage, ms in times.items()]
    dddd = ddddocr_result(pngs, labels, args.repeat)
    result: dict[str, Any] = {
        "model": str(args.model), "data": str(args.data), "count": len(pngs),
        "ms_per_captcha": times, "captcha_accuracy": accuracy, "model_bytes": model_bytes,
        "ddddocr": dddd,
    }
    print(f"{'stage':<22} {'ms/captcha':>10}")
    for stage, ms in rows:
        print(f"{stage:<22} {ms:>10}")
    size_kib = model_bytes / 1024
    print(f"model file: {size_kib:.0f} KiB; accuracy on these {len(pngs)}: {accuracy:.3f}")
    if dddd:
        ratio = dddd["ms_per_captcha"] / times["end to end"]
        print(
            f"ddddocr: {dddd['ms_per_captcha']:.3f} ms/captcha ({ratio:.1f}x our time), "
            f"accuracy {dddd['captcha_accuracy']:.3f}"
            + (f", model {dddd['model_bytes'] / 1e6:.0f} MB" if dddd["model_bytes"] else "")
        )
    else:
        print("ddddocr: not installed (pip install ddddocr to compare)")
    args.output.write_text(json.dumps(result, indent=1))
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
