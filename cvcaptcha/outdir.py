"""The output folder of a page: refuse files cvcaptcha did not write, clear its own stale ones.

A page's folder holds ``index.html`` and its PNG figures under ``figures/``.
A page this package wrote says so in its ``<meta name="generator">`` tag, so
it may be replaced; anything else is left alone unless the caller forces it.
Checking comes before any long work, clearing only once the new page's
numbers are computed, so a failed run leaves the old page whole.
"""

from __future__ import annotations

import html.parser
import os
from pathlib import Path

from .errors import CvCaptchaError

#: Sub-folder of the output folder holding the figures.
FIGURES = "figures"
#: ``<meta name="generator">`` content that marks a page as ours (safe to overwrite).
GENERATOR = "cvcaptcha"


class PageScan(html.parser.HTMLParser):
    """Collects the ``src`` of every ``<img>`` and whether the generator meta tag is ours."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.ours = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img" and values.get("src"):
            self.sources.append(values["src"] or "")
        if tag == "meta" and values.get("name") == "generator":
            self.ours = (values.get("content") or "").startswith(GENERATOR)


def _parse_page(index: Path) -> PageScan:
    parser = PageScan()
    parser.feed(index.read_text(errors="replace"))
    return parser


def check_out_dir(out_dir: str | os.PathLike, force: bool = False) -> PageScan | None:
    """Refuse an output folder whose files cvcaptcha did not write, before any long work.

    Parameters
    ----------
    out_dir : path
        The output folder (need not exist).
    force : bool
        Accept a foreign ``index.html`` or a non-empty ``figures/`` anyway.

    Returns
    -------
    PageScan or None
        The page of ours already in the folder, if any.

    Raises
    ------
    CvCaptchaError
        ``out_dir`` is a file, or holds files not written by cvcaptcha.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CvCaptchaError(f"{out} exists and is not a folder")
    index = out / "index.html"
    figures = out / FIGURES
    page = _parse_page(index) if index.is_file() else None
    if page is not None and page.ours:
        return page
    if not force:
        if index.exists():
            raise CvCaptchaError(f"{index} was not written by cvcaptcha; use --force to overwrite")
        if figures.is_dir() and any(figures.iterdir()):
            raise CvCaptchaError(
                f"{figures} holds files not written by cvcaptcha; use --force to overwrite"
            )
    return None


def prepare_out_dir(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """Make ``out_dir/figures`` ready for a new page without clobbering user files.

    A folder holding a page this package wrote is reused: the figures that page
    referenced are deleted so none goes stale. Anything else is refused unless
    ``force`` (see :func:`check_out_dir`). Call it once the page's numbers are
    computed, so that a failed or interrupted run leaves the old page whole.

    Parameters
    ----------
    out_dir : path
        The output folder (created if missing).
    force : bool
        Overwrite a foreign ``index.html`` and figure files of the same names.

    Returns
    -------
    Path
        The figures folder.
    """
    out = Path(out_dir)
    page = check_out_dir(out, force)
    for src in page.sources if page is not None else []:
        old = out / src
        if src.startswith(f"{FIGURES}/") and ".." not in Path(src).parts and old.is_file():
            old.unlink()
    figures = out / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    return figures
