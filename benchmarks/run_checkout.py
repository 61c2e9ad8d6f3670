"""Run a benchmark script of another checkout with that checkout's package.

Usage::

    python benchmarks/run_checkout.py CHECKOUT SCRIPT [ARGS...]

The repository's environment installs cvcaptcha in editable mode, whose import
hook would load this checkout's package whatever the path says; this drops the
hook and puts ``CHECKOUT`` first, so an older version's reads can be compared
with the current one's (``same_reads.py``) in one environment.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str]) -> None:
    checkout, script, *args = argv
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, checkout)
    import cvcaptcha

    print(f"cvcaptcha from {cvcaptcha.__file__}", flush=True)
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
