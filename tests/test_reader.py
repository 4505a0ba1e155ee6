"""The reader: word boxes from real hOCR on the real scan, page images, citations, copy requests.

The published library (tests/discovery_helpers.py) is made once per session with the real
pipeline (``ocr_page`` -> ``process_page``); these tests read its hOCR, its page PDFs and its
database.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, CopyRequest, Document, RecordAgent
from mura.app.modules.catalogue import citation
from mura.app.modules.discovery import copy_requests, reader
from mura.app.modules.discovery.search import document_pages
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.discovery_helpers import Library

QUERY = "кітапхана"


@pytest.fixture
def lib(library: Library) -> Iterator[Library]:
    """The library with an app context for the test."""
    with library.app.app_context():
        yield library
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(lib: Library) -> FlaskClient:
    return lib.app.test_client()


def status_of(client: FlaskClient, url: str) -> int:
    """The status of GET ``url``, the response closed (file responses hold their file open)."""
    response = client.get(url)
    response.close()
    return response.status_code


def _book_page(lib: Library, seq: int = 1):
    return next(p for p in document_pages(lib.book_id) if p.seq == seq)


# --- hOCR and highlights ------------------------------------------------------------------------


def test_word_boxes_lie_on_the_ink_of_the_rendered_scan(lib: Library) -> None:
    page = _book_page(lib)
    book = db.session.get(Document, lib.book_id)
    words = reader.page_words(page)
    assert words is not None and (words.width, words.height) == reader.page_size_px(page)
    found = reader.find_highlights(words, reader.query_terms(QUERY), book.languages)
    assert [h.exact.lower().strip("«»,.") for h in found][:2] == ["кітапхана", "кітапханалар"]

    # The image readers see, rendered from the page PDF (upright, deskewed) at the hOCR's size.
    path = reader.page_image(page, book, reader.full_width(page))
    scan = Image.open(path).convert("L")
    assert scan.size == (words.width, words.height)

    def ink(box: tuple[int, int, int, int]) -> float:
        histogram = scan.crop(box).histogram()
        return sum(histogram[:128]) / sum(histogram)

    for hit in found:
        x0, y0, x1, y1 = hit.box
        assert ink(hit.box) > 0.08, hit  # letters inside the box
        # ... and not a box shifted by its own height into the gap between the lines
        gap = (x0, y0 - (y1 - y0) // 2 - 2, x1, y0 - 2)
        assert ink(gap) < ink(hit.box) / 2, hit
    assert ink((0, 0, 120, 120)) < 0.01  # the margin is blank


def test_highlights_follow_the_search_analysis(lib: Library) -> None:
    words = reader.page_words(_book_page(lib))
    book = db.session.get(Document, lib.book_id)
    exact = reader.find_highlights(words, reader.query_terms(QUERY), book.languages)
    # Case, inflection and Latin spelling find the same words, as the search does.
    for query in ("КІТАПХАНАЛАР", "кітапханалардың", "kitaphana"):
        found = reader.find_highlights(words, reader.query_terms(query), book.languages)
        assert [h.box for h in found] == [h.box for h in exact], query
    assert reader.find_highlights(words, reader.query_terms("-кітапхана"), book.languages) == []


HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html [<!ENTITY boom "жұмыс жұмыс жұмыс">]>
<html xmlns="http://www.w3.org/1999/xhtml"><body>
<div class='ocr_page' id='page_1' title='image "x.pnm"; bbox 0 0 1000 800; ppageno 0'>
 <span class='ocr_line' title="bbox 10 10 900 50">
  <span class='ocrx_word' title='bbox 10 10 100 50; x_wconf 90'>Біздің</span>
  <span class='ocrx_word' title='bbox 120 10 200 50; x_wconf 90'>жұ-</span>
 </span>
 <span class='ocr_line' title="bbox 10 60 900 100">
  <span class='ocrx_word' title='bbox 10 60 90 100; x_wconf 90'>мыс</span>
  <span class='ocrx_word' title='bbox 100 60 300 100; x_wconf 90'>&boom;</span>
  <span class='ocrx_word' title='bbox 310 60 400 100; x_wconf 90'>ЖҰМЫС.</span>
 </span>
</div></body></html>"""


def test_a_word_hyphenated_across_lines_is_found_in_both_halves() -> None:
    words = reader.parse_hocr(HOCR.encode())
    assert (words.width, words.height) == (1000, 800)
    found = reader.find_highlights(words, reader.query_terms("жұмыс"), ["kaz"])
    assert [h.box for h in found] == [(120, 10, 200, 50), (10, 60, 90, 100), (310, 60, 400, 100)]
    assert found[2].xywh == (310, 60, 90, 40)
    assert found[2].prefix.startswith("мыс")


