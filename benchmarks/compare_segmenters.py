"""Cross-validate every segmentation strategy on a labelled folder.

Usage::

    python benchmarks/compare_segmenters.py [DATA_DIR] [-o OUT_DIR] [--cv 5]
        [--classifier NAME] [--seed 0]

``DATA_DIR`` defaults to the ``CVCAPTCHA_DATA`` environment variable. Writes
``results.csv``, ``results.md`` and ``cuts.png`` into ``OUT_DIR`` and prints
the table; the same as ``cvcaptcha compare-segmenters``, except that the reader
defaults to the recipe's (the verb's default is logistic) and nothing is
announced before the work.
"""

from __future__ import annotations

import argparse
import os
import sys

from cvcaptcha.compare import compare_segmenters, format_table, write_comparison
from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.io import load_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("-o", "--output", default="out/segmenters")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--classifier", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        data = load_dataset(args.data_dir, skip_bad=True, progress=True)
        result = compare_segmenters(
            data.images, data.labels, cv=args.cv, classifier=args.classifier,
            seed=args.seed, progress=True,
        )
        for path in write_comparison(result, args.output):
            print(f"wrote {path}")
    except CvCaptchaError as exc:
        print(f"compare_segmenters: error: {exc}", file=sys.stderr)
        return 1
    print(format_table(result.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
