"""A document in several collections (issue 15 item 10): thematic folders overlap.

Adding a document to a second collection keeps it in the first; removing it from one keeps
the others. Shown on the staff screens, the upload form and ``mura ingest``, the public pages,
the search facet and filter of both engines, OAI-PMH sets, and carried over by the migration
from the one-collection column on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from lxml import etree
from PIL import Image

from mura.app.cli import cli
from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, CollectionItem, Document, ScanJob
from mura.app.modules.catalogue import records
from mura.app.modules.discovery import discovery
from mura.app.modules.discovery import search as search_service
from mura.app.search import ENGINE_KINDS
from tests.catalogue_helpers import log_in_staff, make_document
from tests.conftest import PG_ADMIN_URL, make_app
from tests.test_oai import NS, schema  # noqa: F401 (the OAI-PMH XSD fixture)

#: The revision before many-to-many: documents had one ``collection_id``.
BEFORE = "4e7a1c9b2d63"
#: The revision that made collections many-to-many.
MANY = "5b9e3d7a4c18"


def _collections() -> tuple[Collection, Collection]:
    karlag = Collection(slug="karlag", title="Карлаг", title_kk="Қарлаг", title_en="Karlag")
    history = Collection(
        slug="karaganda-history", title="Қарағанды тарихы", title_en="History of Karaganda"
    )
    db.session.add_all([karlag, history])
    db.session.commit()
    return karlag, history


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (40, 60), (120, 80, 40)).save(out, "PNG")
    out.seek(0)
    return out


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in_staff(client)
    return client


# --- staff screens ---------------------------------------------------------------------------


def test_adding_to_a_second_collection_keeps_the_first(staff: FlaskClient) -> None:
    karlag, history = _collections()
    document = make_document("Карлаг туралы естеліктер", page_count=4)
    other = make_document("Шахтёрлар", page_count=2)
    for collection in (karlag, history):
        response = staff.post(
            f"/staff/collections/{collection.id}/documents", data={"document_id": document.id}
        )
        assert response.status_code == 302
    staff.post(f"/staff/collections/{history.id}/documents", data={"document_id": other.id})
    db.session.expire_all()
    assert [c.slug for c in db.session.get(Document, document.id).collections] == [
        "karlag",
        "karaganda-history",
    ]
    assert [d.id for d in records.collection_documents(karlag.id)] == [document.id]
    assert [d.id for d in records.collection_documents(history.id)] == [document.id, other.id]
    # Each collection counts it once; positions are per collection.
    assert records.collection_figures(karlag.id).documents == 1
    assert records.collection_figures(history.id).documents == 2
    staff.post(
        f"/staff/collections/{history.id}/order",
        data={f"position-{other.id}": "1", f"position-{document.id}": "2"},
    )
    assert [d.id for d in records.collection_documents(history.id)] == [other.id, document.id]
    assert [d.id for d in records.collection_documents(karlag.id)] == [document.id]
    # The staff page of one collection names the other it is also in.
    refresh()
    page = staff.get(f"/staff/collections/{karlag.id}?lang=en").get_data(as_text=True)
    assert "Қарағанды тарихы" in page and "Also in" in page
    # The record's staff page lists both collections of its document.
    record = CatalogueRecord(title="Естеліктер")
    db.session.add(record)
    db.session.commit()
    records.link_document(document.id, record.id)
    refresh()
    page = staff.get(f"/staff/records/{record.id}?lang=en").get_data(as_text=True)
    cell = page[page.index('class="collections"') :].split("</td>")[0]
    assert "Карлаг" in cell and "Қарағанды тарихы" in cell
    # Adding it again changes nothing.
    staff.post(f"/staff/collections/{karlag.id}/documents", data={"document_id": document.id})
    count = sa.select(sa.func.count()).select_from(CollectionItem)
    assert db.session.scalar(count.where(CollectionItem.document_id == document.id)) == 2

    # Removing it from one keeps the other.
    response = staff.post(f"/staff/collections/{karlag.id}/documents/{document.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert [c.slug for c in db.session.get(Document, document.id).collections] == [
        "karaganda-history"
    ]
    assert records.collection_documents(karlag.id) == []
    assert [d.id for d in records.collection_documents(history.id)] == [other.id, document.id]
    # Removing it from a collection it is no longer in is a 404, and changes nothing.
    response = staff.post(f"/staff/collections/{karlag.id}/documents/{document.id}/remove")
    assert response.status_code == 404
    assert len(db.session.get(Document, document.id).collections) == 1


def test_upload_form_and_job_page_take_several_collections(staff: FlaskClient) -> None:
    pytest.importorskip("mura.workers.pipeline.inputs")
    karlag, history = _collections()
    data = {
        "title": "Долинка",
        "doc_type": "book",
        "langs": "kaz",
        "authors": "",
        "collection": ["karlag", "karaganda-history"],
        "files": [(_png(), "p1.png")],
    }
    response = staff.post("/staff/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    document = db.session.scalars(sa.select(Document)).one()
    assert {c.slug for c in document.collections} == {"karlag", "karaganda-history"}
    job = db.session.scalars(sa.select(ScanJob)).one()
    refresh()
    page = staff.get(f"/staff/jobs/{job.id}?lang=en").get_data(as_text=True)
    listed = page[page.index('id="document-collections"') :].split("</p>")[0]
    assert "Карлаг" in listed and "Қарағанды тарихы" in listed
    # An unknown collection is refused with the form kept, and nothing is created.
    refresh()
    bad = {**data, "collection": ["karlag", "no-such"], "files": [(_png(), "p1.png")]}
    response = staff.post("/staff/upload?lang=ru", data=bad, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Коллекции «no-such» нет." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_cli_ingest_collection_is_repeatable(app: Flask, tmp_path: Path) -> None:
    pytest.importorskip("mura.workers.pipeline.inputs")
    _collections()
    scan = tmp_path / "p1.png"
    Image.new("L", (200, 300), 255).save(scan, dpi=(300, 300))
    runner = app.test_cli_runner()
    args = ["ingest", str(scan), "--title", "T", "--type", "book", "--json"]
    result = runner.invoke(
        cli, [*args, "--collection", "karlag", "--collection", "karaganda-history"]
    )
    assert result.exit_code == 0, result.output
    job = db.session.get(ScanJob, json.loads(result.output)["job_id"])
    assert [c.slug for c in job.document.collections] == ["karlag", "karaganda-history"]
    result = runner.invoke(cli, [*args, "--collection", "karlag", "--collection", "nope"])
    assert result.exit_code != 0 and "nope" in result.output


# --- public pages --------------------------------------------------------------------------------


def test_public_pages_show_the_document_in_both(app: Flask) -> None:
    karlag, history = _collections()
    first = make_document("Бірінші", page_count=3)
    both = make_document("Екеуінде", page_count=5)
    assert records.add_to_collection(both.id, karlag.id)
    assert records.add_to_collection(first.id, history.id)
    assert records.add_to_collection(both.id, history.id)
    client = app.test_client()
    for slug, expected in (("karlag", [">Екеуінде</a>"]), ("karaganda-history", None)):
        refresh()
        page = client.get(f"/collections/{slug}?lang=en").get_data(as_text=True)
        if expected is None:  # the collection's own order: first, then both
            assert page.index(">Бірінші</a>") < page.index(">Екеуінде</a>")
        else:
            assert all(part in page for part in expected) and ">Бірінші</a>" not in page
    refresh()
    listing = client.get("/collections?lang=en").get_data(as_text=True)
    assert listing.count("documents, ") >= 2 or "2 documents" in listing
    assert records.collection_figures(history.id).documents == 2
    assert records.collection_figures(karlag.id).pages == 5
    refresh()
    page = client.get(f"/documents/{both.id}?lang=en").get_data(as_text=True)
    assert "<dt>Collections</dt>" in page
    assert '/collections/karlag"' in page and '/collections/karaganda-history"' in page
    dc = client.get(f"/api/documents/{both.id}/dc").get_json()
    assert {"Карлаг", "Қарағанды тарихы"} <= set(dc["dc"]["relation"])


# --- search, on both engines ---------------------------------------------------------------------


@pytest.fixture(params=ENGINE_KINDS)
def engine_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(tmp_path / "home", SEARCH_ENGINE=request.param)
    with application.app_context():
        yield application
        engine = application.extensions.pop("mura_search", None)
        if engine is not None:
            engine.close()
        db.session.remove()
        db.engine.dispose()


def test_search_facet_and_filter_count_each_collection(engine_app: Flask) -> None:
    karlag, history = _collections()
    both = make_document("Қарағанды лагері", page_count=1)
    only_karlag = make_document("Қарағанды лагері туралы", page_count=1)
    only_history = make_document("Қарағанды қаласы", page_count=1)
    nowhere = make_document("Қарағанды", page_count=1)
    records.add_to_collection(both.id, karlag.id)
    records.add_to_collection(both.id, history.id)
    records.add_to_collection(only_karlag.id, karlag.id)
    records.add_to_collection(only_history.id, history.id)
    for document in (both, only_karlag, only_history, nowhere):
        search_service.index_document(document.id)

    engine = search_service.get_engine()
    for results in (engine.search("қарағанды"), discovery.search("қарағанды")):
        assert results.total == 4
        assert results.facets["collection"] == {"karaganda-history": 2, "karlag": 2}
    for search in (engine.search, discovery.search):
        found = search("қарағанды", filters={"collection": ["karlag"]})
        assert {hit.document_id for hit in found.hits} == {both.id, only_karlag.id}
        found = search("қарағанды", filters={"collection": ["karaganda-history"]})
        assert {hit.document_id for hit in found.hits} == {both.id, only_history.id}
        # Values of one facet are alternatives: the document in both counts once.
        found = search("қарағанды", filters={"collection": ["karlag", "karaganda-history"]})
        assert found.total == 3
        # Its own filter leaves a facet's counts alone; another facet's filter applies.
        found = search("қарағанды", filters={"collection": ["karlag"], "doc_type": ["book"]})
        assert found.facets["collection"] == {"karaganda-history": 2, "karlag": 2}
    assert engine.ranked_documents("қарағанды", filters={"collection": ["karlag"]})

    # Removing it from one collection re-indexes it: the other keeps it.
    assert records.remove_from_collection(both.id, karlag.id)
    found = engine.search("қарағанды", filters={"collection": ["karlag"]})
    assert {hit.document_id for hit in found.hits} == {only_karlag.id}
    assert engine.search("қарағанды").facets["collection"] == {
        "karaganda-history": 2,
        "karlag": 1,
    }
    found = discovery.search("қарағанды", filters={"collection": ["karaganda-history"]})
    assert {hit.document_id for hit in found.hits} == {both.id, only_history.id}

    # A rebuild (``mura reindex``) writes every collection of every document.
    report = search_service.rebuild_index(engine_app.config["SEARCH_ENGINE"])
    assert report.documents == 4
    engine_app.extensions.pop("mura_search").close()
    facets = search_service.get_engine().search("қарағанды").facets["collection"]
    assert facets == {"karaganda-history": 2, "karlag": 1}


# --- OAI-PMH -------------------------------------------------------------------------------------


def _oai(client: FlaskClient, xsd: etree.XMLSchema, **args: str) -> etree._Element:
    response = client.get("/oai", query_string=args)
    assert response.status_code == 200
    tree = etree.fromstring(response.data)
    xsd.assertValid(tree)
    return tree


def _listed(tree: etree._Element) -> dict[str, list[str]]:
    return {
        header.findtext("oai:identifier", namespaces=NS).rsplit("/", 1)[-1]: [
            spec.text for spec in header.findall("oai:setSpec", NS)
        ]
        for header in tree.iterfind(".//oai:header", NS)
    }


def test_oai_record_is_in_every_set_of_its_collections(
    app: Flask,
    schema: etree.XMLSchema,  # noqa: F811 (the fixture imported above)
) -> None:
    karlag, history = _collections()
    both = make_document("Екі жинақта")
    one = make_document("Бір жинақта")
    gone = make_document("Жойылған")
    for document, collections in ((both, (karlag, history)), (one, (history,))):
        for collection in collections:
            records.add_to_collection(document.id, collection.id)
    for collection in (karlag, history):
        records.add_to_collection(gone.id, collection.id)
    records.withdraw_document(gone.id, "test")
    gone.pdf_file_id = None  # no longer public: harvested as deleted
    db.session.commit()
    client = app.test_client()

    sets = _oai(client, schema, verb="ListSets")
    assert {s.text for s in sets.iterfind(".//oai:setSpec", NS)} == {
        "karlag",
        "karaganda-history",
    }
    everything = _listed(_oai(client, schema, verb="ListIdentifiers", metadataPrefix="oai_dc"))
    assert everything[str(both.id)] == ["karlag", "karaganda-history"]
    assert everything[str(one.id)] == ["karaganda-history"]
    assert sorted(everything[str(gone.id)]) == ["karaganda-history", "karlag"]
    in_karlag = _oai(client, schema, verb="ListRecords", metadataPrefix="oai_dc", set="karlag")
    assert set(_listed(in_karlag)) == {str(both.id), str(gone.id)}
    in_history = _oai(
        client, schema, verb="ListRecords", metadataPrefix="oai_dc", set="karaganda-history"
    )
    assert set(_listed(in_history)) == {str(both.id), str(one.id), str(gone.id)}
    record = _oai(
        client,
        schema,
        verb="GetRecord",
        metadataPrefix="oai_dc",
        identifier=next(
            h.findtext("oai:identifier", namespaces=NS)
            for h in in_karlag.iterfind(".//oai:header", NS)
            if h.findtext("oai:identifier", namespaces=NS).endswith(f"/{both.id}")
        ),
    )
    assert [s.text for s in record.iterfind(".//oai:setSpec", NS)] == [
        "karlag",
        "karaganda-history",
    ]

    # Out of one set, still in the other.
    records.remove_from_collection(both.id, karlag.id)
    in_karlag = _oai(client, schema, verb="ListIdentifiers", metadataPrefix="oai_dc", set="karlag")
    assert set(_listed(in_karlag)) == {str(gone.id)}
    in_history = _oai(
        client, schema, verb="ListIdentifiers", metadataPrefix="oai_dc", set="karaganda-history"
    )
    assert str(both.id) in _listed(in_history)


def test_a_deleted_document_in_two_collections_is_listed_in_both_sets(
    app: Flask,
    schema: etree.XMLSchema,  # noqa: F811 (the fixture imported above)
) -> None:
    karlag, history = _collections()
    document = make_document("Жойылатын")
    for collection in (karlag, history):
        records.add_to_collection(document.id, collection.id)
    db.session.delete(document)  # a public document deleted: its tombstone keeps both sets
    db.session.commit()
    client = app.test_client()
    for spec in ("karlag", "karaganda-history"):
        tree = _oai(client, schema, verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        headers = tree.findall(".//oai:header", NS)
        assert len(headers) == 1 and headers[0].get("status") == "deleted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CollectionItem)) == 0


# --- the migration -------------------------------------------------------------------------------


def _migrate(app: Flask, revision: str, *, down: bool = False) -> None:
    from flask_migrate import downgrade, upgrade

    from mura.app import paths

    with app.app_context():
        (downgrade if down else upgrade)(directory=str(paths.MIGRATIONS), revision=revision)
        db.engine.dispose()


def _check_migration(app: Flask) -> None:
    """Rows of the one-collection schema come through the upgrade, and back down again."""
    _migrate(app, BEFORE)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO collections (id, slug, title, description, created_at) VALUES "
                "(1, 'karlag', 'Карлаг', '', CURRENT_TIMESTAMP), "
                "(2, 'coal', 'Көмір', '', CURRENT_TIMESTAMP)"
            )
        )
        for doc_id, collection_id, position in (
            (1, 1, 2),
            (2, 1, 1),
            (3, 2, 1),
            (4, None, None),
            (5, 2, None),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO documents (id, title, authors, doc_type, langs, page_count, "
                    "collection_id, collection_position, created_at, updated_at) VALUES "
                    "(:id, :title, '[]', 'book', 'kaz', 1, :c, :p, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"id": doc_id, "title": f"Құжат {doc_id}", "c": collection_id, "p": position},
            )
        # What refers to documents must survive SQLite's rebuild of the table.
        conn.execute(
            sa.text(
                "INSERT INTO document_rights (document_id, mark, reason, set_by, set_at) "
                "VALUES (1, 'public_domain', 'test', 'test', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO scan_jobs (document_id, status, langs, options, stage_attempts, "
                "created_at) VALUES (1, 'done', 'kaz', '{}', 0, CURRENT_TIMESTAMP)"
            )
        )
    _migrate(app, MANY)
    with app.app_context():
        with db.engine.connect() as conn:
            for table in ("document_rights", "scan_jobs"):
                count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                assert count == 1, table
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT document_id, collection_id, position FROM collection_items "
                    "ORDER BY document_id"
                )
            ).all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("documents")}
        assert [tuple(r) for r in rows] == [(1, 1, 2), (2, 1, 1), (3, 2, 1), (5, 2, None)]
        assert "collection_id" not in columns and "collection_position" not in columns
        db.engine.dispose()
    _migrate(app, "head")  # the ORM maps the latest schema (later columns of these tables)
    with app.app_context():
        # The ORM reads them: the collection's order, and a second collection added.
        assert [d.id for d in records.collection_documents(1, public_only=False)] == [2, 1]
        assert records.add_to_collection(1, 2)
        assert [c.slug for c in db.session.get(Document, 1).collections] == ["karlag", "coal"]
        assert [d.id for d in records.collection_documents(2, public_only=False)] == [3, 1, 5]
        db.session.remove()
        db.engine.dispose()
    # Down again: each document keeps its first collection.
    _migrate(app, BEFORE, down=True)
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, collection_id, collection_position FROM documents ORDER BY id")
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, 1, 2),
            (2, 1, 1),
            (3, 2, 1),
            (4, None, None),
            (5, 2, None),
        ]
    with app.app_context():
        db.engine.dispose()
    _migrate(app, "head")


def test_migration_carries_memberships_on_sqlite(tmp_path: Path) -> None:
    from mura.app import create_app
    from tests.conftest import _base_config

    home = tmp_path / "home"
    home.mkdir()
    _check_migration(create_app(_base_config(home)))


@pytest.mark.production
def test_migration_carries_memberships_on_postgresql(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    from mura.app import create_app
    from tests.conftest import _base_config

    name = f"mura_coll_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        home = tmp_path / "home"
        home.mkdir()
        _check_migration(create_app({**_base_config(home), "DATABASE_URL": url}))
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# --- the engines alone, at a few hundred documents -----------------------------------------------

SLUGS = ("almaty", "astana", "karaganda", "karlag", "shymkent")


def _slugs_of(doc_id: int) -> tuple[str, ...]:
    """None for every seventh; one for most; two for every third; three for every tenth."""
    if doc_id % 7 == 0:
        return ()
    chosen = [SLUGS[doc_id % 5]]
    if doc_id % 3 == 0:
        chosen.append(SLUGS[(doc_id + 1) % 5])
    if doc_id % 10 == 0:
        chosen.append(SLUGS[(doc_id + 2) % 5])
    return tuple(chosen)


@pytest.mark.parametrize("kind", [*ENGINE_KINDS, "whoosh-matchers"])
def test_engines_count_and_filter_every_collection(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mura.app.search import DocumentEntry, PageEntry, open_engine, whoosh_engine

    if kind == "whoosh-matchers":  # Whoosh's own matchers, not the vectorised path
        monkeypatch.setattr(whoosh_engine, "VECTORISED", False)
    documents = range(1, 301)
    items = [
        (
            DocumentEntry(d, f"Құжат {d}", [], "book", ["kaz"], _slugs_of(d), 2000),
            [PageEntry(d, 1, "кітапхана есебі")],
        )
        for d in documents
    ]
    texts = {d: "кітапхана есебі" for d in documents}
    loader = lambda ids: {i: texts[i] for i in ids if i in texts}  # noqa: E731
    with open_engine(kind.split("-")[0], tmp_path / "index", loader) as engine:
        engine.index_documents(items)
        expected = {slug: sum(slug in _slugs_of(d) for d in documents) for slug in SLUGS}
        found = engine.search("кітапхана", per_page=5)
        assert found.total == 300
        assert found.facets["collection"] == dict(
            sorted(expected.items(), key=lambda item: (-item[1], item[0]))
        )
        for wanted in (["karlag"], ["karlag", "astana"], ["nowhere"]):
            ranked = engine.ranked_documents("кітапхана", filters={"collection": wanted})
            assert {d for d, _ in ranked} == {
                d for d in documents if set(_slugs_of(d)) & set(wanted)
            }
            result = engine.search("кітапхана", filters={"collection": wanted})
            assert result.total == len(ranked)
        # A facet's counts stay those of every collection when it filters itself.
        filtered = engine.search("кітапхана", filters={"collection": ["karlag"]})
        assert filtered.facets["collection"] == found.facets["collection"]


# --- bags ----------------------------------------------------------------------------------------


def test_a_bag_keeps_every_collection_and_position(app: Flask, tmp_path: Path) -> None:
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
    from mura.app.modules.preservation import preservation
    from tests.synthetic import render_pages

    karlag, history = _collections()
    first = make_document("Алдыңғы")
    records.add_to_collection(first.id, history.id)
    uploads = [Upload(p.name, io.BytesIO(p.read_bytes())) for p in render_pages(tmp_path / "p", 1)]
    fields = DocumentFields("Екеуінде", "book", [], "eng", collections=[karlag.slug, history.slug])
    document_id = ingest(uploads, fields).document_id
    # `mura export --collection` takes the collection's documents in its order.
    assert preservation.documents_of_collection("karaganda-history") == [first.id, document_id]
    preservation.export_bag([document_id], tmp_path / "bag", collection="karaganda-history")
    described = json.loads(
        next((tmp_path / "bag" / "data").rglob("mura.json")).read_text(encoding="utf-8")
    )
    assert [c["slug"] for c in described["document"]["collections"]] == [
        "karlag",
        "karaganda-history",
    ]

    other = make_app(tmp_path / "other")
    with other.app_context():
        preservation.import_bag(tmp_path / "bag")
        restored = db.session.get(Document, document_id)
        assert [(c.slug, c.title) for c in restored.collections] == [
            ("karlag", "Карлаг"),
            ("karaganda-history", "Қарағанды тарихы"),
        ]
        positions = {item.collection.slug: item.position for item in restored.memberships}
        assert positions == {"karlag": 1, "karaganda-history": 2}
        db.session.remove()
        db.engine.dispose()


def test_an_index_from_before_keeps_one_collection_until_reindexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Whoosh index made with one collection per entry never shows "a,b" as a collection."""
    from whoosh import fields

    from mura.app.search import DocumentEntry, PageEntry, open_engine, whoosh_engine

    modern = whoosh_engine.build_schema

    def old_schema() -> fields.Schema:
        old = modern()
        old.remove("collection")
        old.add("collection", fields.ID(stored=True))
        return old

    entry = DocumentEntry(1, "Құжат", [], "book", ["kaz"], ("karlag", "coal"), 2000)
    loader = lambda ids: {1: "кітапхана"}  # noqa: E731
    monkeypatch.setattr(whoosh_engine, "build_schema", old_schema)
    with open_engine("whoosh", tmp_path / "old", loader) as engine:
        engine.index_documents([])
    monkeypatch.setattr(whoosh_engine, "build_schema", modern)
    with open_engine("whoosh", tmp_path / "old", loader) as engine:
        engine.index_document(entry, [PageEntry(1, 1, "кітапхана")])
        assert engine.search("кітапхана").facets["collection"] == {"karlag": 1}
    with open_engine("whoosh", tmp_path / "new", loader) as engine:
        engine.index_document(entry, [PageEntry(1, 1, "кітапхана")])
        assert engine.search("кітапхана").facets["collection"] == {"coal": 1, "karlag": 1}