def test_hocr_entities_are_not_expanded() -> None:
    words = reader.parse_hocr(HOCR.encode())
    assert all("жұмыс жұмыс" not in w.text for w in words.words)


def test_marked_text_is_escaped() -> None:
    marked = reader.mark_text('<script>x</script> "Кітапханалар" & co', reader.query_terms(QUERY))
    assert str(marked) == (
        "&lt;script&gt;x&lt;/script&gt; &#34;<mark>Кітапханалар</mark>&#34; &amp; co"
    )


# --- the reader page ------------------------------------------------------------------------------


def test_reader_opens_at_the_first_hit_with_boxes_text_and_citation(
    lib: Library, client: FlaskClient
) -> None:
    book = lib.book_id
    response = client.get(f"/read/{book}?q={QUERY}&lang=en")
    assert response.status_code == 302
    assert re.search(rf"/read/{book}/1\?q=", response.headers["Location"])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'viewBox="0 0 1748 2480"' in html
    assert len(re.findall(r'<rect class="hl"', html)) == 3
    assert html.count("<mark>") >= 3
    assert " style=" not in html and "<style" not in html  # the CSP forbids both
    assert f'href="/read/{book}/2?q=' in html  # next match: page 2
    assert 'id="citation-gost">Әлімжанов, С. Қарағанды кітапханалары / С. Әлімжанов.' in html
    assert f"@book{{mura{book}," in html
    assert f'value="http://localhost/read/{book}/1"' in html  # the permalink
    # Download where the rights allow it (public domain does).
    assert ('id="download-pdf"' in html) == db.session.get(Document, book).access_download


def test_reader_without_query_and_zoom(lib: Library, client: FlaskClient) -> None:
    book = lib.book_id
    response = client.get(f"/read/{book}?p=2&zoom=2")
    assert response.headers["Location"].endswith(f"/read/{book}/2?zoom=2")
    html = client.get(f"/read/{book}/2?zoom=2").get_data(as_text=True)
    assert 'class="scan zoom-2"' in html and "/image/1748.jpg" in html
    assert "<rect" not in html
    assert client.get(f"/read/{book}/3").status_code == 404


