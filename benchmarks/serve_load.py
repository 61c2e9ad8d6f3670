"""Load test of ``cvcaptcha serve``: a fixed number of requests from concurrent clients.

Usage::

    python benchmarks/serve_load.py MODEL [DATA_DIR] [--requests 500] [--concurrency 16]
        [--workers 1] [--port 0] [--timeout 120] [--warmup 8]
        [--url http://127.0.0.1:8000] [--output serve-load.json]

``DATA_DIR`` defaults to ``CVCAPTCHA_DATA``; its images are sent in turn (the
file stem is the expected text, so accuracy comes out as a by-product). The
script starts ``python -m cvcaptcha serve MODEL --host 127.0.0.1`` on a free
port (``--port 0``) with ``--workers`` processes, waits for ``GET /healthz``,
sends ``--warmup`` requests that are not counted, then ``--requests`` raw-body
``POST /predict`` requests from ``--concurrency`` client threads, each on its
own keep-alive connection. The server is always stopped afterwards, also on
errors and Ctrl-C. ``--url`` loads a server that is already running instead.

Everything stays on this machine: only loopback addresses are accepted, so
the numbers measure the service, not a network. The whole run, startup
included, is bounded by ``--timeout`` seconds; requests not finished by then
count as errors. Latency is measured per request by the client, from sending
the request to reading the whole answer. The table gives requests/second over
the timed phase and p50/p90/p99/max latency; the JSON also holds the error
kinds and the machine's core count. The exit status is 1 when any request
failed, so the script can gate a check.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import numpy as np

from cvcaptcha import __version__
from cvcaptcha.io import IMAGE_EXTENSIONS

CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
#: Seconds allowed for stopping the server politely before it is killed.
STOP_GRACE: float = 10.0


class LoadError(Exception):
    """A problem that ends the run with a one-line message (bad input, server down)."""


@dataclass
class Sample:
    """One timed request: what was sent, how it went, how long it took."""

    index: int
    file: str
    status: int | None
    ms: float
    text: str | None
    correct: bool
    error: str | None


@dataclass(frozen=True)
class Target:
    """Where the requests go: a loopback host and port."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def loopback_target(url: str) -> Target:
    """Parse ``--url``, refusing anything that does not resolve to loopback only.

    Every address the name resolves to must be loopback: a load test should
    never be pointed at someone else's machine by a typo.
    """
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if parts.scheme != "http":
        raise LoadError(f"{url}: only plain http:// URLs are supported")
    if not parts.hostname:
        raise LoadError(f"{url}: no host")
    try:
        port = parts.port or 80
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (ValueError, OSError) as exc:
        raise LoadError(f"{url}: {exc}") from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise LoadError(f"{url}: not a loopback address ({', '.join(sorted(addresses))})")
    return Target(parts.hostname, port)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(target: Target, path: str, timeout: float) -> tuple[int, Any]:
    """``GET path``; the status and the decoded JSON answer."""
    conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def start_server(
    model: Path, port: int, workers: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start ``cvcaptcha serve`` in its own session.

    Its own session keeps the terminal's Ctrl-C away from it, so the server
    is stopped by :func:`stop_server` in order rather than half-way through a
    request, and a worker pool can be killed as a group if it will not stop.
    """
    command = [
        sys.executable, "-m", "cvcaptcha", "serve", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down its workers too), then SIGKILL the group if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
    try:  # the group is the server's own session; left-over workers go with it
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def wait_healthy(
    target: Target, deadline: float, proc: subprocess.Popen[bytes] | None, log: Path | None
) -> None:
    """Poll ``GET /healthz`` until it answers ok, the server exits, or the deadline passes."""
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log else []
            raise LoadError(
                f"server exited with status {proc.returncode}"
                + (f": {tail[0]}" if tail else "")
            )
        try:
            status, body = get_json(target, "/healthz", timeout=2.0)
            if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
                return
            last = f"status {status}"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.1)
    raise LoadError(f"{target.url}/healthz not ready before the deadline ({last})")


class Client(threading.Thread):
    """One client: takes the next request number and sends it, until none is left.

    Each client keeps one keep-alive connection, as a real caller would, and
    opens a new one only after a failure (the old one may be mid-answer).
    """

    def __init__(
        self,
        target: Target,
        images: list[tuple[str, str, bytes]],
        take: Any,
        deadline: float,
        stop: threading.Event,
        out: list[Sample],
    ) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.images = images
        self.take = take
        self.deadline = deadline
        self.stop = stop
        self.out = out
        self.conn: http.client.HTTPConnection | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                index = self.take()
                if index is None:
                    return
                self.out.append(self.send(index))
        finally:
            if self.conn is not None:
                self.conn.close()

    def send(self, index: int) -> Sample:
        """POST one image as the raw body; never raises, failures become the sample's error."""
        name, stem, data = self.images[index % len(self.images)]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return Sample(index, name, None, 0.0, None, False, "deadline passed before sending")
        content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        start = time.perf_counter()
        status: int | None = None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.target.host, self.target.port, timeout=remaining
                )
            else:
                self.conn.timeout = remaining
                if self.conn.sock is not None:
                    self.conn.sock.settimeout(remaining)
            self.conn.request("POST", "/predict", body=data, headers={
                "Content-Type": content_type, "Content-Length": str(len(data)),
            })
            response = self.conn.getresponse()
            body = response.read()
            ms = 1000.0 * (time.perf_counter() - start)
            status = response.status
            if status != 200:
                error = f"HTTP {status}: {body[:200]!r}"
                return Sample(index, name, status, ms, None, False, error)
            text = json.loads(body)["text"]
            return Sample(index, name, status, ms, text, text == stem, None)
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as exc:
            ms = 1000.0 * (time.perf_counter() - start)
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Sample(index, name, status, ms, None, False, error)


