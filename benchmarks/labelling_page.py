"""Step latency of the labelling page with 5,000 captchas queued.

Usage::

    python benchmarks/labelling_page.py [--images 5000] [--steps 150] [--train 300]
        [--recipe default|fast] [--work /tmp/cvcaptcha-label-bench]
        [--output benchmarks/results/labelling-page.json]

Writes ``--images`` synthetic captchas under ``--work`` (kept and reused by
the next run), trains a model of ``--recipe`` on ``--train`` more, and serves
a :class:`~cvcaptcha.label.LabelSession` over them on 127.0.0.1. A client on
one keep-alive connection then does what the page does for each captcha:
``POST /api/answer`` (the true label, from the file name) and
``GET /api/image/<id>`` of the next one. Latency is measured by the client,
request sent to answer read. Four phases, ``--steps`` answers each:

* ``blind``: no model (file order, nothing to read);
* ``cold``: a model, right after start, while the reader thread is still
  reading the queue in batches (the worst case: it competes for the GIL);
* ``warm``: every captcha read;
* ``retraining``: while a retraining child process fits the recipe on the answers.

Ctrl-C stops cleanly (the work folder is kept).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from cvcaptcha import CaptchaRecognizer, __version__, load_dataset, load_model, save_model
from cvcaptcha.label import LabelSession
from cvcaptcha.label_server import start
from cvcaptcha.synth import generate

RECIPES: dict[str, dict[str, Any]] = {
    "default": {},
    "fast": {"segmenter": "equal", "classifier": "logistic"},
}


def _images(folder: Path, count: int, seed: int) -> Path:
    if not folder.is_dir() or len(list(folder.glob("*.png"))) != count:
        shutil.rmtree(folder, ignore_errors=True)
        generate(folder, count, length=5, seed=seed, progress=True)
    return folder


class Client:
    """One keep-alive connection doing the page's requests, timing each."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, method: str, path: str, body: Any = None) -> tuple[float, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        start = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        payload = res.read()
        ms = (time.perf_counter() - start) * 1000
        if res.status != 200:
            raise RuntimeError(f"{method} {path}: {res.status} {payload[:200]!r}")
        is_json = res.getheader("Content-Type", "").startswith("application/json")
        return ms, json.loads(payload) if is_json else payload


def _summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values)
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "max_ms": round(float(arr.max()), 2),
    }


def _phase(client: Client, steps: int) -> dict[str, Any]:
    answers, images, reads = [], [], []
    ms, state = client.request("GET", "/api/state")
    for _ in range(steps):
        item = state["item"]
        reads.append(item["reading"] is not None)
        ms, state = client.request(
            "POST", "/api/answer", {"id": item["id"], "label": Path(item["source"]).stem}
        )
        answers.append(ms)
        ms, _ = client.request("GET", f"/api/image/{state['item']['id']}")
        images.append(ms)
    return {
        "answer": _summary(answers),
        "image": _summary(images),
        "step_p95_ms": round(float(np.percentile(np.add(answers, images), 95)), 2),
        "shown_with_reading": sum(reads),
        "agreement": state["agreement"]["rate"],
    }


def _run(session: LabelSession, steps: int, label: str) -> dict[str, Any]:
    server = start(session)
    try:
        client = Client(*server.server_address[:2])
        result = _phase(client, steps)
    finally:
        server.shutdown()
        server.server_close()
    p = result["answer"]
    print(f"{label:<11} answer p50 {p['p50_ms']:6.1f} ms  p95 {p['p95_ms']:6.1f}  "
          f"max {p['max_ms']:6.1f};  step (answer + image) p95 {result['step_p95_ms']:.1f} ms",
          flush=True)
    return result


def _read_count(session: LabelSession) -> int:
    """Captchas read by the current model."""
    with session._lock:
        return sum(it.reading is not None and it.reading.round == session.round
                   for it in session.items)


def _unread(session: LabelSession) -> int:
    """Pending captchas the current model has not read yet."""
    with session._lock:
        return sum(it.label is None and (it.reading is None or it.reading.round != session.round)
                   for it in session.items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="default")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cvcaptcha-label-bench"))
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "labelling-page.json")
    args = parser.parse_args(argv)
    queue = _images(args.work / f"queue-{args.images}", args.images, seed=11)
    model_path = args.work / f"model-{args.recipe}-{args.train}.cvc"
    if model_path.is_file():  # kept from an earlier run: fitting takes minutes
        model = load_model(model_path)
    else:
        train = load_dataset(_images(args.work / f"train-{args.train}", args.train, seed=12))
        start_fit = time.perf_counter()
        model = CaptchaRecognizer(**RECIPES[args.recipe]).fit(train.images, train.labels)
        print(f"model ({args.recipe} recipe, {args.train} captchas) fitted in "
              f"{time.perf_counter() - start_fit:.0f} s", flush=True)
        save_model(model, model_path, overwrite=True)
    phases: dict[str, Any] = {}
    out = args.work / "labelled"
    try:
        shutil.rmtree(out, ignore_errors=True)
        with LabelSession(queue, out) as session:
            phases["blind"] = _run(session, args.steps, "blind")
        shutil.rmtree(out)
        params = dict(RECIPES[args.recipe])
        with LabelSession(queue, out, model, params=params) as session:
            t0 = time.perf_counter()
            phases["cold"] = _run(session, args.steps, "cold")
            phases["cold"]["read_during_phase"] = _read_count(session)
            while _unread(session):
                time.sleep(0.2)
            read_s = time.perf_counter() - t0
            print(f"reader: {args.images} captchas in {read_s:.1f} s", flush=True)
            phases["warm"] = _run(session, args.steps, "warm")
            session.retrain()
            time.sleep(3.0)  # the child process is importing and loading images by now
            phases["retraining"] = _run(session, args.steps, "retraining")
            phases["retraining"]["still_retraining_at_end"] = session.retraining
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    result = {
        "cvcaptcha_version": __version__,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "images_queued": args.images,
        "steps_per_phase": args.steps,
        "recipe": args.recipe,
        "train_captchas": args.train,
        "seconds_to_read_queue": round(read_s, 1),
        "phases": phases,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
