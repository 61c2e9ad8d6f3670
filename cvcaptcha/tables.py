"""Plain-text tables of result rows, as the benchmark scripts print them."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows (dicts) as a right-aligned text table under a header of ``columns``:
    floats to four decimals, ``-`` where a value is None.

    Examples
    --------
    >>> print(format_table([{"seed": 0, "acc": 0.5}, {"seed": "mean", "acc": None}],
    ...                    ["seed", "acc"]))
    seed     acc
       0  0.5000
    mean       -
    """

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    table = [list(columns)] + [[cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in table)


def write_json(data: Any, path: str | os.PathLike) -> Path:
    """Write a benchmark's results as indented JSON (folders made as needed)
    and say where.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "out" / "r.json"
    >>> write_json({"acc": 0.5}, path).name  # doctest: +ELLIPSIS
    wrote ...r.json
    'r.json'
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {out}")
    return out
