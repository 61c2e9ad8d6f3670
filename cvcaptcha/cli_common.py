"""What every ``cvcaptcha`` verb module shares: messages, recipes, help layout.

The verb modules (:mod:`cli_data`, :mod:`cli_model`, :mod:`cli_study`) and
:mod:`cli` import from here, never from each other, so imports point down.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError, CvCaptchaError

PROG = "cvcaptcha"


def error(message: str) -> None:
    """Print ``cvcaptcha: error: message`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def notice(message: str) -> None:
    """Print ``cvcaptcha: message`` on stderr: something to know before the work starts."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def refuse_overwrite(path: Any, force: bool) -> None:
    """CvCaptchaError when ``path`` exists and ``--force`` was not given: nothing
    the user has is overwritten without asking."""
    if not force and Path(path).exists():
        raise CvCaptchaError(f"{path} exists; use --force to overwrite it")


def read_config(path: str | None) -> dict[str, Any]:
    """The recognizer parameters of a ``--config`` JSON file ({} without one);
    ConfigError with a one-line reason when it cannot be read or is not an object."""
    if path is None:
        return {}
    from .io import read_json

    config = read_json(path)
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


def report_module() -> Any:
    """:mod:`cvcaptcha.report`, or a one-line error naming the extra it needs."""
    try:
        from . import report
    except ImportError as exc:
        raise CvCaptchaError(
            f"this verb needs {exc.name or 'matplotlib and jinja2'}: "
            "pip install 'cvcaptcha[report]'"
        ) from None
    return report


def out_dir_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    """``-o/--output`` and ``--force`` of the verbs that write an HTML page."""
    p.add_argument(
        "-o", "--output", required=required, metavar="OUT_DIR",
        help="folder for index.html and figures/ (created if missing)",
    )
    p.add_argument(
        "--force", action="store_true",
        help="overwrite an index.html or figures that cvcaptcha did not write",
    )


class ExamplesFormatter(argparse.RawDescriptionHelpFormatter):
    """Help layout: the description wrapped to the terminal as usual, an epilog that
    starts with ``examples:`` kept line for line (commands must not be re-wrapped)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def examples(*lines: str) -> str:
    """An ``examples:`` epilog: one command per line, a ``# comment`` line before it if any."""
    return "examples:\n" + "\n".join(f"  {line}" if line else "" for line in lines)


def add_verb(
    sub: argparse._SubParsersAction, name: str, help: str, description: str,
    usage: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """A verb's subparser with its one-line help, wrapped description and examples."""
    return sub.add_parser(
        name, help=help, description=description,
        epilog=examples(*usage) if usage else None, formatter_class=ExamplesFormatter,
    )
