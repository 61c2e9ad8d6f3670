"""Accuracy of self-training: a few labels plus unlabelled captchas of the family.

Usage::

    python benchmarks/self_training.py DATA_DIR --labelled 100 [--unlabelled N]
        [--seeds 0 1 2] [--test-size 0.2] [--baseline] [--config FILE.json]
        [--output results.json]

For each seed the folder is split as ``benchmarks/accuracy.py`` splits it
(``--test-size`` held out for scoring); of the training part, a seeded
``--labelled`` captchas keep their labels and the others (or ``--unlabelled``
of them) are given to ``fit`` as unlabelled images (no names, no labels).
The default recipe (with ``--config`` applied) is scored on the held-out part;
``--baseline`` also scores it trained on the labelled captchas alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from cvcaptcha.cli import read_config
from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.evaluation import evaluate
from cvcaptcha.io import load_dataset
from cvcaptcha.recognizer import CaptchaRecognizer
from cvcaptcha.tables import write_json


def run_split(
    images: list[np.ndarray], labels: list[str], seed: int, args: argparse.Namespace,
    config: dict[str, Any],
) -> dict[str, Any]:
    """Self-train on one split and score on its held-out part."""
    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=args.test_size, random_state=seed)
    order = np.random.default_rng(seed).permutation(train)
    labelled, rest = order[: args.labelled], order[args.labelled:]
    if args.unlabelled is not None:
        rest = rest[: args.unlabelled]
    test_images, test_labels = [images[i] for i in test], [labels[i] for i in test]
    row: dict[str, Any] = {
        "seed": seed, "n_labelled": len(labelled), "n_unlabelled": len(rest), "n_test": len(test),
    }
    if args.baseline:
        alone = CaptchaRecognizer().set_params(**config)
        alone.fit([images[i] for i in labelled], [labels[i] for i in labelled])
        row["labels_only_acc"] = _score(alone, test_images, test_labels)
    model = CaptchaRecognizer().set_params(**config)
    start = time.perf_counter()
    model.fit(
        [images[i] for i in labelled], [labels[i] for i in labelled],
        unlabelled=[images[i] for i in rest],
    )
    row["fit_s"] = time.perf_counter() - start
    result = evaluate(model, test_images, test_labels)
    row["captcha_acc"], row["char_acc"] = result["captcha_accuracy"], result["char_accuracy"]
    training = model.fit_summary_.get("self_training", {})
    row["added"] = training.get("added", 0)
    row["rounds"] = training.get("rounds", [])
    row["features"] = model.fit_summary_.get("features")  # the reader input auto chose
    return row


def _score(model: CaptchaRecognizer, images: list[np.ndarray], labels: list[str]) -> float:
    """Whole-captcha accuracy, 0 for labels the model cannot emit (an
    alphabet learned from few labels may miss a character)."""
    predicted = model.predict(images)
    return float(np.mean([p == t for p, t in zip(predicted, labels)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--labelled", type=int, required=True)
    parser.add_argument("--unlabelled", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--config", help="JSON file holding an object of recognizer parameters")
    parser.add_argument("--output", default="out/self-training.json")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        config = read_config(args.config)
        data = load_dataset(args.data_dir, skip_bad=True)
        rows = []
        for seed in args.seeds:
            rows.append(run_split(data.images, data.labels, seed, args, config))
            row = rows[-1]
            base = f", labels only {row['labels_only_acc']:.4f}" if args.baseline else ""
            print(f"seed {seed}: {row['n_labelled']} labelled + {row['n_unlabelled']} "
                  f"unlabelled ({row['added']} kept): captcha {row['captcha_acc']:.4f}, "
                  f"char {row['char_acc']:.4f}, fit {row['fit_s']:.0f} s{base}", flush=True)
    except CvCaptchaError as exc:
        print(f"self_training: error: {exc}", file=sys.stderr)
        return 1
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("captcha_acc", "char_acc", "fit_s")}
    print(f"mean captcha accuracy {mean['captcha_acc']:.4f} over seeds {args.seeds}")
    write_json({"rows": rows, "mean": mean}, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
