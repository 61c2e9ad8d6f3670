"""Helpers for the tests of the HTML pages: parse a page, check its images, hostile labels."""

from __future__ import annotations

import html.parser
import shutil
from pathlib import Path

import pytest

#: Labels a Linux file name can carry that would break naive HTML (and matplotlib math text).
HOSTILE = ["<i>&", "a'\"2", "&lt;", "$a$b"]


class Page(html.parser.HTMLParser):
    """Element ids, image sources, tags and text of an HTML page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.images: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.alts: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
            self.alts.append(values.get("alt") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_images_exist(page: Page, out: Path) -> None:
    assert page.images
    for src in page.images:
        path = out / src
        assert path.is_file(), src
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Tiny fits spend most of their time spinning BLAS threads on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def make_hostile_dir(captchas: Path, out: Path) -> Path:
    """Copy the folder ``captchas`` into ``out``, with copies named with hostile labels,
    one unreadable file and one label of the wrong length."""
    out.mkdir(parents=True, exist_ok=True)
    for path in captchas.iterdir():
        shutil.copy(path, out / path.name)
    sources = sorted(captchas.iterdir())
    for label, source in zip(HOSTILE, sources):
        shutil.copy(source, out / f"{label}.png")
    shutil.copy(sources[-1], out / "toolong.png")
    (out / "<broken>.png").write_bytes(b"not an image")
    (out / "notes.txt").write_text("not a captcha")
    return out
