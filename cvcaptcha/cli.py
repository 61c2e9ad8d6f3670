"""The ``cvcaptcha`` command line.

``main(argv=None) -> int`` is testable without a subprocess. The library
raises typed exceptions; only this module turns them into one-line messages
and exit codes (0 success, 1 failure, 2 usage, 130 interrupted).

Each verb is an ``_add_<verb>(subparsers)`` function that declares its
arguments and sets ``func``; adding a verb means adding one such function to
:data:`VERBS`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, CvCaptchaError

PROG = "cvcaptcha"


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def read_config(path: str | None) -> dict[str, Any]:
    """The recognizer parameters of a ``--config`` JSON file ({} without one);
    ConfigError with a one-line reason when it cannot be read or is not an object."""
    if path is None:
        return {}
    try:
        config = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a JSON object of recognizer parameters")
    return config


def build_recognizer(config: dict[str, Any], verbose: bool = False) -> Any:
    """A default recognizer with ``config`` applied, bad keys named in the error."""
    from .recognizer import CaptchaRecognizer

    model = CaptchaRecognizer(verbose=verbose)
    try:
        model.set_params(**config)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"bad recognizer parameter: {exc}") from None
    return model


# -- generate -----------------------------------------------------------------
def _generate(args: argparse.Namespace) -> int:
    from .synth import generate

    paths = generate(
        args.out_dir, args.count, args.length, args.alphabet, args.seed,
        args.width, args.height, progress=True, style=args.style,
    )
    print(f"wrote {len(paths)} captchas to {args.out_dir}")
    return 0


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from .synth import DEFAULT_ALPHABET, STYLES

    p = sub.add_parser(
        "generate", help="write labelled synthetic captchas",
        description="Write labelled synthetic captchas (<label>.png): made by the captcha "
        "package (style 'captcha'), or glyphs of one font at a steady pitch, touching, "
        "crossed by a noise curve (style 'pitch').",
    )
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--count", type=int, required=True, help="number of captchas")
    p.add_argument("--length", type=int, default=5, help="characters per captcha (default 5)")
    p.add_argument("--alphabet", default=DEFAULT_ALPHABET, help="characters to draw from")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--width", type=int, default=160, help="image width (default 160)")
    p.add_argument("--height", type=int, default=60, help="image height (default 60)")
    p.add_argument(
        "--style", choices=STYLES, default="captcha", help="how they look (default captcha)"
    )
    p.set_defaults(func=_generate)


# -- train --------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    from .io import load_dataset
    from .persist import save_model

    out = Path(args.output)
    if out.exists() and not args.force:
        raise CvCaptchaError(f"{out} exists; use --force to overwrite it")
    model = build_recognizer(read_config(args.config), verbose=True)
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    for path, why in data.skipped:
        print(f"skipped {path.name}: {why}", file=sys.stderr)
    start = time.perf_counter()
    model.fit(data.images, data.labels)
    seconds = time.perf_counter() - start
    save_model(model, out, overwrite=True)
    print(
        f"trained on {len(data)} captchas ({model.n_chars_} chars from "
        f"{model.alphabet_!r}) in {seconds:.1f} s; model: {out} "
        f"({out.stat().st_size / 1024:.0f} KiB)"
    )
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model on a labelled folder",
        description="Train a recognizer on a folder of captchas labelled by file name.",
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write")
    p.add_argument("--config", metavar="FILE.json", help="JSON object of recognizer parameters")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.add_argument("--force", action="store_true", help="overwrite an existing model file")
    p.set_defaults(func=_train)


# -- predict ------------------------------------------------------------------
def _expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files as given, folders replaced by their images; missing files are reported later."""
    from .io import list_images

    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        out.extend(list_images(path) if path.is_dir() else [path])
    return out


def _predict(args: argparse.Namespace) -> int:
    from .io import read_image
    from .persist import load_model

    model = load_model(args.model)
    results: list[dict[str, Any]] = []
    good: list[tuple[int, Any]] = []
    for path in _expand_paths(args.paths):
        try:
            good.append((len(results), read_image(path)))
            results.append({"path": str(path)})
        except CvCaptchaError as exc:
            results.append({"path": str(path), "error": str(exc)})
    predictions = model.predict_details([img for _, img in good])
    for (i, _), pred in zip(good, predictions):
        results[i].update(
            text=pred.text,
            confidence=round(pred.confidence, 6),
            chars=[round(c, 6) for c in pred.char_confidences],
        )
    failed = [r for r in results if "error" in r]
    for r in failed:
        _error(r["error"])
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" not in r:
                print(f"{r['path']}\t{r['text']}\t{r['confidence']:.4f}")
    return 1 if failed else 0


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="read captchas with a model",
        description="Read each image (or every image of each folder) with a model.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("paths", metavar="PATH", nargs="+", help="image file or folder")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(func=_predict)


