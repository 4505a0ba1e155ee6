"""Browse by author, subject and date (issue 16, item 7): counts of public documents only.

Documents are rows with catalogue records (tests/catalogue_helpers.make_document): what counts is
decided by the rights and the workflow, so a reading-room, an unpublished and a withdrawn
document are made beside the public ones and must add nothing to any count.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Document, RecordAgent, RecordSubject
from mura.app.modules.discovery import browse
from tests.catalogue_helpers import make_document
from tests.conftest import PG_ADMIN_URL, _drop_database, make_app


def record(authors: list[str], subjects: list[tuple[str, str]]) -> CatalogueRecord:
    row = CatalogueRecord(
        title="t",
        agents=[RecordAgent(name=a, role="aut", position=i) for i, a in enumerate(authors)],
        subjects=[RecordSubject(term=t, kind=k, position=i) for i, (t, k) in enumerate(subjects)],
    )
    db.session.add(row)
    db.session.flush()
    return row


def document(title: str, year: int | None, rec: CatalogueRecord, **fields: object) -> None:
    """A document of ``rec``; its access is set afterwards, as the rights check would leave it."""
    access = fields.pop("access", "online")
    made = make_document(title, year=year, record_id=rec.id, **fields)
    db.session.execute(update(Document).where(Document.id == made.id).values(access=access))
    db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite and on PostgreSQL: grouping, trimming and LIKE differ between them."""
    if request.param == "sqlite":
        application = make_app(tmp_path / "home")
        name = None
    else:
        psycopg = pytest.importorskip("psycopg")
        name = f"mura_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        application = make_app(tmp_path / "home", DATABASE_URL=f"{base}/{name}")
    try:
        with application.app_context():
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if name:
            _drop_database(name)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def catalogue(app: Flask) -> None:
    shared = record(
        ["Жұмабаев, Мағжан", "Сейітов, Бауыржан"], [("Қарағанды", "place"), ("94(574)", "udc")]
    )
    document("Public 1", 1965, shared)
    document(
        "Public 2",
        1968,
        record(["Жұмабаев, Мағжан"], [("Қарағанды", "place"), ("Шахтёры", "topic")]),
    )
    document("Public 3", 1991, record(["Әуезов, Мұхтар"], [("Әдебиет", "topic")]))
    document("Undated", None, record(["Әуезов, Мұхтар"], []))
    hidden = record(["Құпия, Автор"], [("Жасырын тақырып", "topic")])
    document("Reading room", 1975, hidden, access="reading_room")
    document("Record only", 1976, hidden, access="record_only")
    document("Not yet published", 1977, hidden, status="ocr_done")
    document("Not public", 1978, record(["Құпия, Автор"], []), access="not_public")
    document("No PDF", 1979, hidden, public=False)
    db.session.commit()


def entries(html: str) -> dict[str, int]:
    """The names of a browse page and their counts (from ``data-count``)."""
    return {
        name: int(count)
        for count, name in re.findall(r'class="entry" data-count="(\d+)"[^>]*>([^<]+)</a>', html)
    }


def test_authors_with_counts_of_public_documents(catalogue: None, client: FlaskClient) -> None:
    html = client.get("/browse/authors?lang=en").get_data(as_text=True)
    assert entries(html) == {"Әуезов, Мұхтар": 2, "Жұмабаев, Мағжан": 2, "Сейітов, Бауыржан": 1}
    assert "Құпия" not in html  # only restricted, unpublished or PDF-less documents
    assert 'href="/search?author=%D0%96%D2%B1%D0%BC%D0%B0%D0%B1%D0%B0%D0%B5%D0%B2' in html
    assert "3 names" in html and "2 documents" in html


def test_subjects_without_classification_numbers(catalogue: None, client: FlaskClient) -> None:
    html = client.get("/browse/subjects?lang=ru").get_data(as_text=True)
    assert entries(html) == {"Әдебиет": 1, "Қарағанды": 2, "Шахтёры": 1}
    assert "94(574)" not in html and "Жасырын" not in html
    assert "/search?subject=" in html
    assert "2 документа" in html  # ru plural forms


def test_dates_by_decade_then_year(catalogue: None, client: FlaskClient) -> None:
    html = client.get("/browse?lang=kk").get_data(as_text=True)
    assert entries(html) == {"1990–1999": 1, "1991": 1, "1960–1969": 2, "1965": 1, "1968": 1}
    assert "from=1960&amp;to=1969" in html and "from=1965&amp;to=1965" in html
    assert [d.start for d in browse.decades()] == [1990, 1960]  # newest first; 197x: none public


def test_a_prefix_narrows_and_pages_are_bounded(
    catalogue: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = client.get("/browse/authors", query_string={"prefix": "жұ", "lang": "en"})
    assert entries(html.get_data(as_text=True)) == {"Жұмабаев, Мағжан": 2}
    assert entries(client.get("/browse/authors?prefix=%25").get_data(as_text=True)) == {}
    monkeypatch.setattr(browse, "PER_PAGE", 2)
    first = client.get("/browse/authors?lang=en").get_data(as_text=True)
    assert len(entries(first)) == 2 and 'rel="next"' in first and "Page 1 of 2" in first
    last = client.get("/browse/authors?page=999&lang=en").get_data(as_text=True)
    assert len(entries(last)) == 1 and "Page 2 of 2" in last  # a page past the end: the last
    assert len(entries(first) | entries(last)) == 3


def test_empty_catalogue(client: FlaskClient) -> None:
    for url in ("/browse", "/browse/authors", "/browse/subjects"):
        response = client.get(url + "?lang=en")
        assert response.status_code == 200
        assert "Nothing has been published yet." in response.get_data(as_text=True)


def listed(html: str) -> list[str]:
    """Titles of the documents a search page lists, in order."""
    return re.findall(r'class="hit-title"[^>]*>([^<]+)</a>', html)


def test_browse_links_list_their_public_documents(catalogue: None, client: FlaskClient) -> None:
    """An author's, subject's or decade's link (no words typed) lists those documents only.

    Before, such a link showed an empty search page: the search needs words.
    """
    html = client.get("/browse/authors?lang=en").get_data(as_text=True)
    link = re.search(r'href="(/search\?author=[^"]+)" class="entry"', html).group(1)
    page = client.get(link.replace("&amp;", "&") + "&lang=en").get_data(as_text=True)
    assert sorted(listed(page)) in (["Public 3", "Undated"], ["Public 1", "Public 2"])
    by_subject = client.get("/search?subject=Қарағанды&lang=en").get_data(as_text=True)
    assert listed(by_subject) == ["Public 2", "Public 1"]  # newest first
    decade = re.search(r'href="(/search\?from=1970[^"]*)"', client.get("/browse").get_data(True))
    assert decade is None  # the 1970s hold only hidden documents: no link
    sixties = client.get("/search?from=1960&to=1969&sort=oldest").get_data(as_text=True)
    assert listed(sixties) == ["Public 1", "Public 2"]
    assert listed(client.get("/search?author=Құпия, Автор").get_data(as_text=True)) == []
    assert listed(client.get("/search").get_data(as_text=True)) == []  # nothing chosen
