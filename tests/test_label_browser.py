"""A real headless Chromium labels three captchas on the labelling page, keyboard only.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs
it) and Playwright for Python, driven with ``executable_path``: no browser
download. Skipped when they are missing, except in CI (``CI=true``), where a
missing browser is a failure.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from cvcaptcha.label import LabelSession
from cvcaptcha.label_server import start

CHROMIUM = os.environ.get("CVCAPTCHA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _need_browser():
    """Playwright's sync API, or a skip (a failure in CI) when it or Chromium is missing."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed (pip install 'cvcaptcha[dev]')")
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).is_file():
        if in_ci:
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return sync_playwright


def test_keyboard_labels_three_captchas(synth_test_dir: Path, tmp_path: Path, fast_model) -> None:
    sync_playwright = _need_browser()
    images = tmp_path / "new"
    images.mkdir()
    for path in sorted(synth_test_dir.glob("*.png"))[:6]:
        shutil.copy(path, images / path.name)
    out = tmp_path / "out"
    session = LabelSession(images, out, fast_model)
    server = start(session)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
                args=FLAGS, timeout=60_000, bypass_csp=True,  # the page forbids eval; waits use it
            )
            try:
                page = browser.new_page()
                page.goto(server.url)
                box = page.locator("#answer")
                page.wait_for_function("document.activeElement.id === 'answer'")
                shown = []
                for step in range(3):
                    source = page.locator("#source")
                    page.wait_for_function(
                        "n => document.getElementById('progress').textContent"
                        ".startsWith(n + ' /')", arg=step,
                    )
                    name = source.inner_text()
                    prefill = box.input_value()
                    assert len(prefill) == 4  # the model's reading, pre-filled and selected
                    if step == 1:
                        page.keyboard.press("Enter")  # accept the reading
                        shown.append((name, prefill, "accepted"))
                    else:
                        label = Path(name).stem
                        page.keyboard.type(label)  # typing replaces the selected reading
                        page.keyboard.press("Enter")
                        shown.append((name, label, "accepted" if label == prefill else "typed"))
                page.wait_for_function(
                    "document.getElementById('progress').textContent.startsWith('3 /')"
                )
                page.keyboard.press("ArrowUp")  # back shows the last answer
                page.wait_for_function(
                    f"document.getElementById('source').textContent === {shown[-1][0]!r}"
                )
                assert box.input_value() == shown[-1][1]
                assert page.locator("img#image").evaluate("i => i.naturalWidth") > 0
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        session.close()
    with open(out / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["source"], r["label"], r["how"]) for r in rows] == shown
    for source, label, _ in shown:
        assert (out / f"{label}.png").read_bytes() == (images / source).read_bytes()
