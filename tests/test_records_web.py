"""Records, linking, collections: staff and public screens, the JSON API and search."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from PIL import Image
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, Document
from mura.app.modules.catalogue import records
from mura.app.modules.discovery import discovery
from tests.catalogue_helpers import iso, log_in_staff, make_document, marc21_article, marc21_book

RECORD_FORM = {
    "doc_type": "newspaper_article",
    "title": "Шахтёрская слава",
    "persons": "Петров, А. В. | aut\nСидорова, Е. | trl",
    "corporate": "",
    "host_title": "Индустриальная Караганда",
    "host_year": "2023",
    "host_issue": "№ 45",
    "host_date": "2023-11-14",
    "host_pages": "С. 3",
    "languages": "rus, kaz",
    "subjects": "Угольная промышленность -- Караганда",
    "keywords": "шахтёры",
    "udc": "622.33",
    "bbk": "",
    "local_lore": "y",
    "branch": "ЦБС им. Гоголя",
    "external_id": "IRBIS-42",
    "external_url": "https://opac.example.kz/record/42",
}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client logged in to the staff area."""
    test_client = app.test_client()
    log_in_staff(test_client)
    return test_client


def _record(external_id: str) -> CatalogueRecord:
    return db.session.scalars(
        select(CatalogueRecord).where(CatalogueRecord.external_id == external_id)
    ).one()


