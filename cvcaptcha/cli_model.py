"""``cvcaptcha`` verbs of one model's life: ``train``, ``predict``, ``evaluate``,
``report``, ``serve`` and ``export``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_common import (
    add_verb,
    build_recognizer,
    error,
    out_dir_args,
    read_config,
    refuse_overwrite,
    report_module,
)
from .errors import ConfigError, CvCaptchaError


# -- train --------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    from .io import load_dataset
    from .length import parse_lengths
    from .persist import save_model

    out = Path(args.output)
    refuse_overwrite(out, args.force)
    config = read_config(args.config)
    if args.lengths:
        config["lengths"] = parse_lengths(args.lengths)
    if args.ignore_case:
        config["ignore_case"] = True
    model = build_recognizer(config, verbose=True)
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    for path, why in data.skipped:
        print(f"skipped {path.name}: {why}", file=sys.stderr)
    unlabelled = _unlabelled_images(args.unlabelled, args.skip_bad) if args.unlabelled else None
    start = time.perf_counter()
    model.fit(data.images, data.labels, unlabelled=unlabelled)
    seconds = time.perf_counter() - start
    save_model(model, out, overwrite=True)
    training = model.fit_summary_.get("self_training")
    if training:
        print(f"self-training kept {training['added']} of {training['n_unlabelled']} "
              f"unlabelled captchas, and {training['chars_added']} characters of others")
    print(
        f"trained on {len(data)} captchas ({_lengths_text(model)} chars from "
        f"{model.alphabet_!r}; segmenter {model.fit_summary_['segmenter']}, reader input "
        f"{model.features_}, cleaner {model.clean_}, threshold "
        f"{model.front_params()['threshold']}) in "
        f"{seconds:.1f} s; model: {out} ({out.stat().st_size / 1024:.0f} KiB)"
    )
    return 0


def _lengths_text(model: Any) -> str:
    """The label length(s) a model reads: ``5`` or ``4-8``."""
    lengths = model.lengths_
    return str(lengths[0]) if len(lengths) == 1 else f"{lengths[0]}-{lengths[-1]}"


def _unlabelled_images(folder: str, skip_bad: bool) -> list[Any]:
    """Every image of a folder of unlabelled captchas (names mean nothing)."""
    from .io import list_images, read_image

    images, bad = [], []
    for path in list_images(folder):
        try:
            images.append(read_image(path))
        except CvCaptchaError as exc:
            bad.append(f"{path.name} ({exc})")
    if bad and not skip_bad:
        raise CvCaptchaError(
            f"{len(bad)} unreadable unlabelled file(s): {', '.join(bad[:3])}; "
            "use --skip-bad to leave them out"
        )
    return images


def add_train(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "train", help="train a model on a labelled folder",
        description="Train a recognizer on a folder of captchas labelled by file name.",
        usage=[
            "cvcaptcha train path/to/folder -o model.cvc",
            "cvcaptcha train path/to/folder -o model.cvc --config benchmarks/recipes/fast.json",
            "cvcaptcha train path/to/folder -o model.cvc --skip-bad --force",
            "cvcaptcha train labelled/ --unlabelled unlabelled/ -o model.cvc   # self-training",
            "cvcaptcha train mixed/ -o model.cvc --lengths 4-6   # labels of 4 to 6 characters",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write")
    p.add_argument("--config", metavar="FILE.json", help="JSON object of recognizer parameters")
    p.add_argument(
        "--unlabelled", metavar="DIR",
        help="folder of unlabelled captchas of the family: those read surely enough join "
        "the training set (self-training in rounds)",
    )
    p.add_argument(
        "--lengths", metavar="RANGE",
        help="label lengths the site draws, e.g. 4-6 or 4,6 (default: from the shortest "
        "training label's to the longest's); a family of several lengths reads each "
        "captcha's length with its text",
    )
    p.add_argument(
        "--ignore-case", action="store_true",
        help="train and score on lower-cased labels, for sites that accept either case "
        "(labels are case-sensitive by default)",
    )
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
            length_confidence=round(pred.length_confidence, 6),
            chars=[round(c, 6) for c in pred.char_confidences],
        )
    failed = [r for r in results if "error" in r]
    for r in failed:
        error(r["error"])
    if args.rename_to:
        copied = _copy_sure(results, Path(args.rename_to), args.min_confidence)
        print(f"copied {copied} of {len(results) - len(failed)} images read at least "
              f"{args.min_confidence:.2f} surely to {args.rename_to}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" not in r:
                print(f"{r['path']}\t{r['text']}\t{r['confidence']:.4f}")
    return 1 if failed else 0


def _copy_sure(results: list[dict[str, Any]], out: Path, least: float) -> int:
    """Copy each image read at least ``least`` surely to ``out/<text><ext>``
    (``<text> (n)<ext>`` when taken); returns how many were copied."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    copied = 0
    for r in results:
        if "error" in r or r["confidence"] < least:
            continue
        source = Path(r["path"])
        target, n = out / f"{r['text']}{source.suffix}", 1
        while target.exists():  # never overwrite: the loader reads "<text> (n)" as <text>
            n += 1
            target = out / f"{r['text']} ({n}){source.suffix}"
        shutil.copyfile(source, target)
        r["copied_to"] = str(target)
        copied += 1
    return copied


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "predict", help="read captchas with a model",
        description="Read each image (or every image of each folder) with a model.",
        usage=[
            "cvcaptcha predict model.cvc image.png",
            "cvcaptcha predict model.cvc image.png folder/ --json",
            "cvcaptcha predict model.cvc new/ --rename-to labelled/ --min-confidence 0.99",
        ],
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("paths", metavar="PATH", nargs="+", help="image file or folder")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument(
        "--rename-to", metavar="DIR",
        help="copy each image read surely enough to DIR/<text>.<ext> (never overwriting)",
    )
    p.add_argument(
        "--min-confidence", type=_probability, default=0.99, metavar="C",
        help="least captcha confidence for --rename-to (default 0.99)",
    )
    p.set_defaults(func=_predict)


