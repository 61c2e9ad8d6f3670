"""The labelling page over HTTP (standard library only).

Endpoints (JSON unless noted):

* ``GET /``: the page (``templates/label.html``: inline script and style, no CDN).
* ``GET /api/state``: the current captcha, progress and the model's agreement.
* ``POST /api/answer`` ``{"id": int, "label": str}``: record an answer, then the new state.
* ``POST /api/skip`` ``{"id": int}`` and ``POST /api/back`` ``{}``: move without answering.
* ``GET /api/image/<id>``: a captcha's bytes, unchanged.

The API names captchas by id, never by path, so nothing outside the two
folders can be read or written. Bad requests get 400 with ``{"error": ...}``;
POSTs must be ``application/json`` and, on a loopback address, the ``Host``
must be the loopback: a web page elsewhere cannot drive the session
(no form posts, no DNS rebinding).
"""

from __future__ import annotations

import json
import mimetypes
import re
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import CvCaptchaError, DatasetError, LabelError

if TYPE_CHECKING:  # imported when used: ``cvcaptcha --help`` stays quick
    from .label import LabelSession

#: Largest request body accepted, in bytes: an answer is a few dozen.
MAX_BODY = 10_000
_IMAGE = re.compile(r"^/api/image/([0-9]{1,9})$")
_LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def page() -> bytes:
    """The labelling page."""
    return resources.files("cvcaptcha").joinpath("templates/label.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: LabelHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base signature)
        pass  # quiet: the terminal shows progress, not every request

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src 'self'",
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _host_ok(self) -> bool:
        if not self.server.loopback:
            return True
        host = urlsplit(f"//{self.headers.get('Host', '')}").hostname or ""
        return host in _LOOPBACK or f"[{host}]" in _LOOPBACK

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        session = self.server.session
        path = urlsplit(self.path).path
        if not self._host_ok():
            return self._error(403, "unexpected Host header")
        if path in ("/", "/index.html"):
            return self._send(200, page(), "text/html; charset=utf-8")
        if path in ("/api/state", "/api/next"):
            return self._json(200, session.state())
        match = _IMAGE.match(path)
        if match:
            try:
                image = session.image_path(int(match[1]))
            except LabelError as exc:
                return self._error(404, str(exc))
            except DatasetError as exc:
                return self._error(403, str(exc))
            ctype = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
            return self._send(200, image.read_bytes(), ctype)
        return self._error(404, f"no such page: {path}")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        session = self.server.session
        path = urlsplit(self.path).path
        if not self._host_ok():
            return self._error(403, "unexpected Host header")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            return self._error(411 if not length else 400, "a Content-Length is required")
        if int(length) > MAX_BODY:
            self.close_connection = True
            return self._error(413, f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(int(length))
        if path not in ("/api/answer", "/api/skip", "/api/back"):
            return self._error(404, f"no such endpoint: {path}")
        if self.headers.get_content_type() != "application/json":
            return self._error(415, "send application/json")
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._error(400, "the body is not valid JSON")
        if not isinstance(body, dict):
            return self._error(400, "the body must be a JSON object")
        try:
            if path == "/api/back":
                return self._json(200, session.back())
            if "id" not in body:
                return self._error(400, "missing field 'id'")
            if path == "/api/skip":
                return self._json(200, session.skip(body["id"]))
            if "label" not in body:
                return self._error(400, "missing field 'label'")
            state = session.answer(body["id"], body["label"])
        except LabelError as exc:
            return self._error(400, str(exc))
        except (CvCaptchaError, OSError) as exc:
            return self._error(500, str(exc))
        self.server.answered()
        return self._json(200, state)


class LabelHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server around one :class:`~cvcaptcha.label.LabelSession`."""

    daemon_threads = True

    def __init__(self, session: LabelSession, host: str = "127.0.0.1", port: int = 0,
                 progress: bool = False) -> None:
        self.session = session
        self.loopback = host in _LOOPBACK or host.startswith("127.")
        self.progress = progress
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"

    def answered(self) -> None:
        """Print a progress line now and then (every 25 answers)."""
        if not self.progress:
            return
        prog = self.session.progress()
        if prog["answered"] % 25 == 0:
            print(f"{prog['answered']}/{prog['total']} labelled", file=sys.stderr, flush=True)


def start(session: LabelSession, host: str = "127.0.0.1", port: int = 0) -> LabelHTTPServer:
    """Serve ``session`` from a background thread (tests, benchmarks); call
    ``server.shutdown()`` to stop."""
    server = LabelHTTPServer(session, host, port)
    threading.Thread(target=server.serve_forever, args=(0.05,), name="label-http",
                     daemon=True).start()
    return server


def run(session: LabelSession, host: str = "127.0.0.1", port: int = 8765,
        open_browser: bool = True) -> None:
    """Serve ``session`` until Ctrl-C, opening the page in the browser."""
    server = LabelHTTPServer(session, host, port, progress=True)
    prog = session.progress()
    print(f"labelling {prog['total']} captchas ({prog['answered']} done) at {server.url} "
          "(Ctrl-C stops; run the same command again to resume)", flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, (server.url,)).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
