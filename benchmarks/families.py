"""The default recipe on several captcha families: one row per labelled folder.

Usage::

    python benchmarks/families.py FOLDER... [--output out/families.json]
        [--seeds 0 1 2] [--train N] [--test N] [--config FILE.json]

For each folder (a family) and seed, the default
:class:`~cvcaptcha.CaptchaRecognizer` (with ``--config`` parameters applied)
is trained on a seeded random sample of ``--train`` captchas and scored on
``--test`` others (by default 20 % of the folder held out, the rest trained
on). The table gives the sizes, whole-captcha and character accuracy, fit
seconds, milliseconds per captcha, the saved model's size in KiB and, when
the ``ddddocr`` package happens to be installed (it is never a dependency),
its zero-shot captcha accuracy on the same held-out captchas, exact and
case-folded. With several seeds each family gets a mean row. Results go to a
JSON file.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cvcaptcha.cli import read_config
from cvcaptcha.errors import ConfigError, CvCaptchaError, DatasetError
from cvcaptcha.evaluation import evaluate
from cvcaptcha.io import Dataset, load_dataset
from cvcaptcha.persist import save_model
from cvcaptcha.recognizer import CaptchaRecognizer
from cvcaptcha.tables import format_table, write_json

COLUMNS = (
    "family", "seed", "n_train", "n_test", "captcha_acc", "char_acc", "wrong_length", "fit_s",
    "ms_per_captcha", "model_kib", "ddddocr_acc", "ddddocr_folded_acc", "segmenter", "features",
    "clean", "threshold",
)
#: Columns averaged in a family's ``mean`` row.
NUMERIC = COLUMNS[2:-4]

Reader = Callable[[Path], str]


def split(n: int, seed: int, n_train: int | None, n_test: int | None) -> tuple[list, list]:
    """Seeded disjoint train and test indices of ``n`` captchas.

    ``n_test`` defaults to a fifth of them (at least one), ``n_train`` to the rest.

    Examples
    --------
    >>> train, test = split(10, 0, None, None)
    >>> len(train), len(test), sorted(train + test) == list(range(10))
    (8, 2, True)
    """
    n_test = max(1, round(0.2 * n)) if n_test is None else n_test
    n_train = n - n_test if n_train is None else n_train
    if n_train < 1 or n_test < 1:
        raise ConfigError("train and test sizes must be at least 1")
    if n_train + n_test > n:
        raise DatasetError(f"{n} captchas are fewer than {n_train} to train plus {n_test} to test")
    order = np.random.default_rng(seed).permutation(n).tolist()
    return order[n_test:n_test + n_train], order[:n_test]


def ddddocr_reader() -> Reader | None:
    """A function reading one captcha file with ``ddddocr``, or None when it is not installed."""
    try:
        import ddddocr  # optional, never a dependency
    except ImportError:
        return None
    try:
        ocr = ddddocr.DdddOcr(show_ad=False)
    except TypeError:  # versions without the show_ad switch
        ocr = ddddocr.DdddOcr()

    def read(path: Path) -> str:
        data = path.read_bytes()
        # png_fix puts transparent PNGs on white; ddddocr reads them as black otherwise.
        try:
            return str(ocr.classification(data, png_fix=path.suffix.lower() == ".png"))
        except TypeError:
            return str(ocr.classification(data))

    return read


def zero_shot(read: Reader, paths: list[Path], labels: list[str]) -> tuple[float, float]:
    """Captcha accuracy of ``read`` on the files, exact and case-folded.

    Examples
    --------
    >>> zero_shot(lambda p: p.stem.upper(), [Path("aB.png"), Path("c.png")], ["aB", "C"])
    (0.5, 1.0)
    """
    reads = [read(p) for p in paths]
    exact = float(np.mean([r == t for r, t in zip(reads, labels)]))
    folded = float(np.mean([r.casefold() == t.casefold() for r, t in zip(reads, labels)]))
    return exact, folded


def run_family(
    family: str,
    data: Dataset,
    seed: int,
    n_train: int | None,
    n_test: int | None,
    config: dict[str, Any],
    reader: Reader | None = None,
) -> dict[str, Any]:
    """Train on one seeded sample of a family, score on held-out captchas of it."""
    train, test = split(len(data), seed, n_train, n_test)
    model = CaptchaRecognizer().set_params(**config)
    start = time.perf_counter()
    model.fit([data.images[i] for i in train], [data.labels[i] for i in train])
    fit_s = time.perf_counter() - start
    test_labels = [data.labels[i] for i in test]
    result = evaluate(model, [data.images[i] for i in test], test_labels)
    with tempfile.TemporaryDirectory() as tmp:
        model_kib = save_model(model, Path(tmp) / "model.cvc").stat().st_size / 1024
    dddd: tuple[float | None, float | None] = (None, None)
    if reader is not None:
        dddd = zero_shot(reader, [data.paths[i] for i in test], test_labels)
    return {
        "family": family,
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "captcha_acc": result["captcha_accuracy"],
        "char_acc": result["char_accuracy"],
        "wrong_length": result["wrong_length"],
        "fit_s": fit_s,
        "ms_per_captcha": result["ms_per_captcha"],
        "model_kib": model_kib,
        "ddddocr_acc": dddd[0],
        "ddddocr_folded_acc": dddd[1],
        "segmenter": getattr(model, "fit_summary_", {}).get("segmenter", ""),
        "features": getattr(model, "fit_summary_", {}).get("features", ""),
        "clean": getattr(model, "fit_summary_", {}).get("clean", ""),
        "threshold": getattr(model, "fit_summary_", {}).get("threshold", ""),
        "by_length": result["by_length"],
    }


def mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The column means of one family's rows, labelled ``mean`` (None stays None)."""
    means = {
        c: None if any(r[c] is None for r in rows) else float(np.mean([r[c] for r in rows]))
        for c in NUMERIC
    }
    lengths = sorted({n for r in rows for n in r["by_length"]})
    by_length = {
        n: {
            key: float(np.mean([r["by_length"][n][key] for r in rows if n in r["by_length"]]))
            for key in ("n", "captcha_accuracy", "wrong_length")
        }
        for n in lengths
    }
    return {
        "family": rows[0]["family"], "seed": "mean", **means,
        "segmenter": "", "features": "", "clean": "", "threshold": "",
        "by_length": by_length,
    }


