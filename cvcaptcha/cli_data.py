"""``cvcaptcha`` verbs about labelled folders themselves: ``generate``, ``inspect``
and ``label``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .cli_common import add_verb, out_dir_args, report_module
from .errors import ConfigError


# -- generate -----------------------------------------------------------------
def _generate(args: argparse.Namespace) -> int:
    from .synth import generate

    paths = generate(
        args.out_dir, args.count, args.length, args.alphabet, args.seed,
        args.width, args.height, progress=True, style=args.style, image_format=args.format,
    )
    print(f"wrote {len(paths)} captchas to {args.out_dir}")
    return 0


def add_generate(sub: argparse._SubParsersAction) -> None:
    from .synth import STYLES

    p = add_verb(
        sub, "generate", help="write labelled synthetic captchas",
        description="Write labelled synthetic captchas (<label>.png, or .jpg for styles "
        "that are JPEG by nature) in one of several looks (docs/styles.png): 'captcha' "
        "(the captcha package), 'pitch' (touching glyphs at a steady pitch under a noise "
        "curve), 'plain', 'pale', 'alpha', 'serif' and 'tiny' (after real sites' "
        "captchas). Length, alphabet and size default to the style's own.",
        usage=[
            "cvcaptcha generate out/train --count 1000 --seed 1",
            "cvcaptcha generate out/test --count 200 --seed 2 --length 6 --alphabet ABCDEF0123",
            "cvcaptcha generate out/mixed --count 600 --style pitch --length 4-6",
            "cvcaptcha generate out/pale --count 500 --style pale       # 90x30 JPEG",
        ],
    )
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--count", type=int, required=True, help="number of captchas")
    p.add_argument(
        "--length", help="characters per captcha, or a range like 4-6 for a family of several "
        "lengths (each captcha's drawn evenly; the canvas grows with the text unless --width "
        "is given); default: the style's",
    )
    p.add_argument("--alphabet", help="characters to draw from (default: the style's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--width", type=int, help="image width (default: the style's)")
    p.add_argument("--height", type=int, help="image height (default: the style's)")
    p.add_argument(
        "--style", choices=STYLES, default="captcha", help="how they look (default captcha)"
    )
    p.add_argument(
        "--format", choices=("png", "jpeg"), help="file format (default: the style's)"
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
        "empty labels, fewer than two characters) or the folder could not be read. Several "
        "label lengths are no problem: one model reads them all.",
        usage=[
            "cvcaptcha inspect path/to/folder",
            "cvcaptcha inspect path/to/folder -o out/overview    # + index.html",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    out_dir_args(p, required=False)
    p.set_defaults(func=_inspect)


# -- the ``label`` verb ------------------------------------------------------
def _label(args: argparse.Namespace) -> int:
    from .label import MODEL_NAME, LabelSession
    from .label_server import run
    from .length import parse_lengths
    from .persist import load_model

    if args.retrain_every < 0 or not 0 <= args.port < 65536:
        raise ConfigError("--retrain-every must be >= 0 and --port within 0..65535")
    kept = Path(args.output) / MODEL_NAME
    model = None
    if args.model:
        model = load_model(args.model)
    elif kept.is_file():
        model = load_model(kept)
        print(f"pre-filling with {kept}, retrained by an earlier session", flush=True)
    session = LabelSession(
        args.images_dir, args.output, model, retrain_every=args.retrain_every,
        lengths=parse_lengths(args.lengths),
    )
    start_time = time.monotonic()
    before = session.progress()["answered"]
    try:
        run(session, args.host, args.port, open_browser=args.open)
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    prog = session.progress()
    print(f"\n{prog['answered'] - before} answers in {time.monotonic() - start_time:.0f} s; "
          f"{prog['answered']}/{prog['total']} labelled in {args.output} "
          f"(log: labels.csv); {prog['left']} left")
    return 0


def add_label(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "label", help="label captchas by keyboard in the browser",
        description="Open a local page that shows the captchas of IMAGES_DIR one at a time, "
        "pre-filled with MODEL's reading (least sure first, unsure characters marked). "
        "Enter accepts or saves what you typed, Down (or PageDown) skips, Up (or PageUp) "
        "goes back. Each answer is written at once as LABELLED_DIR/<label><ext> (the image "
        "bytes unchanged; a repeated label becomes '<label> (2)<ext>', never overwriting) "
        "and logged to LABELLED_DIR/labels.csv; running the command again resumes.",
        usage=[
            "cvcaptcha label downloaded/ -o labelled/                      # typed blind",
            "cvcaptcha label downloaded/ -o labelled/ --retrain-every 100  # learns as you go",
            "cvcaptcha label downloaded/ -o labelled/ --model model.cvc --no-open --port 0",
        ],
    )
    p.add_argument("images_dir", metavar="IMAGES_DIR")
    p.add_argument("-o", "--output", required=True, metavar="LABELLED_DIR",
                   help="folder for the labelled copies and labels.csv (created if missing)")
    p.add_argument("--model", metavar="MODEL", help="model whose readings pre-fill the answers")
    p.add_argument(
        "--lengths", metavar="RANGE",
        help="label lengths an answer may have, e.g. 4-6 (default: the model's, else the "
        "first answer's); a guard against typos",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    p.add_argument(
        "--retrain-every", type=int, default=0, metavar="N",
        help="retrain on the answers every N answers in the background and re-order the "
        "rest (default 0: never); a retrained model is kept as LABELLED_DIR/labels-model.cvc "
        "and pre-fills the next session when --model is not given",
    )
    p.add_argument("--open", action=argparse.BooleanOptionalAction, default=True,
                   help="open the page in the browser (default: yes)")
    p.set_defaults(func=_label)


# -- audit --------------------------------------------------------------------
def _audit(args: argparse.Namespace) -> int:
    import csv
    import io

    from .audit import cross_read, disagreements
    from .cli_common import build_recognizer, notice, read_config, refuse_overwrite
    from .io import load_dataset
    from .persist import write_atomically

    if args.output:
        refuse_overwrite(args.output, args.force)
    model = build_recognizer(read_config(args.config))
    data = load_dataset(args.data_dir, skip_bad=args.skip_bad, progress=True)
    for path, why in data.skipped:
        print(f"skipped {path.name}: {why}", file=sys.stderr)
    start = time.perf_counter()
    reads = cross_read(
        model, data.images, data.labels, args.folds, args.seed,
        progress=lambda line: notice(f"{line} ({time.perf_counter() - start:.0f} s so far)"),
    )
    found = disagreements(data.labels, reads, ignore_case=model.ignore_case)
    print(f"{len(found)} of {len(data.labels)} labels differ from a read by a model trained "
          f"without them ({args.folds} folds); most sure reads first:")
    width = max([len(data.paths[d.index].name) for d in found[:args.top]] + [4])
    for d in found[:args.top]:
        print(f"{data.paths[d.index].name:<{width}}  label {d.label!r:<12} read {d.read!r:<12} "
              f"confidence {d.confidence:.3f}")
    if args.output:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["file", "label", "read", "confidence", "char_confidences"])
        for d in found:
            writer.writerow([
                str(data.paths[d.index]), d.label, d.read, f"{d.confidence:.6f}",
                " ".join(f"{c:.4f}" for c in d.char_confidences),
            ])
        write_atomically(args.output, text.getvalue().encode("utf-8"))
        print(f"all {len(found)} written to {args.output}")
    return 0


def add_audit(sub: argparse._SubParsersAction) -> None:
    p = add_verb(
        sub, "audit", help="find captchas whose label is likely wrong",
        description="Read every captcha of a labelled folder with a model trained on the "
        "other folds (shuffled k-fold, the default recipe or --config) and list those read "
        "differently from their label, most sure read first: at the top, a wrong label is "
        "far likelier than a misread. Files are never changed; look and rename. Trains "
        "--folds models, each on (folds-1)/folds of the folder.",
        usage=[
            "cvcaptcha audit data/train",
            "cvcaptcha audit data/train --folds 4 --top 50 -o out/suspects.csv",
        ],
    )
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--folds", type=int, default=2, help="cross-validation folds (default 2)")
    p.add_argument("--top", type=int, default=20, help="disagreements printed (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold shuffle")
    p.add_argument("--config", help="JSON file holding an object of recognizer parameters")
    p.add_argument("-o", "--output", metavar="CSV", help="write every disagreement to this CSV")
    p.add_argument("--force", action="store_true", help="overwrite the CSV if it exists")
    p.add_argument("--skip-bad", action="store_true", help="leave unreadable files out")
    p.set_defaults(func=_audit)
