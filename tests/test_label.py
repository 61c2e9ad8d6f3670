"""The labelling session (queue, write-through, resume, duplicates, retraining) and its HTTP API."""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cvcaptcha.cli_data import add_label
from cvcaptcha.errors import DatasetError, LabelError
from cvcaptcha.io import split_duplicate
from cvcaptcha.label import LOG_FIELDS, LabelSession, check_label
from cvcaptcha.label_server import start
from tests.conftest import FAST


@pytest.fixture
def images(synth_test_dir: Path, tmp_path: Path) -> Path:
    """A private copy of 12 captchas to label (the session must not touch the shared set)."""
    out = tmp_path / "new"
    out.mkdir()
    for path in sorted(synth_test_dir.glob("*.png"))[:12]:
        shutil.copy(path, out / path.name)
    return out


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _session(images: Path, out: Path, model=None, **kw) -> LabelSession:
    session = LabelSession(images, out, model, background=False, **kw)
    while session.read_batch():
        pass
    return session


def test_check_label_refuses_what_cannot_name_a_file() -> None:
    assert check_label("ab12", [4]) == "ab12"
    assert check_label("ab123", (4, 5)) == "ab123"  # a family of several lengths
    for bad in ["", "a/b1", "a b1", ".ab1", "ab\\1", "ab\n1", None, 12]:
        with pytest.raises(LabelError):
            check_label(bad)
    with pytest.raises(LabelError, match="3 characters, not 4 or 5"):
        check_label("abc", [4, 5])
    assert split_duplicate("ab12 (2)") == "ab12" and split_duplicate("ab12 (1)") == "ab12 (1)"
    assert split_duplicate("ab12 (13)") == "ab12" and split_duplicate("ab12") == "ab12"


def test_queue_puts_the_least_sure_reading_first(images: Path, tmp_path: Path, fast_model) -> None:
    with _session(images, tmp_path / "out", fast_model) as session:
        shown = []
        state = session.state()
        while state["item"] is not None:
            item = state["item"]
            shown.append(item["reading"]["confidence"])
            assert item["prefill"] == item["reading"]["text"]
            assert item["reading"]["unsure"] == [c < 0.9 for c in item["reading"]["chars"]]
            state = session.answer(item["id"], item["prefill"])
        assert len(shown) == 12 and shown == sorted(shown)
        assert state["agreement"]["rate"] == 1.0 and state["agreement"]["n"] == 12
        assert state["progress"] == {
            "answered": 12, "total": 12, "unreadable": 0, "left": 0, "skipped": 0
        }
        assert {r["how"] for r in _rows(tmp_path / "out")} == {"accepted"}


