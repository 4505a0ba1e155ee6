"""Discovery in Debian's Chromium: search → facet → open the hit → the highlight lies on the word
→ next match → switch the interface language.

Serves the session's published library (tests/discovery_helpers.py) with a real ``mura serve``
(waitress; no worker needed: everything is published already).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.discovery_helpers import LIBRARY_CONFIG, Library

CHROMIUM = os.environ.get("MURA_CHROMIUM", "/usr/bin/chromium")
QUERY = "кітапхана"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(library: Library) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
    env.update(MURA_HOME=str(library.home), OMP_THREAD_LIMIT="1")
    env.update({f"MURA_{key}": str(value) for key, value in LIBRARY_CONFIG.items()})
    log_path = library.home / "serve-reader.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "repo_app.cli", "serve", "--no-worker", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.3)
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _expected_box(library: Library, seq: int) -> tuple[float, float, float, float]:
    """The first match on page ``seq`` of the book as fractions of the page (from its hOCR)."""
    from repo_app.extensions import db
    from repo_app.models import Document
    from repo_app.services import reader
    from repo_app.services.search import document_pages

    with library.app.app_context():
        page = next(p for p in document_pages(library.book_id) if p.seq == seq)
        book = db.session.get(Document, library.book_id)
        words = reader.page_words(page)
        first = reader.find_highlights(words, reader.query_terms(QUERY), book.languages)[0]
        db.session.remove()
    x0, y0, x1, y1 = first.box
    return x0 / words.width, y0 / words.height, x1 / words.width, y1 / words.height


def _check_highlight_on_word(page, library: Library, seq: int, shots: Path) -> None:  # noqa: ANN001
    rect = page.locator("svg.highlights rect.hl").first
    rect.wait_for(state="visible")
    page.wait_for_function("document.querySelector('img.scan-image').naturalWidth > 0")
    image = page.locator("img.scan-image").bounding_box()
    box = rect.bounding_box()
    assert image and box and box["width"] > 5 and box["height"] > 5
    # The drawn box (4 px of padding in page pixels) is where the hOCR puts the word.
    x0, y0, x1, y1 = _expected_box(library, seq)
    tolerance = 12 / 1748 * image["width"] + 2
    assert abs(box["x"] - (image["x"] + x0 * image["width"])) < tolerance
    assert abs(box["y"] - (image["y"] + y0 * image["height"])) < tolerance
    assert abs(box["x"] + box["width"] - (image["x"] + x1 * image["width"])) < tolerance
    assert abs(box["y"] + box["height"] - (image["y"] + y1 * image["height"])) < tolerance
    # ... and on the screen there is ink under it: the word, seen through the highlight.
    path = shots / f"hit-{seq}.png"
    page.screenshot(path=str(path), clip=box)
    from PIL import Image

    histogram = Image.open(path).convert("L").histogram()  # paper under the highlight: ~230
    assert sum(histogram[:170]) / sum(histogram) > 0.1


def test_search_facet_open_hit_highlight_next_and_language(
    server: str,
    browser,  # noqa: ANN001
    library: Library,
    tmp_path: Path,
) -> None:
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 1000})
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(server + "/?lang=en")
    page.fill("#q", QUERY)
    page.press("#q", "Enter")
    page.wait_for_selector(".hit")
    assert page.locator("#result-count").inner_text() == "2 documents found"

    page.click("a.facet-value[data-facet=doc_type][data-value=book]")
    page.wait_for_selector("a.facet-value.chosen[data-value=book]")
    assert page.locator("#result-count").inner_text() == "1 document found"
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    page.click(".hit a.hit-title")
    page.wait_for_url(f"**/read/{library.book_id}/1?q=*")
    _check_highlight_on_word(page, library, 1, tmp_path)
    assert page.locator("#page-text mark").count() >= 3
    page.screenshot(path=str(tmp_path / "reader-1.png"), full_page=True)

    page.click("a.next-hit")
    page.wait_for_url(f"**/read/{library.book_id}/2?q=*")
    _check_highlight_on_word(page, library, 2, tmp_path)
    assert page.locator("a.prev-hit").count() == 1 and page.locator("a.next-hit").count() == 0

    page.keyboard.press("ArrowLeft")  # reader.js: the previous page
    page.wait_for_url(f"**/read/{library.book_id}/1?q=*")
    page.keyboard.press("n")  # ... and the next match
    page.wait_for_url(f"**/read/{library.book_id}/2?q=*")

    page.click("nav.langs a[lang=kk]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "kk"
    assert f"/read/{library.book_id}/2" in page.url and "q=" in page.url
    page.locator("svg.highlights rect.hl").first.wait_for(state="visible")
    page.goto(server + f"/search?q={QUERY}")  # the cookie keeps the choice
    assert page.locator("html").get_attribute("lang") == "kk"
    assert csp_errors == []