# -- evaluate -----------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> int:
    from .io import load_dataset
    from .persist import load_model
    from .recognizer import evaluate

    model = load_model(args.model)
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=not args.json)
    result = evaluate(model, data.images, data.labels)
    result["skipped"] = len(data.skipped)
    if args.json:
        print(json.dumps(result))
    else:
        rows = [
            ("captchas", f"{result['n']}"),
            ("captcha accuracy", f"{result['captcha_accuracy']:.4f}"),
            ("character accuracy", f"{result['char_accuracy']:.4f}"),
            ("ms per captcha", f"{result['ms_per_captcha']:.3f}"),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="measure a model's accuracy on a labelled folder",
        description="Whole-captcha and character accuracy of a model on a labelled folder.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.set_defaults(func=_evaluate)


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


def _add_compare_segmenters(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare-segmenters", help="cross-validate every segmentation strategy",
        description="Cross-validate every segmentation strategy with the same features and "
        "classifier; write results.csv, results.md and cuts.png.",
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder to write")
    p.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--classifier", default=None, help="classifier name (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="fold shuffle seed (default 0)")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.set_defaults(func=_compare_segmenters)


# -- report, inspect, learning-curve ------------------------------------------
def _report_module() -> Any:
    """:mod:`cvcaptcha.report`, or a one-line error naming the extra it needs."""
    try:
        from . import report
    except ImportError as exc:
        raise CvCaptchaError(
            f"this verb needs {exc.name or 'matplotlib and jinja2'}: "
            "pip install 'cvcaptcha[report]'"
        ) from None
    return report


def _report(args: argparse.Namespace) -> int:
    write_report = _report_module().write_report
    index, summary = write_report(
        args.model, args.data_dir, args.output, force=args.force, failures=args.failures,
        top=args.top, target=args.precision, progress=True,
    )
    point = summary["target"]
    answered = (
        f"{point['coverage']:.1%} answerable at {args.precision:.1%} precision"
        if point["threshold"] is not None
        else f"{args.precision:.1%} precision not reachable"
    )
    print(
        f"captcha accuracy {summary['captcha_accuracy']:.4f}, character accuracy "
        f"{summary['char_accuracy']:.4f} on {summary['n']} captchas; {answered}"
    )
    print(f"report written to {index}")
    return 0


def _out_dir_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "-o", "--output", required=required, metavar="OUT_DIR",
        help="folder for index.html and figures/ (created if missing)",
    )
    p.add_argument(
        "--force", action="store_true",
        help="overwrite an index.html or figures that cvcaptcha did not write",
    )


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write an HTML analysis of a model on a labelled folder",
        description="Evaluate MODEL on DATA_DIR and write OUT_DIR/index.html with its PNG "
        "figures: dataset overview, headline figures, confusion matrix, most-misread "
        "characters, failed captchas with their cuts, and the confidence/reject-threshold "
        "trade-off. Unreadable files and labels of another length are left out and listed. "
        "A page cvcaptcha wrote before is replaced.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data_dir", metavar="DATA_DIR")
    _out_dir_args(p)
    p.add_argument("--failures", type=int, default=24, help="failed captchas shown (default 24)")
    p.add_argument("--top", type=int, default=8, help="most-misread characters shown (default 8)")
    p.add_argument(
        "--precision", type=float, default=0.99,
        help="precision to find a reject threshold for (default 0.99)",
    )
    p.set_defaults(func=_report)


