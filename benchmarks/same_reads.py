"""Reads of the default recipe on one seeded split, saved or compared with saved ones.

Usage::

    python benchmarks/same_reads.py [DATA_DIR] [--seed 0] [--test-size 0.2]
        [--model MODEL.cvc] --output reads.json [--compare REFERENCE.json]

Trains the default :class:`~cvcaptcha.CaptchaRecognizer` on the seeded 80/20
split that ``benchmarks/accuracy.py`` uses (or loads ``--model`` instead) and
writes, for every held-out captcha, the text read, the captcha confidence and
each character's confidence. With ``--compare`` it checks those reads against
a file written the same way (by another version of the code): the same texts,
and confidences equal to ``--atol`` (1e-9). Exit status 1 when they differ.
This is how a refactor shows it changes no read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from cvcaptcha import CaptchaRecognizer, load_dataset, load_model, save_model


def reads(data_dir: str, seed: int, test_size: float, model_path: str | None,
          save_to: str | None) -> dict:
    """The held-out split's reads, keyed by file name."""
    data = load_dataset(data_dir, skip_bad=True)
    idx = np.arange(len(data.labels))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed)
    start = time.perf_counter()
    if model_path:
        model = load_model(model_path)
    else:
        model = CaptchaRecognizer().fit(
            [data.images[i] for i in train], [data.labels[i] for i in train]
        )
        if save_to:
            save_model(model, save_to, overwrite=True)
    fit_s = time.perf_counter() - start
    found = model.predict_details([data.images[i] for i in test])
    return {
        "seed": seed,
        "fit_s": round(fit_s, 2),
        "accuracy": float(np.mean([p.text == data.labels[i] for p, i in zip(found, test)])),
        "reads": {
            Path(data.paths[i]).name: {
                "text": p.text,
                "confidence": p.confidence,
                "char_confidences": p.char_confidences,
            }
            for p, i in zip(found, test)
        },
    }


def differences(a: dict, b: dict, atol: float) -> list[str]:
    """One line for each captcha read differently in ``a`` and ``b``."""
    out = []
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            out.append(f"{name}: read in only one of the two")
        elif x["text"] != y["text"]:
            out.append(f"{name}: {x['text']!r} != {y['text']!r}")
        elif not np.allclose(
            [x["confidence"], *x["char_confidences"]],
            [y["confidence"], *y["char_confidences"]], rtol=0, atol=atol,
        ):
            out.append(f"{name}: confidences {x['char_confidences']} != {y['char_confidences']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--model", help="read with this model file instead of training one")
    parser.add_argument("--save-model", help="also write the trained model here")
    parser.add_argument("--output", required=True)
    parser.add_argument("--compare", help="reads JSON of another version to compare with")
    parser.add_argument("--atol", type=float, default=1e-9)
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    result = reads(args.data_dir, args.seed, args.test_size, args.model, args.save_model)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(result['reads'])} captchas, accuracy {result['accuracy']:.4f}, "
          f"fit {result['fit_s']} s; wrote {args.output}")
    if not args.compare:
        return 0
    reference = json.loads(Path(args.compare).read_text())
    diff = differences(result["reads"], reference["reads"], args.atol)
    for line in diff:
        print(line)
    print(f"{len(diff)} of {len(result['reads'])} captchas read differently from {args.compare}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
