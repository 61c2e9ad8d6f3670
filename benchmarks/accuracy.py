"""Accuracy of the default recipe on random 80/20 splits of a labelled folder.

Usage::

    python benchmarks/accuracy.py [DATA_DIR] [--seeds 0 1 2] [--test-size 0.2]
        [--config FILE.json] [--output results.json]

``DATA_DIR`` defaults to the ``CVCAPTCHA_DATA`` environment variable. For each
seed the default :class:`~cvcaptcha.CaptchaRecognizer` (with ``--config``
parameters applied) is trained on a random share of the captchas and scored
on the rest; the table has one row per seed and their mean. Results go to a
JSON or CSV file (by extension).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from cvcaptcha.cli import read_config
from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.evaluation import evaluate
from cvcaptcha.io import load_dataset
from cvcaptcha.recognizer import CaptchaRecognizer
from cvcaptcha.tables import format_table

COLUMNS = (
    "seed", "n_train", "n_test", "captcha_acc", "char_acc", "fit_s", "ms_per_captcha", "segmenter",
    "features", "clean",
)
#: Columns averaged in the ``mean`` row.
NUMERIC = COLUMNS[1:-3]


def run_split(
    images: list[np.ndarray],
    labels: list[str],
    seed: int,
    test_size: float,
    config: dict[str, Any],
) -> dict[str, Any]:
    """Train on one random split and score on its held-out part."""
    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed)
    model = CaptchaRecognizer().set_params(**config)
    start = time.perf_counter()
    model.fit([images[i] for i in train], [labels[i] for i in train])
    fit_s = time.perf_counter() - start
    result = evaluate(model, [images[i] for i in test], [labels[i] for i in test])
    return {
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "captcha_acc": result["captcha_accuracy"],
        "char_acc": result["char_accuracy"],
        "fit_s": fit_s,
        "ms_per_captcha": result["ms_per_captcha"],
        "segmenter": model.fit_summary_["segmenter"],  # what segmenter="auto" chose
        "features": model.fit_summary_.get("features", ""),  # and features="auto"
        "clean": model.fit_summary_.get("clean", ""),  # and clean="auto"
    }


def mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The column means of ``rows``, labelled ``mean``."""
    means = {c: float(np.mean([r[c] for r in rows])) for c in NUMERIC}
    return {"seed": "mean", **means, "segmenter": "", "features": "", "clean": ""}


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """Save rows as CSV (``.csv``) or JSON (anything else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text(json.dumps(rows, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--config", help="JSON file holding an object of recognizer parameters")
    parser.add_argument("--output", default="out/accuracy.json")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        config = read_config(args.config)
        data = load_dataset(args.data_dir, skip_bad=True)
        rows = []
        for seed in args.seeds:
            rows.append(run_split(data.images, data.labels, seed, args.test_size, config))
            print(format_table(rows[-1:], COLUMNS).splitlines()[-1], flush=True)
    except CvCaptchaError as exc:
        print(f"accuracy: error: {exc}", file=sys.stderr)
        return 1
    rows.append(mean_row(rows))
    print(format_table(rows, COLUMNS))
    write_rows(rows, Path(args.output))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