def test_answers_are_written_through_and_a_new_session_resumes(
    images: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with _session(images, out) as session:  # no model: file order, typed blind
        first = session.state()["item"]
        assert first["source"] == sorted(p.name for p in images.iterdir())[0]
        assert first["prefill"] == "" and first["reading"] is None
        answered = []
        for _ in range(3):
            item = session.state()["item"]
            answered.append(item["source"])
            session.answer(item["id"], Path(item["source"]).stem)
        # nothing is buffered: the files and the log exist before the session ends
        for name in answered:
            assert (out / name).read_bytes() == (images / name).read_bytes()
        rows = _rows(out)
        assert [r["source"] for r in rows] == answered
        assert all(r["how"] == "typed" and r["model"] == "" and r["time"] for r in rows)
        assert list(rows[0]) == list(LOG_FIELDS)
    with _session(images, out) as again:
        state = again.state()
        assert state["progress"]["answered"] == 3 and state["item"]["source"] not in answered
        back = again.back()["item"]
        assert back["source"] == answered[-1] and back["label"] == Path(answered[-1]).stem
    assert len(_rows(out)) == 3


def test_resume_repairs_what_a_killed_session_left(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with _session(images, out) as session:
        item = session.state()["item"]
        session.answer(item["id"], "ab23")
    (out / "ab23.png").unlink()  # killed after logging, before the copy
    victim = sorted(p.name for p in images.iterdir())[-1]
    with open(out / "labels.csv", "a") as fh:  # a hand-edited row must not write elsewhere
        fh.write(f"{victim},ab23,typed,2026-01-01T00:00:00+00:00,../evil.png,\n")
        fh.write("x.png,ab")  # killed in the middle of a row
    (out / ".label-1-2.tmp").write_bytes(b"half")
    with _session(images, out) as again:
        assert (out / "ab23.png").read_bytes() == (images / item["source"]).read_bytes()
        assert not list(out.glob(".label-*.tmp")) and not (tmp_path / "evil.png").exists()
        assert again.progress()["answered"] == 1
        nxt = again.state()["item"]
        again.answer(nxt["id"], "cd23")
    rows = _rows(out)
    assert [r["file"] for r in rows if r["how"]] == ["ab23.png", "../evil.png", "cd23.png"]


def test_duplicate_labels_get_a_suffix_and_never_overwrite(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "aaaa.png").write_bytes(b"the user's own file")
    with _session(images, out) as session:
        for _ in range(2):
            session.answer(session.state()["item"]["id"], "aaaa")
    assert (out / "aaaa.png").read_bytes() == b"the user's own file"
    assert [r["file"] for r in _rows(out)] == ["aaaa (2).png", "aaaa (3).png"]
    assert split_duplicate(Path("aaaa (3).png").stem) == "aaaa"


def test_a_correction_moves_the_copy_and_keeps_the_first_reading(
    images: Path, tmp_path: Path, fast_model
) -> None:
    out = tmp_path / "out"
    with _session(images, out, fast_model) as session:
        item = session.state()["item"]
        session.answer(item["id"], item["prefill"])
        assert session.back()["item"]["id"] == item["id"]
        wrong = "2222" if item["prefill"] != "2222" else "3333"
        state = session.answer(item["id"], wrong)
        assert state["item"]["id"] != item["id"]
        assert not (out / f"{item['prefill']}.png").exists()
        assert (out / f"{wrong}.png").read_bytes() == (images / item["source"]).read_bytes()
        assert state["agreement"] == {"rate": 0.0, "n": 1, "recent_rate": 0.0, "recent_n": 1}
        assert state["progress"]["answered"] == 1
    rows = _rows(out)
    assert [r["how"] for r in rows] == ["accepted", "typed"]
    assert rows[1]["model"] == item["prefill"]


def test_skip_puts_a_captcha_behind_and_back_walks_the_trail(
    images: Path, tmp_path: Path
) -> None:
    with _session(images, tmp_path / "out") as session:
        first = session.state()["item"]["id"]
        second = session.skip(first)["item"]["id"]
        assert second != first
        assert session.back()["item"]["id"] == first
        assert session.skip(first)["item"]["id"] == second  # forward along the trail
        for _ in range(11):
            state = session.answer(session.state()["item"]["id"], "abcd")
        assert state["item"]["id"] == first  # the skipped one comes back last
        assert state["progress"]["skipped"] == 1
        assert session.answer(first, "abcd")["item"] is None


def test_bad_folders_and_a_second_session_are_refused(images: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="must not be"):
        LabelSession(images, images, background=False)
    out = tmp_path / "out"
    with _session(images, out):
        with pytest.raises(DatasetError, match="another labelling session"):
            LabelSession(images, out, background=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "labels.csv").write_text("name,text\n")
    with pytest.raises(DatasetError, match="not a cvcaptcha labels log"):
        LabelSession(images, foreign, background=False)
    assert (foreign / "labels.csv").read_text() == "name,text\n"


def test_retraining_from_zero_labels_prefills_the_rest(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    session = LabelSession(images, out, retrain_every=8, params=dict(FAST))
    try:
        for _ in range(8):  # typed blind
            item = session.state()["item"]
            assert item["reading"] is None
            session.answer(item["id"], Path(item["source"]).stem)
        assert session.wait_retrained(120)
        state = session.state()
        assert state["model"]["round"] == 1, state["model"]["message"]
        assert state["model"]["present"] and state["item"]["reading"] is not None
        assert (out / "labels-model.cvc").is_file()
    finally:
        session.close()


def test_retraining_keeps_the_old_model_unless_the_new_one_reads_as_well(
    synth_dir: Path, fast_model
) -> None:
    import multiprocessing

    from cvcaptcha.label_retrain import _job
    from cvcaptcha.persist import model_bytes

    pairs = [(str(p), p.stem) for p in sorted(synth_dir.glob("*.png"))]

    def run(train, test, old):
        parent, child = multiprocessing.Pipe(duplex=False)
        _job(dict(FAST), train, test, old, child)  # in this process: the child's work
        return parent.recv()

    old = model_bytes(fast_model)  # trained on all 120: a fit on 6 cannot beat it
    data, message = run(pairs[:6], pairs[100:], old)
    assert data is None and message.startswith("kept the old model"), message
    data, message = run(pairs[:20], pairs[100:], None)
    assert data is not None and message == "trained on 20 answers"
    data, message = run([(pairs[0][0], "aaaa"), (pairs[1][0], "aaaa")], [], None)
    assert data is None and "single character" in message


def test_only_a_given_model_is_guarded_by_held_out_answers(
    images: Path, tmp_path: Path, fast_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cvcaptcha.label_retrain

    calls: list[tuple[int, int, bool]] = []

    def fake(params, train, test, old, stop):  # a retrain that always succeeds at once
        calls.append((len(train), len(test), old is not None))
        return fast_model, None, "retrained"

    monkeypatch.setattr(cvcaptcha.label_retrain, "retrain_in_child", fake)
    session = LabelSession(images, tmp_path / "out", fast_model, retrain_every=5,
                           params=dict(FAST), background=False)
    try:
        for _ in range(10):
            item = session.state()["item"]
            session.answer(item["id"], Path(item["source"]).stem)
            assert session.wait_retrained(30)
        # the user's model: the newest fifth held out to judge the retrained one;
        # then the session's own model: retrained on every answer
        assert calls == [(4, 1, True), (10, 0, False)]
    finally:
        session.close()


# -- HTTP ---------------------------------------------------------------------
@pytest.fixture
def served(images: Path, tmp_path: Path, fast_model):
    session = _session(images, tmp_path / "out", fast_model)
    server = start(session)
    yield server, session
    server.shutdown()
    server.server_close()
    session.close()


def _request(server, method: str, path: str, body=None, headers=None):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=data, headers=hdrs)
    res = conn.getresponse()
    payload = res.read()
    conn.close()
    if res.getheader("Content-Type", "").startswith("application/json"):
        return res.status, json.loads(payload)
    return res.status, payload


def test_api_steps_and_images(served, images: Path, tmp_path: Path) -> None:
    server, _ = served
    status, page = _request(server, "GET", "/")
    assert status == 200 and b"/api/answer" in page
    assert b"http://" not in page and b"https://" not in page  # works offline: no CDN
    status, state = _request(server, "GET", "/api/state")
    item = state["item"]
    status, data = _request(server, "GET", f"/api/image/{item['id']}")
    assert status == 200 and data == (images / item["source"]).read_bytes()
    status, nxt = _request(server, "POST", "/api/answer", {"id": item["id"], "label": "ab23"})
    assert status == 200 and nxt["item"]["id"] != item["id"]
    assert (tmp_path / "out" / "ab23.png").is_file()
    status, skipped = _request(server, "POST", "/api/skip", {"id": nxt["item"]["id"]})
    assert status == 200 and skipped["progress"]["skipped"] == 1
    status, back = _request(server, "POST", "/api/back", {})
    assert status == 200 and back["item"]["id"] == nxt["item"]["id"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/answer", b"{not json", 400),
        ("/api/answer", [1, 2], 400),
        ("/api/answer", {"label": "ab23"}, 400),
        ("/api/answer", {"id": 0}, 400),
        ("/api/answer", {"id": "0", "label": "ab23"}, 400),
        ("/api/answer", {"id": 10_000, "label": "ab23"}, 400),
        ("/api/answer", {"id": 0, "label": "../../etc/ab"}, 400),
        ("/api/answer", {"id": 0, "label": "ab2"}, 400),
        ("/api/skip", {}, 400),
        ("/api/nope", {}, 404),
    ],
)
def test_api_bad_requests_get_400(served, path: str, body, status: int, tmp_path: Path) -> None:
    server, _ = served
    got, data = _request(server, "POST", path, body)
    assert got == status and data["error"]
    assert _rows(tmp_path / "out") == []


def test_api_refuses_paths_outside_the_folders_and_foreign_pages(
    served, images: Path, tmp_path: Path
) -> None:
    server, session = served
    for path in ["/api/image/../../etc/passwd", "/api/image/%2e%2e%2fetc%2fpasswd",
                 "/../../etc/passwd", "/api/image/-1", "/api/image/99999", "/api/image/abc"]:
        status, _ = _request(server, "GET", path)
        assert status == 404, path
    outside = tmp_path / "secret.png"
    shutil.copy(next(images.iterdir()), outside)
    link = images / "zzzz.png"
    link.symlink_to(outside)
    session.items[0].path = link  # a symlink in the folder pointing out of it
    assert _request(server, "GET", "/api/image/0")[0] == 403
    assert _request(server, "GET", "/api/state", headers={"Host": "evil.example"})[0] == 403
    status, _ = _request(server, "POST", "/api/answer", b'{"id": 1, "label": "ab23"}',
                         headers={"Content-Type": "text/plain"})
    assert status == 415  # a cross-site form post cannot send JSON without a preflight
    status, _ = _request(server, "POST", "/api/answer", b"x" * 20_000)
    assert status == 413


def test_label_parser_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_label(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["label", "in", "-o", "out"])
    assert (args.host, args.port, args.open, args.retrain_every, args.model) == (
        "127.0.0.1", 8765, True, 0, None
    )
    args = parser.parse_args(["label", "in", "-o", "out", "--no-open", "--port", "0",
                              "--retrain-every", "100"])
    assert (args.open, args.port, args.retrain_every) == (False, 0, 100)
    assert callable(args.func)


_RUN = """
import argparse, sys
from cvcaptcha.cli_data import add_label
p = argparse.ArgumentParser()
add_label(p.add_subparsers())
args = p.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_label_verb_serves_on_loopback_and_stops_cleanly_on_ctrl_c(
    images: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, "label", str(images), "-o", str(tmp_path / "out"),
         "--port", "0", "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a terminal's Ctrl-C: a shell running the suite in the background ignores SIGINT,
        # and its children would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, proc.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/state")
        assert json.loads(conn.getresponse().read())["progress"]["total"] == 12
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "0/12 labelled" in out and "Traceback" not in err


def test_a_session_may_take_labels_of_several_lengths(images: Path, tmp_path: Path) -> None:
    session = LabelSession(images, tmp_path / "out", lengths=(3, 4), background=False)
    first, second = session.state()["item"]["id"], None
    session.answer(first, "abc")
    second = session.state()["item"]["id"]
    session.answer(second, "abcd")
    assert session.state()["lengths"] == [3, 4]
    with pytest.raises(LabelError, match="not 3 or 4"):
        session.answer(session.state()["item"]["id"], "abcde")
    assert sorted(p.stem for p in (tmp_path / "out").glob("*.png")) == ["abc", "abcd"]
