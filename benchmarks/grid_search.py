"""Run a parameter grid on a labelled folder, print the best configurations and the time.

Usage::

    python benchmarks/grid_search.py [DATA_DIR] [--grid benchmarks/grids/quick.json]
        [--sample N] [--cv 3] [--jobs 2] [--backend loky|dask] [--scheduler ADDRESS]
        [--halving] [--out out/grid_search] [--output out/grid_search.json]

``DATA_DIR`` defaults to the ``CVCAPTCHA_DATA`` environment variable. The
search is :func:`cvcaptcha.search.run_search` (the ``cvcaptcha search`` verb):
``--out`` receives its ``results.csv``, ``summary.md`` and ``best.model`` and
an interrupted run resumes there. ``--sample N`` searches N configurations of
the grid drawn at random (seeded), e.g. 200 of ``full.json`` for the timing
floor. The top of the table and the wall time (with the machine's core count)
are printed and saved to ``--output`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from cvcaptcha.errors import CvCaptchaError
from cvcaptcha.grid import configurations, load_grid
from cvcaptcha.io import load_dataset
from cvcaptcha.search import run_search
from cvcaptcha.search_results import format_table

GRIDS = Path(__file__).resolve().parent / "grids"


def sample_grid(grid: list[dict[str, list[Any]]], n: int, seed: int) -> list[dict[str, list[Any]]]:
    """``n`` configurations of ``grid`` drawn without replacement, as a grid of single values.

    ``ParameterGrid`` of the result enumerates exactly the drawn configurations.
    """
    configs = configurations(grid)
    drawn = random.Random(seed).sample(configs, min(n, len(configs)))
    return [{k: [v] for k, v in params.items()} for params in drawn]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--grid", default=str(GRIDS / "quick.json"))
    parser.add_argument("--sample", type=int, help="search N random configurations of the grid")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the sample")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--backend", choices=("loky", "dask"), default="loky")
    parser.add_argument("--scheduler", help="Dask scheduler address")
    parser.add_argument("--halving", action="store_true")
    parser.add_argument("--top", type=int, default=15, help="rows printed")
    parser.add_argument("--out", default="out/grid_search", help="search folder (resumable)")
    parser.add_argument("--output", default="out/grid_search.json", help="timing and top rows")
    parser.add_argument("--force", action="store_true", help="replace another search in --out")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    try:
        grid = load_grid(args.grid)
        if args.sample:
            grid = sample_grid(grid, args.sample, args.seed)
        data = load_dataset(args.data_dir, skip_bad=True)
        start = time.perf_counter()
        result = run_search(
            data.images, data.labels, grid, args.out, cv=args.cv, jobs=args.jobs,
            backend=args.backend, scheduler=args.scheduler, halving=args.halving,
            seed=args.seed, force=args.force, progress=True,
        )
        wall = time.perf_counter() - start
    except CvCaptchaError as exc:
        print(f"grid_search: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("grid_search: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(format_table(result.rows, result.params, args.top))
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else os.cpu_count()
    record = {
        "data": str(args.data_dir), "n_images": len(data), "grid": args.grid,
        "sample": args.sample, "configurations": len(result.rows), "evaluated_now": result.ran,
        "cv": args.cv, "jobs": args.jobs, "backend": args.backend, "halving": args.halving,
        "cores": cores,
        "wall_s": round(wall, 1),
        "top": [
            {k: r[k] for k in ("rank", "config", "captcha_accuracy", "char_accuracy", "fit_s")}
            for r in result.rows[: args.top]
        ],
    }
    print(
        f"{record['configurations']} configurations ({result.ran} evaluated now) x {args.cv} "
        f"folds on {len(data)} captchas: {wall:.0f} s with {args.jobs} jobs on "
        f"{record['cores']} cores; results in {args.out}"
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
