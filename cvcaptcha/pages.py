"""Render a page template into an output folder's ``index.html``.

Templates live in ``cvcaptcha/templates`` and are autoescaped: labels come
from file names and may hold ``<``, ``&`` or quotes.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .outdir import FIGURES, GENERATOR


def render_page(template: str, out_dir: Path, **context: Any) -> Path:
    """Render a page template into ``out_dir/index.html`` with every value autoescaped.

    The page is written to a temporary file and moved into place, so a reader
    never sees half a page.

    Parameters
    ----------
    template : str
        File name under ``cvcaptcha/templates``.
    out_dir : Path
        The output folder (must exist).
    **context
        Values the template uses; ``generator``, ``created`` and ``figures``
        are supplied.

    Returns
    -------
    Path
        The page written.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvcaptcha", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value, digits=1: f"{100 * value:.{digits}f}%"
    page = env.get_template(template).render(
        generator=f"{GENERATOR} {__version__}",
        created=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        figures=FIGURES,
        **context,
    )
    index = out_dir / "index.html"
    tmp = index.with_name(".index.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(index)
    return index
