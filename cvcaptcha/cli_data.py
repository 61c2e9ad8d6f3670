"""``cvcaptcha`` verbs about labelled folders themselves: ``generate`` and ``inspect``."""

from __future__ import annotations

import argparse
import sys

from .cli_common import add_verb, out_dir_args, report_module


# -- generate -----------------------------------------------------------------
def _generate(args: argparse.Namespace) -> int:
    from .synth import generate

    paths = generate(
        args.out_dir, args.count, args.length, args.alphabet, args.seed,
        args.width, args.height, progress=True, style=args.style,
    )
    print(f"wrote {len(paths)} captchas to {args.out_dir}")
    return 0


def add_generate(sub: argparse._SubParsersAction) -> None:
    from .synth import DEFAULT_ALPHABET, STYLES

    p = add_verb(
        sub, "generate", help="write labelled synthetic captchas",
        description="Write labelled synthetic captchas (<label>.png): made by the captcha "
        "package (style 'captcha'), or glyphs of one font at a steady pitch, touching, "
        "crossed by a noise curve (style 'pitch').",
        usage=[
            "cvcaptcha generate out/train --count 1000 --seed 1",
            "cvcaptcha generate out/test --count 200 --seed 2 --length 6 --alphabet ABCDEF0123",
            "cvcaptcha generate out/pitch --count 500 --style pitch",
        ],
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


# -- inspect ------------------------------------------------------------------
def _inspect(args: argparse.Namespace) -> int:
    write_inspection = report_module().write_inspection
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


def add_inspect(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "inspect", help="check a labelled folder before training",
        description="Check a labelled folder: unreadable files, label length mix, alphabet, "
        "image sizes, rare characters; with -o also write an HTML overview. Exit status: 0 "
        "when the folder is fit for training, 1 when problems were found (unreadable files, "
        "mixed label lengths, fewer than two characters) or the folder could not be read.",
        usage=[
            "cvcaptcha inspect path/to/folder",
            "cvcaptcha inspect path/to/folder -o out/overview    # + index.html",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    out_dir_args(p, required=False)
    p.set_defaults(func=_inspect)
