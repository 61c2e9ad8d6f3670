"""The ``cvcaptcha`` command line.

``main(argv=None) -> int`` is testable without a subprocess. The library
raises typed exceptions; only the command line turns them into one-line
messages and exit codes (0 success, 1 failure, 2 usage, 130 interrupted).

Each verb is an ``add_<verb>(subparsers)`` function that declares its
arguments, examples and ``func``; they live by theme in :mod:`cli_data`
(folders), :mod:`cli_model` (one model's life) and :mod:`cli_study` (many
fits), and adding a verb means adding its function to :data:`VERBS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .cli_common import PROG, ExamplesFormatter, build_recognizer, error, examples, read_config
from .cli_data import add_audit, add_generate, add_inspect, add_label
from .cli_model import add_evaluate, add_export, add_predict, add_report, add_serve, add_train
from .cli_study import add_compare_segmenters, add_learning_curve, add_search
from .errors import CvCaptchaError

__all__ = ["VERBS", "build_parser", "build_recognizer", "main", "read_config"]

VERBS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_generate,
    add_train,
    add_predict,
    add_evaluate,
    add_compare_segmenters,
    add_report,
    add_inspect,
    add_audit,
    add_learning_curve,
    add_search,
    add_serve,
    add_export,
    add_label,
]

#: A first session, from a folder of labelled captchas to a served model.
SESSION = examples(
    "# a labelled folder: one image per captcha, named <label>.png (or make one)",
    "cvcaptcha generate data/train --count 1000 --seed 1",
    "cvcaptcha generate data/test --count 200 --seed 2",
    "cvcaptcha inspect data/train                         # bad files, label lengths, alphabet",
    "cvcaptcha train data/train -o model.cvc              # a minute or two",
    "cvcaptcha audit data/train                           # labels a model disputes",
    "cvcaptcha evaluate model.cvc data/test               # captcha and character accuracy",
    "cvcaptcha predict model.cvc data/test/ --json        # text and confidence per image",
    "cvcaptcha report model.cvc data/test -o out/report   # HTML page of what it misreads",
    "cvcaptcha serve model.cvc --port 8000                # POST /predict",
    "cvcaptcha export model.cvc --onnx model.onnx         # + model.onnx.json",
    "",
    "# no labels yet? label in the browser, the model pre-filling as it learns",
    "cvcaptcha label downloaded/ -o data/train --retrain-every 100",
    "",
    "Every verb's --help has its own examples: cvcaptcha train --help",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb of :data:`VERBS`."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Read text captchas with classical computer vision.",
        epilog=SESSION, formatter_class=ExamplesFormatter,
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
        error(str(exc))
        return 1
    except OSError as exc:
        error(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
