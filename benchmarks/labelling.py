"""Labelling effort: keystrokes a simulated labeller spends on a folder, starting from no labels.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/labelling.py DATA_DIR --count 1000
        --retrain-every 100 [--seed 0] [--test-size N] [--config FILE.json]
        [--output out/labelling.json]

A seeded sample of ``--count`` captchas of the labelled folder ``DATA_DIR``
is copied under anonymous names (``0.png``, ``1.png``, ...) into a temporary
folder, so the session cannot see the labels; the truth is kept aside. The
rest of the folder (or ``--test-size`` of it, seeded) is held out to score
the model. The real :class:`~cvcaptcha.label.LabelSession` is then driven
with no starting model and ``retrain_every=--retrain-every``: at each step
the labeller takes the captcha the session shows and its pre-filled reading,
and answers with the true label. Accepting a right pre-fill costs one
keystroke (Enter); otherwise the labeller retypes the label and presses
Enter, ``len(label) + 1``. A second count, ``minimal``, charges only the
character positions that differ, plus Enter. Typing every label costs
``count * (len + 1)``; the issue's floor is ``keystrokes / typed <= 0.40``.

Retraining is the session's own (a child process fitting the session's
recipe, ``--config`` parameters or the default recipe, on every answer so
far; the benchmark gives it no model, so no answers are held out). A real
labeller keeps typing
while it runs; here the benchmark waits for each retrain to finish and has
the session read the whole queue before the next answer, so that the run is
deterministic and each block is pre-filled, least sure first, by the model
retrained after the block before it.

After each retrain the table gives the answers and keystrokes so far (full
retype and minimal edit), their ratio to typing every label, the share of
pre-fills accepted in the last block, the session's model round, and the
model's whole-captcha and character accuracy on the held-out captchas.
Results go to a JSON file.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cvcaptcha.cli import read_config
from cvcaptcha.errors import ConfigError, CvCaptchaError, DatasetError
from cvcaptcha.io import load_dataset
from cvcaptcha.label import LabelSession
from cvcaptcha.tables import format_table, write_json

COLUMNS = (
    "answers", "keystrokes", "minimal", "typed", "ratio", "minimal_ratio",
    "block_accepted", "round", "test_acc", "test_char_acc", "retrain_s",
)
#: The issue's floor on keystrokes / typing every label.
FLOOR = 0.40


def keystrokes(prefill: str, label: str) -> tuple[int, int]:
    """Keys to turn ``prefill`` into ``label`` and press Enter: full retype, minimal edit.

    Examples
    --------
    >>> keystrokes("ab12", "ab12"), keystrokes("ab13", "ab12"), keystrokes("", "ab12")
    ((1, 1), (5, 2), (5, 5))
    """
    if prefill == label:
        return 1, 1
    differ = sum(a != b for a, b in zip(prefill, label)) + abs(len(prefill) - len(label))
    return len(label) + 1, differ + 1


def sample(n: int, count: int, test_size: int | None, seed: int) -> tuple[list[int], list[int]]:
    """Seeded disjoint indices: ``count`` to label, ``test_size`` (default: the rest) to test.

    Examples
    --------
    >>> label, test = sample(10, 7, None, 0)
    >>> len(label), len(test), sorted(label + test) == list(range(10))
    (7, 3, True)
    """
    if count < 1:
        raise ConfigError("--count must be at least 1")
    rest = n - count
    test_size = rest if test_size is None else test_size
    if test_size < 1:
        raise ConfigError("the test set must hold at least one captcha")
    if count + test_size > n:
        raise DatasetError(f"{n} captchas are fewer than {count} to label "
                           f"plus {test_size} to test")
    order = np.random.default_rng(seed).permutation(n).tolist()
    return order[:count], order[count:count + test_size]


def score(model: Any, images: list[Any], labels: list[str]) -> tuple[float | None, float | None]:
    """Whole-captcha and character accuracy of ``model`` (None without a model)."""
    if model is None:
        return None, None
    predicted = model.predict(images)
    whole = float(np.mean([p == t for p, t in zip(predicted, labels)]))
    chars = sum(a == b for p, t in zip(predicted, labels) for a, b in zip(p, t))
    return whole, chars / sum(len(t) for t in labels)


def simulate(
    session: LabelSession,
    truth: dict[str, str],
    test_images: list[Any],
    test_labels: list[str],
    timeout: float = 3600.0,
) -> list[dict[str, Any]]:
    """Answer every captcha the session shows with its true label; a curve row per retrain."""
    rows: list[dict[str, Any]] = []
    answers = full = minimal = typed = 0
    block_answers = block_accepted = 0
    while True:
        while session.read_batch():  # the whole queue read: least sure first, deterministic
            pass
        item = session.state()["item"]
        if item is None:
            break
        label = truth[item["source"]]
        keys, edit = keystrokes(item["prefill"], label)
        answers, full, minimal = answers + 1, full + keys, minimal + edit
        typed += len(label) + 1
        block_answers += 1
        block_accepted += item["prefill"] == label
        start = time.perf_counter()
        session.answer(item["id"], label)
        if not session.retraining:
            continue
        while not session.wait_retrained(timeout):
            if time.perf_counter() - start > timeout:
                raise CvCaptchaError(f"retraining took more than {timeout:.0f} s")
        retrain_s = time.perf_counter() - start
        test_acc, test_char_acc = score(session.model, test_images, test_labels)
        rows.append({
            "answers": answers, "keystrokes": full, "minimal": minimal, "typed": typed,
            "ratio": full / typed, "minimal_ratio": minimal / typed,
            "block_accepted": block_accepted / block_answers, "round": session.round,
            "test_acc": test_acc, "test_char_acc": test_char_acc, "retrain_s": retrain_s,
            "message": session.message,
        })
        lines = format_table(rows[-1:], COLUMNS).splitlines()
        print("\n".join(lines if len(rows) == 1 else lines[1:]), flush=True)
        block_answers = block_accepted = 0
    if not rows or rows[-1]["answers"] != answers:  # answers after the last retrain
        test_acc, test_char_acc = score(session.model, test_images, test_labels)
        rows.append({
            "answers": answers, "keystrokes": full, "minimal": minimal, "typed": typed,
            "ratio": full / typed if typed else None,
            "minimal_ratio": minimal / typed if typed else None,
            "block_accepted": block_accepted / block_answers if block_answers else None,
            "round": session.round, "test_acc": test_acc, "test_char_acc": test_char_acc,
            "retrain_s": None, "message": "no retrain after the last answers",
        })
    return rows


def run(
    data_dir: str,
    count: int,
    retrain_every: int,
    seed: int,
    test_size: int | None,
    config: dict[str, Any],
) -> dict[str, Any]:
    """Label a seeded sample of ``data_dir`` with a simulated labeller; the curve and summary."""
    if retrain_every < 1:
        raise ConfigError("--retrain-every must be at least 1")
    data = load_dataset(data_dir, skip_bad=True)
    to_label, to_test = sample(len(data), count, test_size, seed)
    test_images = [data.images[i] for i in to_test]
    test_labels = [data.labels[i] for i in to_test]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cvcaptcha-labelling-") as tmp:
        images = Path(tmp) / "images"
        images.mkdir()
        truth = {}
        for n, i in enumerate(to_label):
            name = f"{n}{data.paths[i].suffix.lower()}"
            shutil.copyfile(data.paths[i], images / name)
            truth[name] = data.labels[i]
        with LabelSession(images, Path(tmp) / "labelled", retrain_every=retrain_every,
                          params=dict(config), background=False) as session:
            rows = simulate(session, truth, test_images, test_labels)
    last = rows[-1]
    return {
        "data_dir": str(data_dir),
        "count": count,
        "retrain_every": retrain_every,
        "seed": seed,
        "n_test": len(to_test),
        "config": config,
        "rows": rows,
        "keystrokes": last["keystrokes"],
        "minimal": last["minimal"],
        "typed": last["typed"],
        "ratio": last["ratio"],
        "minimal_ratio": last["minimal_ratio"],
        "floor": FLOOR,
        "meets_floor": last["ratio"] is not None and last["ratio"] <= FLOOR,
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", metavar="DATA_DIR", help="labelled captcha folder")
    parser.add_argument("--count", type=int, default=1000, help="captchas to label")
    parser.add_argument("--retrain-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=int, help="held-out captchas (default: the rest)")
    parser.add_argument("--config", help="JSON file holding an object of recognizer parameters "
                                         "(default: the default recipe)")
    parser.add_argument("--output", default="out/labelling.json")
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config)
        result = run(args.data_dir, args.count, args.retrain_every, args.seed, args.test_size,
                     config)
    except CvCaptchaError as exc:
        print(f"labelling: error: {exc}", file=sys.stderr)
        return 1
    print(format_table(result["rows"], COLUMNS))
    verdict = "meets" if result["meets_floor"] else "misses"
    print(f"keystrokes {result['keystrokes']} / typing every label {result['typed']} = "
          f"{result['ratio']:.3f} ({verdict} the {FLOOR:.0%} floor); minimal edit "
          f"{result['minimal']} = {result['minimal_ratio']:.3f}")
    write_json(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
