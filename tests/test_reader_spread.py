"""The reader's two-page spread (``?spread=1``): which pages lie open together, and the page.

The browser side (full screen, keys, phones) is in tests/e2e/test_browse_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from mura.app.extensions import db
from mura.app.modules.discovery.views.reader import spread_seqs
from tests.discovery_helpers import Library


@pytest.mark.parametrize(
    ("seq", "total", "shown"),
    [(1, 10, [1]), (2, 10, [2, 3]), (3, 10, [2, 3]), (10, 10, [10]), (9, 9, [8, 9]),
     (1, 1, [1]), (1, 2, [1, 2]), (2, 2, [1, 2]), (0, 5, [1])],
)  # fmt: skip
def test_pages_lie_open_as_in_a_book(seq: int, total: int, shown: list[int]) -> None:
    assert spread_seqs(seq, total) == shown


@pytest.fixture
def client(library: Library) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


def test_spread_shows_both_pages_with_their_matches(library: Library, client: FlaskClient) -> None:
    html = client.get(
        f"/read/{library.book_id}/1", query_string={"q": "кітапхана", "spread": 1, "lang": "en"}
    ).get_data(as_text=True)
    figures = re.findall(r'<figure class="scan[^"]*" data-seq="(\d+)">', html)
    assert figures == ["1", "2"]
    assert 'class="sheets spread zoom-0"' in html
    assert len(re.findall(r'<svg class="highlights"', html)) == 2  # both pages have the word
    assert re.search(rf'src="/read/{library.book_id}/2/image/1000.jpg"', html)
    # Links keep the spread; "One page" leaves it; no "1:1" tiles in a spread.
    assert re.search(r'id="spread-toggle">One page<', html)
    assert "spread=1" in re.search(r'<a href="([^"]+)"[^>]*class="zoom-in"', html).group(1)
    assert (
        'id="fullscreen"' in html
        and "hidden" in re.search(r'<button[^>]*id="fullscreen"[^>]*>', html).group()
    )


def test_one_page_by_default_with_a_two_pages_link(library: Library, client: FlaskClient) -> None:
    html = client.get(f"/read/{library.book_id}/2?lang=ru").get_data(as_text=True)
    assert re.findall(r'<figure class="scan[^"]*" data-seq="(\d+)">', html) == ["2"]
    assert "Две страницы" in html and "spread=1" in html
    assert (
        client.get(f"/read/{library.book_id}?spread=1")
        .headers["Location"]
        .endswith(f"/read/{library.book_id}/1?spread=1")
    )
