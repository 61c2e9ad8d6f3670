"""Held-out accuracy of prediction-time settings, on the same trained models.

Usage::

    python benchmarks/predict_settings.py [DATA_DIR] --settings FILE.json
        [--config RECIPE.json] [--seeds 0 1 2 3 4] [--test-size 0.2] [--output results.json]

Some settings act only when a model reads: the number of moved reads
(``shift_reads``, ``shift_span``) and the window segmenter's priors
(``pitch_weight``, ``margin_weight``, ``step``). Retraining for each would mix
their effect with the split-to-split noise of training (a point or two of
captcha accuracy on Kaggle), so this trains the default recipe (with ``--config``'s
parameters) once per seed (the 80/20 splits of ``accuracy.py``) and scores
every setting on the same models. ``FILE.json`` holds a list of ``{"name": ..., "params": {...},
"segmenter": {...}}`` objects: recognizer parameters and fitted-segmenter
attributes to set before predicting. The table has one row per setting, its
accuracy on each split and the mean.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from cvcaptcha.cli import build_recognizer, read_config
from cvcaptcha.errors import ConfigError, CvCaptchaError
from cvcaptcha.io import load_dataset
from cvcaptcha.recognizer import CaptchaRecognizer
from cvcaptcha.tables import write_json


def read_settings(path: str) -> list[dict[str, Any]]:
    """The settings of ``path``, checked for shape (a one-line ConfigError otherwise)."""
    try:
        settings = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--settings {path}: {exc}") from None
    if not isinstance(settings, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) for s in settings
    ):
        raise ConfigError("--settings must hold a list of objects, each with a name")
    for setting in settings:  # a bad parameter fails now, not after the first training
        _with_params(CaptchaRecognizer(), setting)
    return settings


def _with_params(model: CaptchaRecognizer, setting: dict[str, Any]) -> CaptchaRecognizer:
    """``model`` with a setting's recognizer parameters (ConfigError when unknown)."""
    try:
        return model.set_params(**setting.get("params", {}))
    except ValueError as exc:  # scikit-learn's message for an unknown parameter
        raise ConfigError(f"setting {setting['name']!r}: {exc}") from None


def apply(model: CaptchaRecognizer, setting: dict[str, Any]) -> CaptchaRecognizer:
    """A copy of ``model`` with one setting's parameters and segmenter attributes set."""
    model = _with_params(copy.deepcopy(model), setting)
    for key, value in setting.get("segmenter", {}).items():
        if not hasattr(model.segmenter_, key):
            raise ConfigError(f"segmenter {type(model.segmenter_).__name__} has no {key!r}")
        setattr(model.segmenter_, key, value)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--settings", required=True)
    parser.add_argument("--config", help="JSON file holding an object of recognizer parameters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--output", default="out/predict-settings.json")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        settings = read_settings(args.settings)
        recipe = build_recognizer(read_config(args.config))
        data = load_dataset(args.data_dir, skip_bad=True)
        scores: dict[str, list[float]] = {s["name"]: [] for s in settings}
        for seed in args.seeds:
            train, test = train_test_split(
                np.arange(len(data.labels)), test_size=args.test_size, random_state=seed
            )
            model = clone(recipe).fit(
                [data.images[i] for i in train], [data.labels[i] for i in train]
            )
            images, labels = [data.images[i] for i in test], [data.labels[i] for i in test]
            for setting in settings:
                reads = apply(model, setting).predict(images)
                scores[setting["name"]].append(float(np.mean(np.array(reads) == labels)))
            print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in scores.items()),
                  flush=True)
    except CvCaptchaError as exc:
        print(f"predict_settings: error: {exc}", file=sys.stderr)
        return 1
    rows = [
        {"setting": name, **{f"seed_{s}": a for s, a in zip(args.seeds, accs)},
         "mean": float(np.mean(accs))}
        for name, accs in scores.items()
    ]
    header = ["setting", *[f"seed_{s}" for s in args.seeds], "mean"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        cells = [row["setting"], *[f"{row[h]:.4f}" for h in header[1:]]]
        print("| " + " | ".join(cells) + " |")
    write_json(rows, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