def counter(n: int) -> Any:
    """A thread-safe ``take()`` giving 0, 1, ..., n - 1 and then None."""
    lock = threading.Lock()
    state = {"next": 0}

    def take() -> int | None:
        with lock:
            i = state["next"]
            if i >= n:
                return None
            state["next"] = i + 1
            return i

    return take


def run_load(
    target: Target,
    images: list[tuple[str, str, bytes]],
    requests: int,
    concurrency: int,
    deadline: float,
    offset: int = 0,
) -> tuple[list[Sample], float]:
    """Send ``requests`` requests from ``concurrency`` clients; the samples and the wall time.

    Requests never sent (deadline, Ctrl-C) are added as failed samples so the
    count always matches what was asked for.
    """
    samples: list[Sample] = []
    stop = threading.Event()
    take = counter(requests)
    clients = [
        Client(target, images, lambda: _shift(take(), offset), deadline, stop, samples)
        for _ in range(min(concurrency, requests))
    ]
    start = time.perf_counter()
    for client in clients:
        client.start()
    try:
        for client in clients:
            while client.is_alive():  # short joins keep Ctrl-C responsive
                client.join(0.2)
                if time.monotonic() > deadline + 5.0:
                    stop.set()
                    break
    except KeyboardInterrupt:
        stop.set()
        raise
    wall = time.perf_counter() - start
    done = {s.index for s in samples}
    for index in range(offset, offset + requests):
        if index not in done:
            name = images[index % len(images)][0]
            samples.append(Sample(index, name, None, 0.0, None, False, "not sent: timed out"))
    samples.sort(key=lambda s: s.index)
    return samples, wall


def _shift(index: int | None, offset: int) -> int | None:
    return None if index is None else index + offset


def summarize(samples: list[Sample], wall: float) -> dict[str, Any]:
    """Throughput, latency percentiles (successful requests) and error kinds."""
    good = [s for s in samples if s.error is None]
    ms = np.array([s.ms for s in good]) if good else np.array([np.nan])

    def pct(q: float) -> float | None:
        return None if not good else round(float(np.percentile(ms, q)), 3)

    errors = [s for s in samples if s.error is not None]
    kinds = Counter(s.error.split(":")[0] if s.error else "" for s in errors)
    return {
        "requests": len(samples),
        "ok": len(good),
        "errors": len(errors),
        "error_kinds": dict(kinds),
        "first_errors": [asdict(s) for s in errors[:5]],
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(good) / wall, 2) if wall > 0 else None,
        "latency_ms": {
            "mean": None if not good else round(float(ms.mean()), 3),
            "p50": pct(50), "p90": pct(90), "p99": pct(99),
            "max": None if not good else round(float(ms.max()), 3),
        },
        "accuracy": round(float(np.mean([s.correct for s in good])), 4) if good else None,
    }