def test_page_images_come_in_fixed_widths_and_are_cached(lib: Library, client: FlaskClient) -> None:
    book = lib.book_id
    response = client.get(f"/read/{book}/1/image/200.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(response.data)).size == (200, 284)
    response.close()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    cached = list((reader.cache_root() / "pages").glob("*/200-1.jpg"))
    assert cached and lib.home in cached[0].parents
    assert client.get(f"/read/{book}/1/image/333.jpg").status_code == 404
    assert client.get(f"/read/{book}/1/image/99999.jpg").status_code == 404
    assert client.get("/read/999/1/image/200.jpg").status_code == 404


@contextmanager
def _access(lib: Library, document_id: int, access: str) -> Iterator[None]:
    document = db.session.get(Document, document_id)
    before = document.access
    document.access = access
    db.session.commit()
    try:
        yield
    finally:
        document = db.session.get(Document, document_id)
        document.access = before
        db.session.commit()


def test_what_the_public_may_not_read_is_not_served(lib: Library, client: FlaskClient) -> None:
    with _access(lib, lib.article_id, "reading_room"):
        assert client.get(f"/read/{lib.article_id}/1/image/200.jpg").status_code == 404
        assert client.get(f"/iiif/{lib.article_id}/manifest").status_code == 404
        assert client.get(f"/iiif/{lib.article_id}/search?q={QUERY}").status_code == 404
        assert client.get(f"/documents/{lib.article_id}/cite.bib").status_code == 404
        response = client.get(f"/read/{lib.article_id}/1")
        assert response.headers["Location"].endswith(f"/documents/{lib.article_id}")
        # In the reading room the images are served, but never to a shared cache.
        lib.app.config["READING_ROOM_NETWORKS"] = ["127.0.0.0/8"]
        try:
            response = client.get(f"/read/{lib.article_id}/1/image/200.jpg")
            response.close()
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "private, no-store"
            assert "Access-Control-Allow-Origin" not in response.headers
            page = client.get(f"/read/{lib.article_id}/1?q={QUERY}").get_data(as_text=True)
            assert '<rect class="hl"' in page  # found by scanning the text: not in the index
        finally:
            lib.app.config["READING_ROOM_NETWORKS"] = []
    with _access(lib, lib.article_id, "not_public"):
        assert client.get(f"/read/{lib.article_id}/1/image/200.jpg").status_code == 404
        assert client.get(f"/read/{lib.article_id}/1").status_code == 404


def test_staff_read_documents_that_are_not_public(lib: Library) -> None:
    staff = logged_in(lib.app, make_user("reader-staff", "staff"))
    with _access(lib, lib.article_id, "not_public"):
        assert status_of(staff, f"/read/{lib.article_id}/1/image/200.jpg") == 200
        assert staff.get(f"/read/{lib.article_id}/1").status_code == 200


# --- citations ------------------------------------------------------------------------------------


def test_gost_and_bibtex_of_a_newspaper_article(lib: Library) -> None:
    article = db.session.get(Document, lib.article_id)
    day = date(2026, 11, 22)
    assert citation.gost(article, "https://mura.example/documents/2", day) == (
        "Сейітов, Б. Кітапхана-филиалында іс-шаралар / Б. Сейітов // Индустриальная Караганда. "
        "– 1998. – № 45 (14 қар.). – С. 3. – Мәтін : электрондық // Mura : [сайт]. "
        "– URL: https://mura.example/documents/2 (қаралған күні: 22.11.2026)."
    )
    entry = citation.bibtex(article, "https://mura.example/documents/2", day)
    assert entry.startswith(f"@article{{mura{article.id},\n")
    for line in (
        "author = {Сейітов, Бауыржан}",
        "journal = {Индустриальная Караганда}",
        "number = {45}",
        "pages = {3}",
        "date = {1998-11-14}",
        "year = {1998}",
        "langid = {kazakh}",
        "urldate = {2026-11-22}",
    ):
        assert f"  {line}" in entry


def _book_with_record(authors: list[str], **fields: object) -> Document:
    record = CatalogueRecord(
        doc_type="book",
        title="История Караганды",
        subtitle="очерки",
        responsibility="",
        edition="2-е изд., доп.",
        place="Караганда",
        publisher="Болашак-Баспа",
        year=1998,
        extent="215 с.",
        illustrations="ил.",
        dimensions="21",
        series="Краеведение ; 3",
        isbn="9786017069253",
        languages=["rus"],
        agents=[RecordAgent(name=n, role="aut", kind="person") for n in authors],
        **fields,
    )
    return Document(id=77, title="x", doc_type="book", langs="rus", record=record, page_count=215)


def test_gost_of_a_book_by_its_number_of_authors() -> None:
    day = date(2026, 1, 5)
    one = citation.gost(_book_with_record(["Барсуков, Виктор Николаевич"]), "http://x/1", day)
    assert one == (
        "Барсуков, В. Н. История Караганды : очерки / В. Н. Барсуков. – 2-е изд., доп. "
        "– Караганда : Болашак-Баспа, 1998. – 215 с. : ил. ; 21 см. – (Краеведение ; 3). "
        "– ISBN 9786017069253. – Текст : электронный // Mura : [сайт]. "
        "– URL: http://x/1 (дата обращения: 05.01.2026)."
    )
    four = ["Иванов, И. И.", "Петров, П. П.", "Сидоров, С. С.", "Ким, А. Б."]
    assert citation.gost(_book_with_record(four), "u", day).startswith(
        "История Караганды : очерки / И. И. Иванов, П. П. Петров, С. С. Сидоров, А. Б. Ким."
    )
    five = citation.gost(_book_with_record([*four, "Ли, В. В."]), "u", day)
    assert "/ И. И. Иванов, П. П. Петров, С. С. Сидоров [и др.]. –" in five


def test_bibtex_escapes_and_names() -> None:
    document = _book_with_record(["Барсуков, В. Н.", "O'Neil & Sons"])
    document.record.agents[1].kind = "corporate"
    document.record.title = "100% «Қарағанды» & co_op #1 {x}"
    entry = citation.bibtex(document, "http://x/a_b?c=1&d=%20", date(2026, 1, 5))
    assert "  author = {Барсуков, В. Н. and {O'Neil \\& Sons}}," in entry
    assert "  title = {100\\% «Қарағанды» \\& co\\_op \\#1 \\{x\\} : очерки}," in entry
    assert "  url = {http://x/a_b?c=1&d=%20}," in entry
    assert "  langid = {russian}," in entry


# --- copy requests --------------------------------------------------------------------------------


def test_a_request_for_a_record_already_published_shows_the_link(
    lib: Library, client: FlaskClient
) -> None:
    form = client.get(f"/requests/new?record={lib.record_id}&lang=en").get_data(as_text=True)
    assert "Кітапхана-филиалында іс-шаралар" in form
    response = client.post(
        f"/requests/new?record={lib.record_id}",
        data={"reader_name": "Айгүл", "reader_email": "aigul@example.kz"},
    )
    assert response.status_code == 302
    status = client.get(response.headers["Location"] + "?lang=en")
    assert status.headers["Cache-Control"] == "private, no-store"
    html = status.get_data(as_text=True)
    assert 'data-status="published"' in html
    assert f'href="/read/{lib.article_id}"' in html
    assert "no email is sent" in html


def test_copy_request_flow_from_the_reader_to_staff_and_back(
    lib: Library, client: FlaskClient
) -> None:
    record = CatalogueRecord(title="Қарағанды газеті, 1934", doc_type="book", languages=["kaz"])
    db.session.add(record)
    db.session.commit()
    response = client.post(
        "/requests/new",
        data={
            "reader_name": "Нұрлан",
            "reader_email": "nurlan@example.kz",
            "description": "The 1934 issues, please",
            "record_id": str(record.id),
        },
    )
    token = response.headers["Location"].rsplit("/", 1)[1]
    request_row = db.session.scalar(db.select(CopyRequest).where(CopyRequest.token == token))
    assert request_row.status == "new" and request_row.record_id == record.id
    assert len(token) >= 32

    assert client.get("/staff/requests/").status_code == 302  # staff only
    staff = logged_in(lib.app, make_user("requests-staff", "staff"))
    queue = staff.get("/staff/requests/?lang=en").get_data(as_text=True)
    assert "Қарағанды газеті, 1934" in queue and "Нұрлан" in queue

    started = staff.post(f"/staff/requests/{request_row.id}/scan")
    assert started.headers["Location"] == f"/staff/upload?record_id={record.id}"
    db.session.refresh(request_row)
    assert request_row.status == "scanning"
    assert client.get(f"/requests/{token}").get_data(as_text=True).count('data-status="scanning"')

    # The scan was uploaded with the record and published: staff link it (or it is found
    # through the record); here the library's book stands in for it.
    staff.post(f"/staff/requests/{request_row.id}/link", data={"document_id": str(lib.book_id)})
    db.session.refresh(request_row)
    assert request_row.status == "published" and request_row.published_at is not None
    html = client.get(f"/requests/{token}").get_data(as_text=True)
    assert f'id="published-link" href="/read/{lib.book_id}"' in html


def test_declined_request_shows_the_note_and_bad_input_is_refused(
    lib: Library, client: FlaskClient
) -> None:
    bad = client.post("/requests/new", data={"reader_name": "А", "reader_email": "no-at-sign"})
    assert bad.status_code == 400
    empty = client.post("/requests/new", data={"reader_name": "А", "reader_email": "a@b.kz"})
    assert empty.status_code == 400  # no record and no description
    made = copy_requests.create_request(
        copy_requests.NewRequest("Әсел", "asel@example.kz", description="Газет 1960")
    )
    staff = logged_in(lib.app, make_user("requests-staff-2", "staff"))
    staff.post(
        f"/staff/requests/{made.id}/status",
        data={"status": "declined", "note": "The item is lost."},
    )
    html = client.get(f"/requests/{made.token}?lang=en").get_data(as_text=True)
    assert 'data-status="declined"' in html and "The item is lost." in html
    assert client.get("/requests/not-a-token").status_code == 404


def test_request_form_needs_csrf_and_is_rate_limited(tmp_path) -> None:
    app: Flask = make_app(tmp_path, WTF_CSRF_ENABLED=True, COPY_REQUEST_LIMIT="2 per hour")
    with app.app_context():
        client = app.test_client()
        data = {"reader_name": "А", "reader_email": "a@b.kz", "description": "x"}
        assert client.post("/requests/new", data=data).status_code == 400
        assert db.session.scalar(db.select(db.func.count(CopyRequest.id))) == 0
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"',
            client.get("/requests/new").get_data(as_text=True),
        ).group(1)
        codes = [
            client.post("/requests/new", data={**data, "csrf_token": token}).status_code
            for _ in range(3)
        ]
        assert codes == [302, 302, 429]
        db.session.remove()
        db.engine.dispose()
