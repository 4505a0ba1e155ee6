"""The search page's facets, filters, range of years and date order come from the index (issue 19).

A shelf of documents is made directly in the database (no OCR: each is found by its title), with
catalogue records (creators, an editor who is not one, subjects, host items with dates),
several collections, documents kept from the public by their rights or not yet published, and
indexed by the real ``index_document``/``index_source``. On each engine:

- the index's total and every facet's counts equal those computed from the database
  (``discovery.database_facets``) for the same matching documents, whatever the filters and
  range of years, and nothing hidden is counted;
- the date orders put the dated documents in order and the undated ones last;
- the number of SQL queries of a search page does not grow with the matching documents;
- a cached answer is dropped when anything is committed to the index;
- what a facet depends on (collections, the record) re-indexes the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, update

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection, Document, RecordAgent, StoredFile
from mura.app.models.record import RecordSubject
from mura.app.modules.catalogue import records
from mura.app.modules.discovery import discovery
from mura.app.modules.discovery import search as search_service
from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, open_engine
from mura.app.search.analysis import ANALYSIS_VERSION
from mura.app.search.index_meta import IndexMeta, read_meta, write_meta
from mura.app.search.types import ANY_YEAR, YearRange
from tests.conftest import PG_ADMIN_URL, _drop_database, make_app

WORD = "кітапхана"


@dataclass
class Shelf:
    """The app, every document made (public or not) and the public ones."""

    app: Flask
    ids: list[int]
    public: set[int]


def _make_documents(count: int, title: str = f"{WORD} жинағы", start: int = 0) -> list[int]:
    """``count`` documents, one in five kept from the public, one in nine unpublished."""
    pdf = db.session.query(StoredFile).first()
    if pdf is None:
        pdf = StoredFile(sha256="0" * 64, size=1, kind="pdf", mime="application/pdf")
        db.session.add(pdf)
    collections = {c.slug: c for c in db.session.query(Collection)}
    for slug in ("karlag", "coal"):
        if slug not in collections:
            collections[slug] = Collection(slug=slug, title=slug.title())
            db.session.add(collections[slug])
    made: list[Document] = []
    for n in range(start, start + count):
        record = None
        if n % 3 == 0:
            record = CatalogueRecord(
                doc_type="newspaper_article" if n % 2 == 0 else "book",
                title=f"{title} {n}",
                host_title="Индустриальная Караганда" if n % 2 == 0 else "",
                host_date=date(1960 + n % 30, 1 + n % 12, 1 + n % 27) if n % 2 == 0 else None,
                agents=[
                    RecordAgent(name=f"Автор {n % 4}", role="aut", position=0),
                    RecordAgent(name="Сейітов, Бауыржан", role="aut", position=1),
                    RecordAgent(name="Редактор", role="edt", position=2),  # not a creator
                ],
                subjects=[RecordSubject(term=f"Тақырып {n % 2}", position=0)],
            )
            db.session.add(record)
        document = Document(
            title=f"{title} {n}",
            authors=[f"Жазушы {n % 5}"],
            doc_type="newspaper_article" if n % 2 == 0 else "book",
            langs="kaz" if n % 4 else "kaz+rus",
            year=None if n % 7 == 0 else 1950 + n % 60,
            pdf_file=pdf,
            page_count=0,
            status="ocr_done" if n % 9 == 4 else "published",
            record=record,
        )
        document.collection = collections["karlag" if n % 2 else "coal"]
        if n % 6 == 1:
            document.memberships.append(
                type(document.memberships[0])(collection=collections["coal"])
            )
        db.session.add(document)
        made.append(document)
    db.session.commit()
    for document in made:
        n = int(document.title.rsplit(" ", 1)[1])
        access = "reading_room" if n % 5 == 2 else "online"
        db.session.execute(update(Document).where(Document.id == document.id).values(access=access))
    db.session.commit()
    ids = [document.id for document in made]
    items = [search_service.index_source(doc_id) for doc_id in ids]
    search_service.get_engine().index_documents([item for item in items if item is not None])
    db.session.expire_all()
    return ids


@contextmanager
def _shelf(home: Path, kind: str, **config: object) -> Iterator[Shelf]:
    app = make_app(home, SEARCH_ENGINE=kind, SEARCH_RATE_LIMIT="1000/minute", **config)
    with app.app_context():
        discovery.clear_cache()
        ids = _make_documents(60)
        public = set(search_service.public_document_ids())
        try:
            yield Shelf(app, ids, public)
        finally:
            engine = app.extensions.pop("mura_search", None)
            if engine is not None:
                engine.close()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(params=ENGINE_KINDS)
def shelf(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shelf]:
    """The shelf on SQLite, indexed by each engine."""
    with _shelf(tmp_path / "home", request.param) as made:
        yield made


@pytest.fixture(params=ENGINE_KINDS)
def pg_shelf(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shelf]:
    """The shelf on a PostgreSQL database of its own (as in production), each engine."""
    psycopg = pytest.importorskip("psycopg")
    name = f"mura_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        pytest.fail(f"these tests need PostgreSQL ({PG_ADMIN_URL}): {exc}")
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        with _shelf(tmp_path / "home", request.param, DATABASE_URL=url) as made:
            yield made
    finally:
        _drop_database(name)


FILTERS = [
    {},
    {"collection": ["karlag"]},
    {"author": ["Автор 1"]},
    {"author": ["Сейітов, Бауыржан"], "subject": ["Тақырып 0"]},
    {"subject": ["Тақырып 1"], "doc_type": ["newspaper_article"]},
    {"source": ["Индустриальная Караганда"], "language": ["rus"]},
    {"decade": ["1960", "1990"]},
    {"author": ["Редактор"]},  # an editor is not an author: nothing
]
RANGES = [ANY_YEAR, YearRange(1960, 1989), YearRange(None, 1975), YearRange(2000, None)]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "+".join(f) or "none")
def test_index_counts_are_the_database_counts(shelf: Shelf, filters: dict) -> None:
    hidden = set(shelf.ids) - shelf.public
    assert len(hidden) >= 10 and len(shelf.public) >= 40
    for years in RANGES:
        results = discovery.search(WORD, per_page=100, filters=filters, years=years)
        total, facets = discovery.database_facets(shelf.ids, filters, years)
        assert results.total == total, (filters, years)
        assert results.facets == facets, (filters, years)
        assert results.total_exact
        shown = {hit.document_id for hit in results.hits}
        assert len(shown) == total and not shown & hidden  # nothing hidden is found or counted


def test_index_counts_are_the_database_counts_on_postgresql(pg_shelf: Shelf) -> None:
    for filters in FILTERS:
        for years in RANGES[:2]:
            results = discovery.search(WORD, per_page=100, filters=filters, years=years)
            total, facets = discovery.database_facets(pg_shelf.ids, filters, years)
            assert (results.total, results.facets) == (total, facets), (filters, years)
            assert not {hit.document_id for hit in results.hits} - pg_shelf.public


def test_an_answer_keeps_the_most_frequent_values_of_a_facet_and_the_chosen_ones(
    shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = discovery.search(WORD).facets["author"]
    assert len(full) > 3
    monkeypatch.setattr(discovery, "FACET_VALUES_KEPT", 2)
    discovery.clear_cache()
    assert discovery.search(WORD).facets["author"] == dict(list(full.items())[:2])
    rarest = list(full)[-1]
    chosen = discovery.search(WORD, filters={"author": [rarest]}).facets["author"]
    assert list(chosen) == [*list(full)[:2], rarest]


def test_authors_and_subjects_come_from_the_record(shelf: Shelf) -> None:
    facets = discovery.search(WORD).facets
    assert "Редактор" not in facets["author"]
    assert facets["subject"] and set(facets["subject"]) == {"Тақырып 0", "Тақырып 1"}
    # A document without a record counts under its own authors.
    assert any(name.startswith("Жазушы") for name in facets["author"])
    assert list(facets["decade"]) == sorted(facets["decade"], reverse=True)


def test_filters_by_author_subject_and_years(shelf: Shelf) -> None:
    found = discovery.search(
        WORD, per_page=100, filters={"author": ["Автор 2"], "subject": ["Тақырып 0"]}
    )
    facts = discovery.document_facts([hit.document_id for hit in found.hits])
    assert found.total == len(facts) > 0
    for fact in facts.values():
        assert "Автор 2" in fact.values["author"] and "Тақырып 0" in fact.values["subject"]
    ranged = discovery.search(WORD, per_page=100, years=YearRange(1970, 1979))
    years = [discovery.document_facts([hit.document_id])[hit.document_id].values["year"]
             for hit in ranged.hits]  # fmt: skip
    assert ranged.total == len(years) > 0
    assert all(len(y) == 1 and 1970 <= int(y[0]) <= 1979 for y in years)
    assert set(ranged.facets["decade"]) == {"1970"}


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_date_order(shelf: Shelf, sort: str) -> None:
    results = discovery.search(WORD, per_page=100, sort=sort)
    ids = [hit.document_id for hit in results.hits]
    assert len(ids) == results.total == len(shelf.public)
    facts = discovery.document_facts(ids)
    days = [facts[doc_id].when.toordinal() if facts[doc_id].when else 0 for doc_id in ids]
    dated = [day for day in days if day]
    assert days[: len(dated)] == dated  # the undated last
    assert dated == sorted(dated, reverse=sort == "newest")
    # A results page further on continues the order.
    second = discovery.search(WORD, page=2, per_page=10, sort=sort)
    assert [hit.document_id for hit in second.hits] == ids[10:20]


def test_a_cached_answer_is_dropped_when_the_index_changes(shelf: Shelf) -> None:
    first = discovery.search(WORD, filters={"collection": ["coal"]})
    assert discovery.search(WORD, filters={"collection": ["coal"]}) is first  # from the cache
    [new] = _make_documents(1, start=1000)  # public: 1000 % 5 != 2, 1000 % 9 != 4
    again = discovery.search(WORD, filters={"collection": ["coal"]})
    assert again is not first
    assert again.total == first.total + 1
    assert again.facets["collection"]["coal"] == first.facets["collection"]["coal"] + 1
    assert new in {hit.document_id for hit in discovery.search(WORD, per_page=100).hits} or (
        again.total > 100
    )


def test_a_change_of_collection_or_record_reindexes_the_facts(shelf: Shelf) -> None:
    doc_id = min(
        doc_id
        for doc_id in shelf.public
        if db.session.get(Document, doc_id).record_id is None
        and [c.slug for c in db.session.get(Document, doc_id).collections] == ["karlag"]
    )
    before = discovery.search(WORD).facets
    assert "Новая тема" not in before["subject"]
    coal = db.session.query(Collection).filter_by(slug="coal").one()
    assert records.add_to_collection(doc_id, coal.id)
    assert discovery.search(WORD).facets["collection"]["coal"] == before["collection"]["coal"] + 1
    record = CatalogueRecord(
        doc_type="book",
        title=f"{WORD}: жаңа жазба",  # the document takes its title
        year=1901,
        agents=[RecordAgent(name="Абай", role="aut", position=0)],
        subjects=[RecordSubject(term="Новая тема", position=0)],
    )
    db.session.add(record)
    db.session.commit()
    assert records.link_document(doc_id, record.id)
    if db.session.get(Document, doc_id).access == "online":  # the rights may decide again
        after = discovery.search(WORD, filters={"subject": ["Новая тема"]})
        assert after.total == 1 and after.facets["author"] == {"Абай": 1}


def test_a_renamed_collection_queues_its_documents_for_the_index(shelf: Shelf) -> None:
    from mura.app.core import queue, task_names

    karlag = db.session.query(Collection).filter_by(slug="karlag").one()
    members = {d.id for d in records.collection_documents(karlag.id, public_only=True)}
    karlag.slug = "karlag-camp"
    assert records.reindex_members(karlag.id) == len(members) > 0
    queued = db.session.info[queue._KEY]
    assert {args[0] for name, args in queued if name == task_names.REINDEX_DOCUMENT} == members
    db.session.info.pop(queue._KEY)  # no broker here: the tasks' work is done below
    db.session.commit()
    for doc_id in members:
        search_service.index_document(doc_id)
    facets = discovery.search(WORD).facets["collection"]
    assert facets.get("karlag-camp") == len(members & shelf.public) and "karlag" not in facets


def _sql_of_page(app: Flask, path: str) -> list[int]:
    """The number of bound values of each SQL statement the page runs, in order.

    The number of statements alone would not tell: the database facts of the matching
    documents were once read one statement per 500 ids, the same count for 15 or 141 matches;
    their ``IN`` lists of ids were not the same size.
    """
    statements: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(len(parameters or ()))

    client = app.test_client()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return statements


def test_queries_do_not_grow_with_the_matching_documents(shelf: Shelf) -> None:
    _check_queries_do_not_grow(shelf)


def test_queries_do_not_grow_on_postgresql(pg_shelf: Shelf) -> None:
    _check_queries_do_not_grow(pg_shelf)


def _check_queries_do_not_grow(shelf: Shelf) -> None:
    _make_documents(20, title="сирек кездесетін", start=2000)
    _make_documents(200, title="жиі кездесетін", start=3000)
    discovery.clear_cache()
    rare = discovery.search("сирек", per_page=100)
    common = discovery.search("жиі", per_page=300)
    assert 10 < rare.total < 20 and common.total > 120  # a third are hidden
    discovery.clear_cache()
    for sort in ("relevance", "newest"):
        few = _sql_of_page(shelf.app, f"/search?q=сирек&sort={sort}&author=Сейітов,+Бауыржан")
        many = _sql_of_page(shelf.app, f"/search?q=жиі&sort={sort}&author=Сейітов,+Бауыржан")
        # A few statements whose values name the shown page's documents and pages (ten
        # results, their thumbnails' pages), never the matching documents (over a hundred here).
        for statements in (few, many):
            assert len(statements) <= 5, (sort, statements)  # hits, thumbnails, collections
            assert max(statements) <= 4 * 10, (sort, statements)


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_an_index_without_every_facet_asks_for_a_rebuild(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / kind
    entry = DocumentEntry(1, "Кітап", ["А"], "book", ["kaz"], ("a",), 1990, subjects=["Тарих"])
    with open_engine(kind, folder, lambda ids: {}) as engine:
        engine.index_document(entry, [PageEntry(1, 1, WORD)])
        assert not engine.needs_rebuild
        assert engine.search(WORD).facets["subject"] == {"Тарих": 1}
    current = read_meta(folder) or read_meta(next(p for p in folder.iterdir() if p.is_dir()))
    assert current is not None and current.facets_version == 2
    write_meta(folder, IndexMeta(kind, ANALYSIS_VERSION, current.common_terms, None))
    with open_engine(kind, folder, lambda ids: {}) as engine:
        assert engine.needs_rebuild


def test_the_matcher_path_counts_as_the_vectorised_one(
    shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mura.app.search import whoosh_engine

    if shelf.app.config["SEARCH_ENGINE"] != "whoosh":
        pytest.skip("Whoosh only")
    cases = [(f, y, s) for f in FILTERS[:4] for y in RANGES[:2] for s in ("relevance", "oldest")]
    fast = [discovery.search(WORD, per_page=100, filters=f, years=y, sort=s) for f, y, s in cases]
    monkeypatch.setattr(whoosh_engine, "VECTORISED", False)
    discovery.clear_cache()
    engine = search_service.get_engine()
    for (f, y, s), expected in zip(cases, fast, strict=True):
        slow = engine.search(WORD, per_page=100, filters=f, years=y, sort=s)
        assert slow.total == expected.total and slow.facets == expected.facets
        assert [h.document_id for h in slow.hits] == [h.document_id for h in expected.hits]