def format_table(row: dict[str, Any]) -> str:
    """The one-row table of a run."""
    lat = row["latency_ms"]

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    cells = {
        "requests": str(row["requests"]), "concurrency": str(row["concurrency"]),
        "workers": str(row["workers"] or "-"), "errors": str(row["errors"]),
        "req/s": "-" if row["requests_per_s"] is None else f"{row['requests_per_s']:.1f}",
        "p50 ms": ms(lat["p50"]), "p90 ms": ms(lat["p90"]), "p99 ms": ms(lat["p99"]),
        "max ms": ms(lat["max"]),
        "accuracy": "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}",
    }
    widths = {k: max(len(k), len(v)) for k, v in cells.items()}
    return "\n".join([
        "  ".join(k.rjust(widths[k]) for k in cells),
        "  ".join(v.rjust(widths[k]) for k, v in cells.items()),
    ])


def load_images(data: str) -> list[tuple[str, str, bytes]]:
    """(file name, expected text, bytes) of every image in the folder, sorted by name."""
    root = Path(data)
    if not root.is_dir():
        raise LoadError(f"{data}: not a folder")
    files = sorted(
        p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise LoadError(f"{data}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    return [(p.name, p.stem, p.read_bytes()) for p in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", nargs="?", default=os.environ.get("CVCAPTCHA_DATA"))
    parser.add_argument("--requests", type=int, default=500, help="timed requests (default 500)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients (default 16)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--port", type=int, default=0, help="server port; 0 picks a free one")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="bound on the whole run, seconds (default 120)"
    )
    parser.add_argument("--warmup", type=int, default=8, help="untimed first requests (default 8)")
    parser.add_argument("--url", help="load this running loopback server instead of starting one")
    parser.add_argument("--output", type=Path, default=Path("serve-load.json"))
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give DATA_DIR or set CVCAPTCHA_DATA")
    if args.requests < 1 or args.concurrency < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --workers must be positive, --warmup >= 0")
    if args.timeout <= 0 or not 0 <= args.port <= 65535:
        parser.error("--timeout must be positive and --port in 0..65535")

    deadline = time.monotonic() + args.timeout
    proc: subprocess.Popen[bytes] | None = None
    log_file: Any = None
    try:
        if args.url is None and not args.model.is_file():
            raise LoadError(f"{args.model}: no such model file")
        images = load_images(args.data)
        if args.url is not None:
            target = loopback_target(args.url)
            wait_healthy(target, min(deadline, time.monotonic() + 10.0), None, None)
        else:
            target = Target("127.0.0.1", args.port or free_port())
            log_file = tempfile.NamedTemporaryFile(prefix="serve-load-", suffix=".log")
            proc = start_server(args.model, target.port, args.workers, log_file)
            wait_healthy(target, deadline, proc, Path(log_file.name))
        startup_s = args.timeout - (deadline - time.monotonic())
        status, info = get_json(target, "/model", timeout=10.0)
        model_info = info if status == 200 and isinstance(info, dict) else {}
        if args.warmup:
            warm, _ = run_load(target, images, args.warmup, 1, deadline)
            bad = [s for s in warm if s.error]
            if bad:
                raise LoadError(f"warm-up request failed: {bad[0].error}")
        samples, wall = run_load(
            target, images, args.requests, args.concurrency, deadline, offset=args.warmup
        )
    except LoadError as exc:
        print(f"serve_load: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("serve_load: interrupted", file=sys.stderr)
        return 130
    finally:
        if proc is not None:
            stop_server(proc)
        if log_file is not None:
            log_file.close()

    affinity = getattr(os, "sched_getaffinity", None)
    row: dict[str, Any] = {
        "model": str(args.model), "data": str(args.data), "images": len(images),
        "url": target.url if args.url else None, "concurrency": args.concurrency,
        "workers": args.workers if args.url is None else None,
        "warmup": args.warmup, "startup_s": round(startup_s, 3) if args.url is None else None,
        **summarize(samples, wall),
        "client": "http.client, one keep-alive connection per thread, raw-body POST /predict",
        "cores": len(affinity(0)) if affinity else os.cpu_count(),
        "cvcaptcha_version": __version__,
        "classifier": model_info.get("classifier"),
    }
    print(format_table(row))
    if row["errors"]:
        print(f"errors by kind: {row['error_kinds']}; first: {row['first_errors'][0]['error']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(row, indent=1) + "\n")
    print(f"results written to {args.output}")
    return 1 if row["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
