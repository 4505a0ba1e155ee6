"""Discovery in Debian's Chromium: search → facet → open the hit → the highlight lies on the word
→ next match → switch the interface language.

Serves the session's published library (tests/discovery_helpers.py) with a real ``mura serve``
(waitress; no worker needed: everything is published already).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.discovery_helpers import LIBRARY_CONFIG, Library
from tests.e2e.conftest import mura_env, mura_serve

QUERY = "кітапхана"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def server(library: Library) -> Iterator[str]:
    env = mura_env(library.home, **{key: str(value) for key, value in LIBRARY_CONFIG.items()})
    with mura_serve(env, "--no-worker") as url:
        yield url


def _expected_box(library: Library, seq: int) -> tuple[float, float, float, float]:
    """The first match on page ``seq`` of the book as fractions of the page (from its hOCR)."""
    from mura.app.extensions import db
    from mura.app.models import Document
    from mura.app.modules.discovery import reader
    from mura.app.modules.discovery.search import document_pages

    with library.app.app_context():
        page = next(p for p in document_pages(library.book_id) if p.seq == seq)
        book = db.session.get(Document, library.book_id)
        words = reader.page_words(page)
        first = reader.find_highlights(words, reader.query_terms(QUERY), book.languages)[0]
        db.session.remove()
    x0, y0, x1, y1 = first.box
    return x0 / words.width, y0 / words.height, x1 / words.width, y1 / words.height


def _check_highlight_on_word(page, library: Library, seq: int, shots: Path) -> None:
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
    browser,
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