def _probability(text: str) -> float:
    """A number in [0, 1], for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


# -- evaluate -----------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate
    from .io import load_dataset
    from .persist import load_model

    model = load_model(args.model)
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=not args.json)
    result = evaluate(model, data.images, data.labels)
    result["skipped"] = len(data.skipped)
    summary = getattr(model, "fit_summary_", {})
    chosen = {"segmenter": summary.get("segmenter"), "features": model.features_,
              "clean": getattr(model, "clean_", "none")}
    result["threshold"] = model.front_params()["threshold"]
    if summary.get("auto_threshold_agreement"):
        result["threshold_agreement"] = summary["auto_threshold_agreement"]
    for key, _, captcha_key, char_key in _STAGES:
        result[key] = chosen[key]
        if summary.get(captcha_key):
            result[f"{key}_trials"] = _json_scores(summary[captcha_key])
            result[f"{key}_trials_char"] = _json_scores(summary.get(char_key) or {})
    if args.json:
        print(json.dumps(result))
    else:
        rows = [
            ("captchas", f"{result['n']}"),
            ("captcha accuracy", f"{result['captcha_accuracy']:.4f}"),
            ("character accuracy", f"{result['char_accuracy']:.4f}"),
            ("ms per captcha", f"{result['ms_per_captcha']:.3f}"),
        ]
        if len(result["by_length"]) > 1 or len(getattr(model, "lengths_", ())) > 1:
            rows.append(("read at a wrong length", f"{result['wrong_length']:.4f}"))
            rows.append(("by label length", ", ".join(
                f"{n}: {r['captcha_accuracy']:.3f} of {r['n']}"
                for n, r in result["by_length"].items()
            )))
        for key, name, captcha_key, char_key in _STAGES:
            trials = summary.get(captcha_key)
            rows.append((name, f"{result[key]}" + (" (chosen by auto)" if trials else "")))
            if trials:
                rows.append((f"{name} trials", _trials(trials, summary.get(char_key) or {})))
        agreement = result.get("threshold_agreement")
        rows.append(("threshold", result["threshold"] + (" (chosen by auto)" if agreement else "")))
        if agreement:
            rows.append(("threshold trials", ", ".join(
                f"{k} {v:.3f}" for k, v in agreement.items()
            ) + " (share of captchas whose blobs number their characters)"))
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
    return 0


#: The recipe's automatic choices: result key, row name, and the ``fit_summary_``
#: keys of the trials' captcha and character accuracies.
_STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("segmenter", "segmenter", "auto_captcha_accuracy", "auto_char_accuracy"),
    ("features", "reader input", "auto_features_captcha_accuracy", "auto_features_char_accuracy"),
    ("clean", "cleaner", "auto_clean_captcha_accuracy", "auto_clean_char_accuracy"),
)


def _json_scores(scores: dict[str, float]) -> dict[str, float | None]:
    """Trial scores for JSON: NaN (a set too small to hold captchas out) is no JSON number."""
    return {k: v if v == v else None for k, v in scores.items()}


def _trials(captcha: dict[str, float], chars: dict[str, float]) -> str:
    """Held-out accuracies of the candidates ``auto`` tried, as one line."""
    return ", ".join(
        f"{name} {score:.3f}" + (f" (char {chars[name]:.3f})" if name in chars else "")
        for name, score in captcha.items() if score == score
    ) + " (held-out captcha accuracy)"


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "evaluate", help="measure a model's accuracy on a labelled folder",
        description="Whole-captcha and character accuracy of a model on a labelled folder.",
        usage=[
            "cvcaptcha evaluate model.cvc path/to/test-folder",
            "cvcaptcha evaluate model.cvc path/to/test-folder --json",
        ],
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images")
    p.set_defaults(func=_evaluate)


# -- report --------------------------------------------------------------------
def _report(args: argparse.Namespace) -> int:
    write_report = report_module().write_report
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


def add_report(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "report", help="write an HTML analysis of a model on a labelled folder",
        description="Evaluate MODEL on DATA_DIR and write OUT_DIR/index.html with its PNG "
        "figures: dataset overview, headline figures, confusion matrix, most-misread "
        "characters, failed captchas with their cuts, and the confidence/reject-threshold "
        "trade-off. Unreadable files and labels of another length are left out and listed. "
        "A page cvcaptcha wrote before is replaced.",
        usage=[
            "cvcaptcha report model.cvc path/to/test-folder -o out/report",
            "cvcaptcha report model.cvc path/to/test-folder -o out/report --precision 0.995",
        ],
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data_dir", metavar="DATA_DIR")
    out_dir_args(p)
    p.add_argument("--failures", type=int, default=24, help="failed captchas shown (default 24)")
    p.add_argument("--top", type=int, default=8, help="most-misread characters shown (default 8)")
    p.add_argument(
        "--precision", type=float, default=0.99,
        help="precision to find a reject threshold for (default 0.99)",
    )
    p.set_defaults(func=_report)


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


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "serve", help="answer predictions over HTTP",
        description="Serve a model over HTTP: POST /predict (raw image body or multipart "
        "'file'), POST /predict/batch (multipart), GET /healthz, GET /model.",
        usage=[
            "cvcaptcha serve model.cvc --port 8000",
            "curl --data-binary @image.png http://127.0.0.1:8000/predict",
            "cvcaptcha serve model.cvc --host 0.0.0.0 --workers 2",
        ],
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
        refuse_overwrite(out, args.force)
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


def add_export(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "export", help="export a model's character classifier to ONNX",
        description="Convert MODEL's character classifier to ONNX (OUT.onnx: float32 input "
        "'X', one row of features per character; output 'probabilities') and write the "
        "preprocessing, segmentation and feature parameters, alphabet and locator beside it "
        "as OUT.onnx.json. cvcaptcha.export.load_onnx reads the pair back. Needs "
        "cvcaptcha[onnx].",
        usage=[
            "cvcaptcha export model.cvc --onnx model.onnx    # + model.onnx.json",
        ],
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=_export)