def test_record_form_create_edit_and_picker(client: FlaskClient) -> None:
    response = client.post("/staff/records/new", data=RECORD_FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    record = _record("IRBIS-42")
    assert record.host_citation == "Индустриальная Караганда. – 2023. – 14.11.2023. – № 45. – С. 3"
    assert [(a.name, a.role) for a in record.agents] == [
        ("Петров, А. В.", "aut"),
        ("Сидорова, Е.", "trl"),
    ]
    assert [(s.kind, s.term) for s in record.subjects] == [
        ("topic", "Угольная промышленность -- Караганда"),
        ("keyword", "шахтёры"),
        ("udc", "622.33"),
    ]
    assert (record.local_lore, record.languages) == (True, ["rus", "kaz"])
    page = client.get(f"/staff/records/{record.id}").get_data(as_text=True)
    assert "Индустриальная Караганда" in page and "ЦБС им. Гоголя" in page

    # Case-insensitive in Cyrillic and Kazakh letters, also on SQLite.
    found = client.get("/staff/records/search.json?q=шахтёрская").get_json()
    assert [r["id"] for r in found] == [record.id]
    assert found[0]["host"].startswith("Индустриальная")
    assert client.get("/staff/records/search.json?q=IRBIS-42").get_json()[0]["id"] == record.id

    # A second record may not take the same catalogue id.
    response = client.post("/staff/records/new", data={**RECORD_FORM, "title": "Другое"})
    assert response.status_code == 400
    assert "already has this id" in response.get_data(as_text=True)


def test_editing_keeps_imported_authorities(client: FlaskClient) -> None:
    from tests.test_records_import import _rusmarc

    records.import_marc(_rusmarc())
    record = _record(r"RU\NLR\bibl\5996")
    form = client.get(f"/staff/records/{record.id}/edit").get_data(as_text=True)
    assert "Барсуков, В. Н. | edt" in form
    data = {**RECORD_FORM, "external_id": record.external_id, "external_url": ""}
    data.update(
        doc_type="book", title="Задачи и этюды", persons="Барсуков, В. Н. | edt",
        subjects="Шахматные композиции -- Сборники", keywords="", udc="", bbk="Ч515.815я43",
        host_title="", host_year="", host_issue="", host_date="", host_pages="",
    )  # fmt: skip
    assert client.post(f"/staff/records/{record.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    record = _record(r"RU\NLR\bibl\5996")
    assert record.agents[0].authority_id == r"RU\NLR\auth\773539"
    assert [(s.kind, s.scheme) for s in record.subjects] == [("topic", "nlr-sh"), ("bbk", "rubbk")]


def test_documents_take_their_description_from_the_record(client: FlaskClient) -> None:
    records.import_marc(iso(marc21_book()))
    record = _record("KRG-000123")
    first = make_document("скан 1", langs="rus")
    second = make_document("скан 2", public=False)
    for document, part in ((first, "Т. 1"), (second, "Т. 2")):
        response = client.post(
            f"/staff/records/{record.id}/documents",
            data={"document_id": document.id, "part_label": part},
        )
        assert response.status_code == 302
    db.session.expire_all()
    first = db.session.get(Document, first.id)
    assert first.title == "Қарағанды көмір бассейнінің тарихы. Т. 1"
    assert first.authors == ["Әлімжанов, Серік"]
    assert (first.langs, first.year, first.doc_type) == ("kaz+rus", 1998, "book")
    assert [d.id for d in _record("KRG-000123").documents] == [first.id, second.id]

    client.post(f"/staff/records/{record.id}/documents/{second.id}/detach")
    db.session.expire_all()
    assert db.session.get(Document, second.id).record_id is None
    assert client.post(f"/staff/records/{record.id}/delete").status_code == 302
    assert db.session.get(CatalogueRecord, record.id) is not None  # a document still uses it


def test_a_new_record_from_the_upload_fields(app: Flask) -> None:
    document = make_document(
        "Қарлаг естеліктері", authors=["Омарова А."], langs="kaz+rus", year=2001
    )
    record_id = records.attach_upload(document.id, None, new_record=True)
    record = db.session.get(CatalogueRecord, record_id)
    assert (record.title, record.year, record.languages) == (
        "Қарлаг естеліктері",
        2001,
        ["kaz", "rus"],
    )
    assert [a.name for a in record.agents] == ["Омарова А."]
    assert db.session.get(Document, document.id).record_id == record_id


def test_upload_form_links_the_chosen_record(client: FlaskClient) -> None:
    pytest.importorskip("mura.workers.pipeline.inputs")
    records.import_marc(iso(marc21_article()))
    record = _record("KRG-A-777")
    data = {
        "title": "x",
        "doc_type": "book",
        "langs": "rus",
        "authors": "",
        "record_id": str(record.id),
    }
    # A small image stays in memory; a large one would be a temporary file the upload view
    # leaves to the garbage collector (a ResourceWarning in whichever test runs next).
    data["files"] = [(_png(), "p1.png")]
    response = client.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    document = db.session.scalars(select(Document)).one()
    assert document.record_id == record.id
    assert (document.title, document.doc_type) == (
        "Шахтёрская слава Караганды",
        "newspaper_article",
    )
    assert "record-search" in client.get("/staff/upload").get_data(as_text=True)


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (40, 60), (120, 80, 40)).save(out, "PNG")
    out.seek(0)
    return out


def test_collections_titles_cover_figures_and_order(client: FlaskClient) -> None:
    data = {
        "slug": "karlag", "title": "Карлаг", "title_kk": "Қарлаг", "title_ru": "Карлаг",
        "title_en": "Karlag", "description": "Лагерь и память.", "branch": "Центральная библиотека",
        "cover": (_png(), "cover.png"),
    }  # fmt: skip
    response = client.post("/staff/collections/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    collection = db.session.scalars(select(Collection)).one()
    assert collection.cover_file.mime == "image/png"
    bad = {**data, "slug": "Қарлаг", "cover": (io.BytesIO(b"not an image"), "c.png")}
    assert client.post("/staff/collections/new", data=bad).status_code == 400

    a = make_document("A", page_count=10)
    b = make_document("B", page_count=5)
    hidden = make_document("C", public=False, page_count=7)
    for document in (a, b, hidden):
        client.post(
            f"/staff/collections/{collection.id}/documents", data={"document_id": document.id}
        )
    client.post(
        f"/staff/collections/{collection.id}/order",
        data={f"position-{b.id}": "1", f"position-{a.id}": "2", f"position-{hidden.id}": "3"},
    )
    public = records.collection_figures(collection.id)
    assert (public.documents, public.pages, public.megabytes) == (2, 15, 5.0)
    staff = records.collection_figures(collection.id, public_only=False)
    assert (staff.documents, staff.pages) == (3, 22)
    assert [d.id for d in records.collection_documents(collection.id)] == [b.id, a.id]

    refresh()  # the test's app context outlives requests, and flask-babel caches the locale in it
    page = client.get("/collections/karlag?lang=en").get_data(as_text=True)
    assert "<h1>Karlag</h1>" in page and "Центральная библиотека" in page
    assert page.index(">B</a>") < page.index(">A</a>") and ">C</a>" not in page
    refresh()
    assert "<h1>Қарлаг</h1>" in client.get("/collections/karlag?lang=kk").get_data(as_text=True)
    with client.get("/collections/karlag/cover") as cover:
        assert cover.status_code == 200 and cover.mimetype == "image/png"
    refresh()
    staff_page = client.get(f"/staff/collections/{collection.id}?lang=en").get_data(as_text=True)
    assert "3 documents, 22 pages, 5.0 MB" in staff_page  # the unpublished one has no PDF yet


def test_unpublished_documents_stay_out_of_the_json_api_and_search(client: FlaskClient) -> None:
    records.import_marc(iso(marc21_book()))
    record = _record("KRG-000123")
    public = make_document("көшірме")
    hidden = make_document("жасырын", public=False)
    records.link_document(public.id, record.id, "Т. 1")
    records.link_document(hidden.id, record.id, "Т. 2")

    page = client.get(f"/documents/{public.id}").get_data(as_text=True)
    assert 'id="catalogue-record"' in page and "Болашақ-Баспа" in page
    assert client.get(f"/documents/{hidden.id}").status_code == 404
    dc = client.get(f"/api/documents/{public.id}/dc").get_json()
    assert dc["dc"]["title"] == ["Қарағанды көмір бассейнінің тарихы : очерктер. Т. 1"]
    assert dc["dc"]["creator"] == ["Әлімжанов, Серік"]
    assert client.get(f"/api/documents/{hidden.id}/dc").status_code == 404
    per_record = client.get(f"/api/records/{record.id}/dc").get_json()
    assert [d["document_id"] for d in per_record["documents"]] == [public.id]

    lone = make_document("тек жасырын", public=False)
    records.link_document(lone.id, records.attach_upload(lone.id, None, True) or 0)
    assert client.get(f"/api/records/{lone.record_id}/dc").status_code == 404

    # Linking re-indexes: the public document is found by the record's title, the hidden never.
    found = {hit.document_id for hit in discovery.search("бассейнінің").hits}
    assert found == {public.id}
    records.withdraw_document(public.id, "test")
    assert discovery.search("бассейнінің").total == 0
