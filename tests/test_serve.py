"""The HTTP service: readings, metadata and every kind of bad request."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from cvcaptcha import save_model  # noqa: E402
from cvcaptcha.serve import create_app  # noqa: E402
from tests.test_io import _png_header  # noqa: E402


@pytest.fixture(scope="module")
def pngs(synth_test_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(synth_test_dir.glob("*.png"))[:4]]


@pytest.fixture(scope="module")
def client(fast_model) -> TestClient:
    return TestClient(create_app(fast_model, max_body=200_000), raise_server_exceptions=False)


def test_predict_raw_body_and_multipart_agree_with_the_model(
    client: TestClient, fast_model, pngs: list[bytes]
) -> None:
    expected = fast_model.predict(pngs[:1])[0]
    raw = client.post("/predict", content=pngs[0], headers={"content-type": "image/png"})
    assert raw.status_code == 200
    body = raw.json()
    assert body["text"] == expected
    assert [c["char"] for c in body["chars"]] == list(expected)
    assert 0.0 <= body["confidence"] <= 1.0
    form = client.post("/predict", files={"file": ("a.png", pngs[0], "image/png")})
    assert form.status_code == 200 and form.json()["text"] == expected


def test_batch_answers_in_order_with_per_item_errors(
    client: TestClient, fast_model, pngs: list[bytes]
) -> None:
    files = [("files", (f"{i}.png", b, "image/png")) for i, b in enumerate(pngs)]
    files.insert(1, ("files", ("bad.png", b"not an image", "image/png")))
    res = client.post("/predict/batch", files=files)
    assert res.status_code == 200
    results = res.json()["results"]
    assert len(results) == len(pngs) + 1
    assert "error" in results[1] and results[1]["status"] == 400
    good = [r["text"] for i, r in enumerate(results) if i != 1]
    assert good == fast_model.predict(pngs)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not an image", 400), (b"", 400), (_png_header(20000, 20000), 413)],
)
def test_bad_images_get_json_errors_not_500(client: TestClient, body: bytes, status: int) -> None:
    res = client.post("/predict", content=body)
    assert res.status_code == status
    assert res.json()["error"]


def test_oversized_bodies_are_refused_with_or_without_content_length(
    client: TestClient,
) -> None:
    big = b"\0" * 300_000
    assert client.post("/predict", content=big).status_code == 413

    def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(30):
            yield b"\0" * 10_000

    res = client.post("/predict", content=chunks())
    assert res.status_code == 413 and "error" in res.json()


def test_health_and_metadata(client: TestClient, fast_model) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    info = client.get("/model").json()
    assert info["n_chars"] == fast_model.n_chars_ and info["alphabet"] == fast_model.alphabet_
    assert info["training"]["n_images"] == fast_model.fit_summary_["n_images"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_cli_listens_on_loopback(fast_model, tmp_path: Path) -> None:
    model = save_model(fast_model, tmp_path / "m.cvc")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cvcaptcha", "serve", str(model), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_cli_refuses_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cvcaptcha.cli import main

    assert main(["serve", str(tmp_path / "nope.cvc")]) == 1
    assert "nope.cvc" in capsys.readouterr().err


def test_a_family_of_several_lengths_is_served_at_every_length(
    mixed_model, mixed_test_dir
) -> None:
    from cvcaptcha import load_dataset

    paths = load_dataset(mixed_test_dir).paths[:12]
    client = TestClient(create_app(mixed_model), raise_server_exceptions=False)
    assert client.get("/model").json()["lengths"] == [3, 4, 5]
    texts = [client.post("/predict", content=p.read_bytes()).json() for p in paths]
    assert [t["text"] for t in texts] == mixed_model.predict([str(p) for p in paths])
    assert len({len(t["text"]) for t in texts}) > 1
    assert all(0 < t["length_confidence"] <= 1 for t in texts)
