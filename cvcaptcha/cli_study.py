"""``cvcaptcha`` verbs that study recipes by training many recognizers:
``compare-segmenters``, ``learning-curve`` and ``search``."""

from __future__ import annotations

import argparse

from .cli_common import (
    add_verb,
    build_recognizer,
    error,
    out_dir_args,
    read_config,
    report_module,
)


# -- compare-segmenters -------------------------------------------------------
def _compare_segmenters(args: argparse.Namespace) -> int:
    from .compare import compare_segmenters, format_table, write_comparison
    from .io import load_dataset

    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    result = compare_segmenters(
        data.images, data.labels, cv=args.cv, classifier=args.classifier, seed=args.seed,
        progress=True,
    )
    for path in write_comparison(result, args.output):
        print(f"wrote {path}")
    print(format_table(result.rows))
    return 0


def add_compare_segmenters(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "compare-segmenters", help="cross-validate every segmentation strategy",
        description="Cross-validate every segmentation strategy with the same features and "
        "classifier; write results.csv, results.md and cuts.png.",
        usage=[
            "cvcaptcha compare-segmenters path/to/folder -o out/seg --cv 3",
            "cvcaptcha compare-segmenters path/to/folder -o out/seg --classifier logistic",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder to write")
    p.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--classifier", default=None, help="classifier name (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="fold shuffle seed (default 0)")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.set_defaults(func=_compare_segmenters)


# -- learning-curve ----------------------------------------------------------
def _fractions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"fractions must lie in (0, 1]: {text!r}")
    return values


def _learning_curve(args: argparse.Namespace) -> int:
    write_learning_curve = report_module().write_learning_curve
    config = read_config(args.config)
    if args.classifier:
        config["classifier"] = args.classifier
    index, result = write_learning_curve(
        build_recognizer(config), args.data_dir, args.output, force=args.force, progress=True,
        fractions=args.fractions, repeats=args.repeats, test_size=args.test_size, seed=args.seed,
    )
    for size, acc in zip(result["sizes"], result["test"].mean(axis=0)):
        print(f"{size:>6} training captchas  held-out captcha accuracy {acc:.4f}")
    print(f"learning curve written to {index}")
    return 0


def add_learning_curve(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "learning-curve", help="accuracy against training-set size, as an HTML page",
        description="Hold out a seeded random share of DATA_DIR, retrain the recipe on "
        "growing shares of the rest and write OUT_DIR/index.html with whole-captcha accuracy "
        "against training-set size (and the MLP loss curve with --classifier mlp). Time "
        "grows with len(fractions) x repeats fits.",
        usage=[
            "cvcaptcha learning-curve path/to/folder -o out/curve",
            "cvcaptcha learning-curve path/to/folder -o out/curve --classifier logistic "
            "--fractions 0.25,0.5,1",
            "cvcaptcha learning-curve path/to/folder -o out/curve --repeats 3 --seed 1",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    out_dir_args(p)
    p.add_argument("--config", metavar="FILE.json", help="JSON object of recognizer parameters")
    p.add_argument("--classifier", help="classifier name, overriding --config (e.g. mlp)")
    p.add_argument(
        "--fractions", type=_fractions, default=[0.1, 0.25, 0.5, 0.75, 1.0],
        help="comma-separated shares of the training part (default 0.1,0.25,0.5,0.75,1)",
    )
    p.add_argument("--repeats", type=int, default=1, help="held-out splits (default 1)")
    p.add_argument("--test-size", type=float, default=0.2, help="held-out share (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits (default 0)")
    p.set_defaults(func=_learning_curve)


# -- search -------------------------------------------------------------------
def _search(args: argparse.Namespace) -> int:
    from .grid import load_grid
    from .io import load_dataset
    from .search import run_search

    grid = load_grid(args.grid)  # a bad grid fails here, before any work
    base = build_recognizer(read_config(args.config))
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    try:
        result = run_search(
            data.images, data.labels, grid, args.output, cv=args.cv, jobs=args.jobs,
            backend=args.backend, scheduler=args.scheduler, halving=args.halving, seed=args.seed,
            cache_dir=args.cache_dir, base=base, force=args.force, progress=True,
        )
    except KeyboardInterrupt:
        error(f"interrupted; finished configurations are kept in {args.output}: "
              "run the same command again to resume")
        return 130
    best = result.best
    print(f"{len(result.rows)} configurations ({result.ran} run now) in {result.seconds:.0f} s; "
          f"results in {result.out_dir}")
    if best is not None:
        print(f"best: captcha accuracy {best['captcha_accuracy']:.4f} with {best['config']}")
    return 0


def add_search(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "search", help="cross-validated grid search over the whole pipeline",
        description="Cross-validate every configuration of a scikit-learn parameter grid of "
        "recognizer parameters (GRID.json: an object, or a list of objects, of parameter names "
        "-- classifier parameters as classifier__<name> -- to lists of values) on shuffled, "
        "seeded K folds. Writes OUT_DIR/results.csv (one row per configuration), summary.md "
        "and best.model (the best configuration refitted on all captchas). Finished "
        "configurations are saved as the search goes: after Ctrl-C, the same command resumes. "
        "The front end (resizing, binarisation, HOG maps) is cached on disk per front-end "
        "setting and reused across classifier settings, segmenters and folds.",
        usage=[
            "cvcaptcha search path/to/folder --grid benchmarks/grids/quick.json -o out/search "
            "--cv 3 --jobs 2",
            "cvcaptcha search path/to/folder --grid benchmarks/grids/medium.json -o out/medium "
            "--halving --jobs 2",
            "cvcaptcha search path/to/folder --grid GRID.json -o out/full --backend dask "
            "--scheduler tcp://HOST:8786",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--grid", required=True, metavar="GRID.json", help="parameter grid")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder to write")
    p.add_argument("--cv", type=int, default=3, help="number of folds (default 3)")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers (default 1)")
    p.add_argument(
        "--backend", choices=("loky", "dask"), default="loky",
        help="loky: local processes; dask: a Dask cluster (needs cvcaptcha[dask])",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster of "
        "--jobs workers)",
    )
    p.add_argument(
        "--halving", action="store_true",
        help="successive halving: weak configurations see only part of the captchas; "
        "measures captcha accuracy only and resumes only a finished search",
    )
    p.add_argument("--seed", type=int, default=0, help="fold shuffle seed (default 0)")
    p.add_argument(
        "--cache-dir", metavar="DIR",
        help="front-end cache (default OUT_DIR/cache; safe to share between workers and "
        "searches, delete it to reclaim space; with a remote Dask cluster, a path every "
        "worker can write)",
    )
    p.add_argument("--config", metavar="FILE.json", help="base recognizer parameters")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.add_argument(
        "--force", action="store_true", help="replace the results of a different search in OUT_DIR"
    )
    p.set_defaults(func=_search)