def length_row(row: dict[str, Any]) -> dict[str, Any]:
    """One result row's accuracy by label length as a line of text.

    Examples
    --------
    >>> length_row({"family": "f", "seed": 0, "by_length": {
    ...     4: {"n": 10, "captcha_accuracy": 0.9, "wrong_length": 0.1}}})["by_length"]
    '4: 0.900 (0.100)'
    """
    text = ", ".join(
        f"{n}: {r['captcha_accuracy']:.3f} ({r['wrong_length']:.3f})"
        for n, r in row["by_length"].items()
    )
    return {"family": row["family"], "seed": row["seed"], "by_length": text}


def family_names(folders: list[str]) -> list[str]:
    """Each folder's name, or its whole path where two names would be the same.

    Examples
    --------
    >>> family_names(["a/x", "b/x", "c/y"])
    ['a/x', 'b/x', 'y']
    """
    names = [Path(f).name or str(f) for f in folders]
    return [str(f) if names.count(n) > 1 else n for f, n in zip(folders, names)]


def read_corrections(path: str) -> dict[str, str]:
    """File name -> corrected label, from a CSV with ``file`` and ``corrected`` columns."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["file"]: row["corrected"] for row in csv.DictReader(fh)}


def correct(data: Dataset, corrections: dict[str, str]) -> int:
    """Replace the labels of the captchas ``corrections`` names; how many it replaced."""
    fixed = 0
    for i, path in enumerate(data.paths):
        if path.name in corrections:
            data.labels[i] = corrections[path.name]
            fixed += 1
    return fixed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", metavar="FOLDER", help="labelled captcha folders")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--train", type=int, help="captchas to train on (default: the rest)")
    parser.add_argument("--test", type=int, help="captchas to test on (default: a fifth)")
    parser.add_argument("--config", help="JSON file holding an object of recognizer parameters")
    parser.add_argument(
        "--corrections", help="CSV of file,label,corrected: labels checked by eye to be wrong, "
        "replaced (train and test) in every folder holding such a file",
    )
    parser.add_argument("--output", default="out/families.json")
    args = parser.parse_args(argv)
    reader = ddddocr_reader()
    if reader is None:
        print("ddddocr is not installed: no zero-shot column", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        config = read_config(args.config)
        for folder, family in zip(args.folders, family_names(args.folders)):
            data = load_dataset(folder, skip_bad=True)
            if args.corrections:
                fixed = correct(data, read_corrections(args.corrections))
                print(f"{family}: {fixed} labels corrected from {args.corrections}", flush=True)
            done = []
            for seed in args.seeds:
                done.append(run_family(family, data, seed, args.train, args.test, config, reader))
                print(format_table(done[-1:], COLUMNS).splitlines()[-1], flush=True)
            rows += done + ([mean_row(done)] if len(done) > 1 else [])
    except CvCaptchaError as exc:
        print(f"families: error: {exc}", file=sys.stderr)
        return 1
    print(format_table(rows, COLUMNS))
    mixed = [r for r in rows if len(r["by_length"]) > 1]
    if mixed:
        print("\ncaptcha accuracy by label length (wrong-length share)")
        print(format_table([length_row(r) for r in mixed], ("family", "seed", "by_length")))
    write_json(rows, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
