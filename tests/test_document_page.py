"""A document's public page shows a book's text in windows of pages, not all of it at once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from mura.app.modules.discovery.views.public import TEXT_WINDOW
from tests.conftest import make_app
from tests.synthetic import publish, words_of

PAGES = TEXT_WINDOW + 5


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, int]]:
    home = tmp_path_factory.mktemp("document-page")
    app = make_app(home / "home", DEFAULT_ACCESS="public_domain")
    document_id = publish(app, home / "pages", "Windowed book", count=PAGES)
    yield app, document_id
    from mura.app.extensions import db

    with app.app_context():
        db.engine.dispose()


def shown_pages(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="page-(\d+)"', html)]


def test_the_first_window_and_links_to_the_others(book: tuple[Flask, int]) -> None:
    app, document_id = book
    html = app.test_client().get(f"/documents/{document_id}").get_data(as_text=True)
    assert shown_pages(html) == list(range(1, TEXT_WINDOW + 1))
    assert words_of(1) in html and words_of(TEXT_WINDOW + 1) not in html
    assert f"from={TEXT_WINDOW + 1}" in html  # the link to the next window
    assert f"{TEXT_WINDOW + 1}–{PAGES}" in html


@pytest.mark.parametrize("asked", [TEXT_WINDOW + 1, TEXT_WINDOW + 3])
def test_a_later_window_starts_at_its_boundary(book: tuple[Flask, int], asked: int) -> None:
    app, document_id = book
    html = app.test_client().get(f"/documents/{document_id}?from={asked}").get_data(as_text=True)
    assert shown_pages(html) == list(range(TEXT_WINDOW + 1, PAGES + 1))
    assert words_of(PAGES) in html


@pytest.mark.parametrize("asked", ["0", "-4", "abc", "999"])
def test_odd_windows_do_not_fail(book: tuple[Flask, int], asked: str) -> None:
    app, document_id = book
    response = app.test_client().get(f"/documents/{document_id}?from={asked}")
    assert response.status_code == 200
    assert shown_pages(response.get_data(as_text=True))  # some window, never an empty one