def _inspect(args: argparse.Namespace) -> int:
    write_inspection = _report_module().write_inspection
    overview, index = write_inspection(args.data_dir, args.output, args.force, progress=True)
    rows = [
        ("folder", str(args.data_dir)),
        ("captchas", f"{overview['n']} readable, {len(overview['skipped'])} unreadable"),
        ("image sizes", ", ".join(f"{s} ({n})" for s, n in overview["sizes"][:5])),
        ("label lengths", ", ".join(f"{k} ({n})" for k, n in overview["lengths"])),
        ("alphabet", f"{overview['alphabet']} ({len(overview['alphabet'])} characters)"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for note in overview["notes"]:
        print(f"note: {note}")
    for problem in overview["problems"]:
        print(f"problem: {problem}")
    if index is not None:
        print(f"overview written to {index}")
    if overview["problems"]:
        print(f"{len(overview['problems'])} problem(s) found", file=sys.stderr)
        return 1
    print("no problems found")
    return 0


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect", help="check a labelled folder before training",
        description="Check a labelled folder: unreadable files, label length mix, alphabet, "
        "image sizes, rare characters; with -o also write an HTML overview. Exit status: 0 "
        "when the folder is fit for training, 1 when problems were found (unreadable files, "
        "mixed label lengths, fewer than two characters) or the folder could not be read.",
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    _out_dir_args(p, required=False)
    p.set_defaults(func=_inspect)


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
    write_learning_curve = _report_module().write_learning_curve
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


def _add_learning_curve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "learning-curve", help="accuracy against training-set size, as an HTML page",
        description="Hold out a seeded random share of DATA_DIR, retrain the recipe on "
        "growing shares of the rest and write OUT_DIR/index.html with whole-captcha accuracy "
        "against training-set size (and the MLP loss curve with --classifier mlp). Time "
        "grows with len(fractions) x repeats fits.",
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    _out_dir_args(p)
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
    from .io import load_dataset
    from .search import load_grid, run_search

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
        _error(f"interrupted; finished configurations are kept in {args.output}: "
               "run the same command again to resume")
        return 130
    best = result.best
    print(f"{len(result.rows)} configurations ({result.ran} run now) in {result.seconds:.0f} s; "
          f"results in {result.out_dir}")
    if best is not None:
        print(f"best: captcha accuracy {best['captcha_accuracy']:.4f} with {best['config']}")
    return 0


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search", help="cross-validated grid search over the whole pipeline",
        description="Cross-validate every configuration of a scikit-learn parameter grid of "
        "recognizer parameters (GRID.json: an object, or a list of objects, of parameter names "
        "-- classifier parameters as classifier__<name> -- to lists of values) on shuffled, "
        "seeded K folds. Writes OUT_DIR/results.csv (one row per configuration), summary.md "
        "and best.model (the best configuration refitted on all captchas). Finished "
        "configurations are saved as the search goes: after Ctrl-C, the same command resumes. "
        "The front end (resizing, binarisation, HOG maps) is cached on disk per front-end "
        "setting and reused across classifier settings, segmenters and folds.",
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


# -- serve --------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    try:
        from .serve import serve
    except ImportError as exc:
        raise CvCaptchaError(
            f"serve needs {exc.name or 'fastapi and uvicorn'}: pip install 'cvcaptcha[serve]'"
        ) from None
    if args.workers < 1 or args.max_body < 1:
        raise ConfigError("--workers and --max-body must be positive")
    serve(args.model, args.host, args.port, args.workers, args.max_body)
    return 0


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="answer predictions over HTTP",
        description="Serve a model over HTTP: POST /predict (raw image body or multipart "
        "'file'), POST /predict/batch (multipart), GET /healthz, GET /model.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--max-body", type=int, default=5_000_000,
        help="largest request body in bytes; larger ones get 413 (default 5000000)",
    )
    p.set_defaults(func=_serve)


# -- export -------------------------------------------------------------------
def _export(args: argparse.Namespace) -> int:
    try:
        import onnxruntime  # noqa: F401  (the export is checked by loading it)
        import skl2onnx  # noqa: F401

        from .export import export_onnx, load_onnx, sidecar_path
    except ImportError as exc:
        raise CvCaptchaError(
            f"export needs {exc.name or 'skl2onnx and onnxruntime'}: "
            "pip install 'cvcaptcha[onnx]'"
        ) from None
    from .persist import load_model

    for out in (Path(args.onnx), sidecar_path(args.onnx)):
        if out.exists() and not args.force:
            raise CvCaptchaError(f"{out} exists; use --force to overwrite it")
    model = load_model(args.model)
    try:
        written = export_onnx(model, args.onnx, overwrite=args.force)
    except ImportError as exc:  # onnxmltools, for XGBoost only
        raise CvCaptchaError(
            f"exporting this model needs {exc.name}: pip install 'cvcaptcha[onnx]'"
        ) from None
    load_onnx(written[0], threads=1)  # refuse to report success for a file that does not load
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export a model's character classifier to ONNX",
        description="Convert MODEL's character classifier to ONNX (OUT.onnx: float32 input "
        "'X', one row of features per character; output 'probabilities') and write the "
        "preprocessing, segmentation and feature parameters, alphabet and locator beside it "
        "as OUT.onnx.json. cvcaptcha.export.load_onnx reads the pair back. Needs "
        "cvcaptcha[onnx].",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=_export)


VERBS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_generate,
    _add_train,
    _add_predict,
    _add_evaluate,
    _add_compare_segmenters,
    _add_report,
    _add_inspect,
    _add_learning_curve,
    _add_search,
    _add_serve,
    _add_export,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb of :data:`VERBS`."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Read text captchas with classical computer vision."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for add in VERBS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except CvCaptchaError as exc:
        _error(str(exc))
        return 1
    except OSError as exc:
        _error(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
