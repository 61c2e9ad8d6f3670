"""A small HTTP service around a fitted recognizer (FastAPI + uvicorn, extra ``serve``).

Endpoints:

* ``POST /predict``: one image as the raw request body, or as a multipart
  upload in the field ``file``; answers ``{"text", "confidence", "length_confidence", "chars"}``.
* ``POST /predict/batch``: a multipart upload of several images (any field
  names), read in one batch; answers ``{"results": [...]}`` in upload order,
  each item either a reading or ``{"error": ...}``.
* ``GET /healthz``: ``{"status": "ok"}``.
* ``GET /model``: the model's metadata.

Bad input never gives a 500: bodies over the size limit get 413 before they
are read whole (from ``Content-Length``, or while streaming a chunked body);
undecodable images 400; images over the pixel limit 413.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from . import __version__
from .errors import CvCaptchaError, ImageTooLargeError
from .persist import FORMAT_VERSION, load_model
from .recognizer import CaptchaRecognizer, Prediction

#: Default largest request body, in bytes.
MAX_BODY: int = 5_000_000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLargeError(Exception):
    """A request body grew past the limit while it was being read."""


class BodyLimit:
    """ASGI middleware refusing bodies over ``limit`` bytes without reading them whole.

    A declared ``Content-Length`` over the limit is answered 413 at once; a
    body without one (chunked) is counted as it streams in, and reading stops
    with :class:`BodyTooLargeError` (turned into a 413) once it passes the limit.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            status = 413 if length.isdigit() else 400
            await _error(status, f"request body over {self.limit} bytes")(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLargeError(f"request body over {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def reading(prediction: Prediction) -> dict[str, Any]:
    """The JSON answer for one captcha."""
    return {
        "text": prediction.text,
        "confidence": prediction.confidence,
        "length_confidence": prediction.length_confidence,
        "chars": [
            {"char": c, "confidence": p}
            for c, p in zip(prediction.text, prediction.char_confidences)
        ],
    }


def metadata(model: CaptchaRecognizer, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """What ``GET /model`` answers: versions, what the model reads, how it was trained."""
    params = model.get_params(deep=False)
    classifier = params.pop("classifier")
    params.pop("memory", None)
    params.pop("verbose", None)
    return {
        "cvcaptcha_version": __version__,
        "format_version": FORMAT_VERSION,
        "n_chars": model.n_chars_,
        "lengths": list(model.lengths_),
        "alphabet": model.alphabet_,
        "classifier": classifier if isinstance(classifier, str) else type(classifier).__name__,
        "params": params,
        "training": model.fit_summary_,
        "file_bytes": Path(path).stat().st_size if path else None,
    }


def _status(exc: CvCaptchaError) -> int:
    return 413 if isinstance(exc, ImageTooLargeError) else 400


def create_app(
    model: CaptchaRecognizer,
    *,
    max_body: int = MAX_BODY,
    model_path: str | os.PathLike | None = None,
) -> FastAPI:
    """The service for one fitted model.

    Parameters
    ----------
    model : CaptchaRecognizer
        A fitted recognizer.
    max_body : int
        Largest request body accepted, in bytes.
    model_path : path, optional
        Where the model came from, for ``GET /model``.

    Returns
    -------
    FastAPI
        An ASGI app; run it with uvicorn, or test it with ``fastapi.testclient``.

    Examples
    --------
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> TestClient(create_app(model)).post("/predict", content=png).json()["text"]  # doctest: +SKIP
    """
    app = FastAPI(title="cvcaptcha", version=__version__)
    app.add_middleware(BodyLimit, limit=max_body)
    info = metadata(model, model_path)

    @app.exception_handler(BodyTooLargeError)
    async def too_large(request: Request, exc: BodyTooLargeError) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(CvCaptchaError)
    async def bad_image(request: Request, exc: CvCaptchaError) -> JSONResponse:
        return _error(_status(exc), str(exc))

    async def uploads(request: Request) -> list[bytes]:
        """The images of a request: multipart files, or the raw body."""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            files = [v for _, v in form.multi_items() if hasattr(v, "read")]
            return [await f.read() for f in files]
        return [await request.body()]

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        images = await uploads(request)
        if len(images) != 1 or not images[0]:
            return _error(400, "send one image: the raw body or a multipart field 'file'")
        (prediction,) = await run_in_threadpool(model.predict_details, images)
        return JSONResponse(reading(prediction))

    @app.post("/predict/batch")
    async def predict_batch(request: Request) -> JSONResponse:
        images = await uploads(request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _error(400, "send the images as a multipart upload")
        if not images:
            return _error(400, "the upload holds no files")

        def read_all() -> list[dict[str, Any]]:
            try:  # one batch when every image is good
                return [reading(p) for p in model.predict_details(images)]
            except CvCaptchaError:
                pass
            results = []
            for data in images:
                try:
                    results.append(reading(model.predict_details([data])[0]))
                except CvCaptchaError as exc:
                    results.append({"error": str(exc), "status": _status(exc)})
            return results

        return JSONResponse({"results": await run_in_threadpool(read_all)})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/model")
    async def model_info() -> dict[str, Any]:
        return info

    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn's worker processes: the model path and body limit
    come from ``CVCAPTCHA_MODEL`` and ``CVCAPTCHA_MAX_BODY``."""
    path = os.environ["CVCAPTCHA_MODEL"]
    max_body = int(os.environ.get("CVCAPTCHA_MAX_BODY", MAX_BODY))
    return create_app(load_model(path), max_body=max_body, model_path=path)


def serve(
    model_path: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_body: int = MAX_BODY,
) -> None:
    """Load a model file and serve it until interrupted.

    The model is loaded (and a bad file refused) before the port is opened.
    With ``workers > 1`` uvicorn starts that many processes, each loading the
    model through :func:`app_from_env`.
    """
    import uvicorn

    model = load_model(model_path)
    print(f"serving {model_path} on http://{host}:{port} (Ctrl-C stops)", flush=True)
    if workers > 1:
        os.environ["CVCAPTCHA_MODEL"] = str(Path(model_path).resolve())
        os.environ["CVCAPTCHA_MAX_BODY"] = str(max_body)
        uvicorn.run(
            "cvcaptcha.serve:app_from_env", factory=True, host=host, port=port,
            workers=workers, log_level="warning",
        )
        return
    app = create_app(model, max_body=max_body, model_path=model_path)
    uvicorn.run(app, host=host, port=port, log_level="warning")
