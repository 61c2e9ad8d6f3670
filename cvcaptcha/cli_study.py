"""``cvcaptcha`` verbs that study recipes by training many recognizers:
``compare-segmenters``, ``learning-curve`` and ``search``.

Each can run for minutes to hours, so each says up front, on stderr and before
the work starts, how many fits it will make and about how long they will take
on this machine (:mod:`cvcaptcha.estimate` times a few small fits), with the
options that make it quicker.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_common import (
    add_verb,
    build_recognizer,
    error,
    notice,
    out_dir_args,
    read_config,
    report_module,
)
from .errors import ConfigError, CvCaptchaError

#: Runs expected to take longer than this many seconds are announced before they start.
NOTICE_AFTER = 120.0
#: Training captchas summed over a run's fits below which it is short with any registered
#: recipe: neither probed nor announced.
PROBE_ABOVE = 1000
#: The reader ``compare-segmenters`` trains by default: the comparison is of
#: segmenters, and the recipe's own reader costs several times as much per fit.
COMPARE_READER = "logistic"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _subsample(
    images: list[Any], labels: list[str], limit: int | None, seed: int
) -> tuple[list[Any], list[str]]:
    """A seeded random ``limit`` of the captchas (all of them without a limit)."""
    if limit is None or limit >= len(labels):
        return images, labels
    import numpy as np

    chosen = sorted(np.random.default_rng(seed).permutation(len(labels))[:limit])
    return [images[i] for i in chosen], [labels[i] for i in chosen]


def _fold_sizes(n: int, cv: int) -> list[int]:
    """Training captchas of each fold of a K-fold split of ``n``."""
    return [n - (n // cv + (1 if k < n % cv else 0)) for k in range(cv)]


def _probe(estimator: Any, images: Sequence[Any], labels: Sequence[str]) -> Any:
    """The estimator's :class:`~cvcaptcha.estimate.FitCost`, None if the small fits fail
    (the real run then reports its own error)."""
    from .estimate import probe_fit

    try:
        return probe_fit(estimator, images, labels)
    except (CvCaptchaError, ValueError):
        return None


def _announce(what: str, seconds: float | None, quicker: str) -> None:
    """One line on stderr: the fits, their estimated time and the quicker options; nothing
    when the run should be over within :data:`NOTICE_AFTER` seconds."""
    from .estimate import format_duration

    if seconds is not None and seconds < NOTICE_AFTER:
        return
    when = "" if seconds is None else f", {format_duration(seconds)} on this machine"
    notice(f"{what}{when}; {quicker} is quicker")


# -- compare-segmenters -------------------------------------------------------
def _compare_estimate(args: argparse.Namespace, images: list[Any], labels: list[str]) -> None:
    """Announce the comparison's fits and their time, probing the last unguided and the last
    guided strategy (guided ones consult the reader while cutting and cost more)."""
    from .recognizer import CaptchaRecognizer
    from .segment import SEGMENTERS

    sizes = _fold_sizes(len(labels), args.cv)
    if len(SEGMENTERS) * sum(sizes) < PROBE_ABOVE:
        return
    seconds: float | None = 0.0
    groups: dict[bool, list[str]] = {}
    for name in SEGMENTERS:
        groups.setdefault(bool(SEGMENTERS[name]().guided), []).append(name)
    for names in groups.values():
        cost = _probe(
            CaptchaRecognizer(segmenter=names[-1], classifier=args.classifier), images, labels
        )
        if cost is None or seconds is None:
            seconds = None
            continue
        seconds += len(names) * cost.seconds(sizes)
    quicker = ["--cv 2"] if args.cv > 2 else []
    quicker.append("--max-images N")
    if args.classifier != COMPARE_READER:
        quicker.insert(0, f"--classifier {COMPARE_READER}")
    _announce(
        f"compare-segmenters: {len(SEGMENTERS) * args.cv} fits ({len(SEGMENTERS)} strategies "
        f"x {args.cv} folds) on {max(sizes)} captchas each", seconds, " or ".join(quicker),
    )


def _compare_segmenters(args: argparse.Namespace) -> int:
    from .compare import compare_segmenters, format_by_length, format_table, write_comparison
    from .io import load_dataset

    if args.cv < 2:
        raise ConfigError("cv must be at least 2")
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    images, labels = _subsample(data.images, data.labels, args.max_images, args.seed)
    if len(labels) >= args.cv:
        _compare_estimate(args, images, labels)
    result = compare_segmenters(
        images, labels, cv=args.cv, classifier=args.classifier, seed=args.seed, progress=True,
    )
    for path in write_comparison(result, args.output):
        print(f"wrote {path}")
    print(format_table(result.rows))
    by_length = format_by_length(result.rows)
    if by_length:
        print(f"\nby label length:\n{by_length}")
    return 0


def add_compare_segmenters(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "compare-segmenters", help="cross-validate every segmentation strategy",
        description="Cross-validate every segmentation strategy with the same features and "
        f"classifier (by default {COMPARE_READER}: the comparison is of segmenters, and the "
        "recipe's own reader, tinymlp, costs several times as much per fit); write "
        "results.csv, results.md and cuts.png. Before the work starts it says how many fits "
        "it will make and about how long they will take.",
        usage=[
            "cvcaptcha compare-segmenters path/to/folder -o out/seg --cv 3",
            "cvcaptcha compare-segmenters path/to/folder -o out/seg --max-images 300  # quick look",
            "cvcaptcha compare-segmenters path/to/folder -o out/seg --classifier tinymlp  # slow",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder to write")
    p.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    p.add_argument(
        "--classifier", default=COMPARE_READER,
        help=f"reader every strategy shares (default {COMPARE_READER}; the recipe's is tinymlp)",
    )
    p.add_argument(
        "--max-images", type=_positive, metavar="N",
        help="compare on a seeded random N of the captchas (default: all)",
    )
    p.add_argument("--seed", type=int, default=0, help="fold shuffle and sample seed (default 0)")
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


def _sample(files: list[Path], count: int, seed: int) -> tuple[list[Any], list[str]]:
    """A seeded random ``count`` of the files read and labelled (unreadable ones left out),
    without loading the whole folder."""
    import numpy as np

    from .io import label_of, read_image

    images, labels = [], []
    for i in np.random.default_rng(seed).permutation(len(files))[:count]:
        try:
            images.append(read_image(files[i]))
        except CvCaptchaError:
            continue
        labels.append(label_of(files[i]))
    return images, labels


def _curve_estimate(args: argparse.Namespace, recipe: Any, reader: Any) -> None:
    """Announce the learning curve's fits and their time; silent when the folder or the
    options are unusable (the run itself then says why). ``reader`` is the classifier
    as configured (a name, an estimator or None)."""
    from .estimate import PROBE_SIZE
    from .io import list_images

    try:
        files = list_images(args.data_dir)
    except CvCaptchaError:
        return
    n_train = len(files) - int(round(args.test_size * len(files)))
    if not 0 < args.test_size < 1 or n_train < 2 or args.repeats < 1:
        return
    sizes = sorted({max(2, int(round(f * n_train))) for f in args.fractions}) * args.repeats
    if sum(sizes) < PROBE_ABOVE:
        return
    images, labels = _sample(files, PROBE_SIZE, args.seed)
    cost = _probe(recipe, images, labels) if len(labels) >= 4 else None
    _announce(
        f"learning-curve: {len(sizes)} fits on {min(sizes)} to {max(sizes)} captchas",
        None if cost is None else cost.seconds(sizes),
        ("" if reader == "logistic" else "--classifier logistic or ")
        + "fewer --fractions (e.g. 0.25,1)",
    )


def _learning_curve(args: argparse.Namespace) -> int:
    write_learning_curve = report_module().write_learning_curve
    config = read_config(args.config)
    if args.classifier:
        config["classifier"] = args.classifier
    recipe = build_recognizer(config)
    _curve_estimate(args, recipe, config.get("classifier"))
    index, result = write_learning_curve(
        recipe, args.data_dir, args.output, force=args.force, progress=True,
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
        "grows with len(fractions) x repeats fits; before the work starts it says how many "
        "and about how long they will take.",
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
def _search_estimate(
    args: argparse.Namespace, grid: Any, base: Any, images: list[Any], labels: list[str]
) -> None:
    """Announce the search's fits still to run and their time, probing up to three of its
    configurations (first, middle, last); finished ones in OUT_DIR are not counted."""
    from sklearn.base import clone

    from .grid import config_key, configurations
    from .search_results import RESULTS, read_results

    done = {row["config"] for row in read_results(Path(args.output) / RESULTS)}
    pending = [p for p in configurations(grid) if config_key(p) not in done]
    if not pending:
        return
    sizes = _fold_sizes(len(labels), args.cv)
    if len(pending) * sum(sizes) + len(labels) < PROBE_ABOVE:
        return
    picks = sorted({0, len(pending) // 2, len(pending) - 1})
    costs = [_probe(clone(base).set_params(**pending[i]), images, labels) for i in picks]
    per_config = [c.seconds(sizes) for c in costs if c is not None]
    seconds = None
    if per_config:
        refit = costs[-1].seconds([len(labels)]) if costs[-1] is not None else 0.0
        seconds = sum(per_config) / len(per_config) * len(pending) / args.jobs + refit
    bound = "at most " if args.halving else ""
    _announce(
        f"search: {bound}{len(pending) * args.cv} fits ({len(pending)} configurations x "
        f"{args.cv} folds) on {max(sizes)} captchas each, {args.jobs} at a time",
        seconds, "a smaller grid or --halving" + ("" if args.jobs > 1 else " or --jobs 2"),
    )


def _search(args: argparse.Namespace) -> int:
    from .grid import load_grid
    from .io import load_dataset
    from .search import run_search

    grid = load_grid(args.grid)  # a bad grid fails here, before any work
    base = build_recognizer(read_config(args.config))
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    if args.cv >= 2 and args.jobs >= 1 and len(data.labels) >= args.cv:
        _search_estimate(args, grid, base, data.images, data.labels)
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
        "setting and reused across classifier settings, segmenters and folds. Before the work "
        "starts it says how many fits it will make and about how long they will take.",
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
