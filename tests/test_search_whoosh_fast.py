"""Whoosh's vectorised ranking (numpy) answers exactly as walking Whoosh's matchers does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mura.app.search import whoosh_engine
from mura.app.search.analysis import ANALYSIS_VERSION
from mura.app.search.grams import split_pair
from mura.app.search.index_meta import IndexMeta, write_meta
from mura.app.search.query import parse_query
from mura.app.search.types import SearchResults
from mura.app.search.whoosh_engine import WhooshEngine
from tests.test_search import LIBRARY, TextStore, entry

QUERIES = [
    "кітапхана",
    "Қарағанды",
    "кітапхана оқырман",
    "кітапхана OR газет",
    "кітапхана -қала",
    '"Қарағанды қаласының"',
    '"және мен"',
    '"және мен оқырмандар"',
    '"бұл және мен бұл"',
    "Әуезов",
    "жобосу",
    "Qarağandy",
    "кітапханa",  # a Latin letter
    "кітапхнаа",  # a near miss only
    "есеп 2023",
    '"мен және"',
    "NOT кітапхана",
    "реставратор OR мектеп -газет",
    '"кітапхнаа оқырмандар"',  # a phrase answered with near misses
    'кітапхана -"және мен"',
    '"қаласының кітапханалары" OR "жаңа кітаптар"',
    '"Қарағанды қаласының кітапханалары"',
]
FILTERS = [None, {"collection": ["karaganda"]}, {"language": ["rus"], "doc_type": ["book"]}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhooshEngine]:
    store = TextStore()
    engine = WhooshEngine(tmp_path_factory.mktemp("index"), store)
    # One commit per document (several segments), and a document indexed twice (deletions).
    for doc, stems in LIBRARY:
        engine.index_document(doc, store.pages(doc.document_id, stems))
    extra = {
        5: ["Кітапхана және мен оқырмандар кездесуі өтті"],
        6: ["Ол бұл және мен бұл жерде болды", "Кітапхана туралы"],
        7: ["Және кітапхана жаңа кітаптар мен журналдар алды"],
    }
    for doc_id, texts in extra.items():
        doc = entry(doc_id, f"Құжат {doc_id}", collection="astana", languages=["kaz", "rus"])
        engine.index_document(doc, store.pages(doc_id, texts))
    doc, stems = LIBRARY[0]
    engine.index_document(doc, store.pages(doc.document_id, stems))
    engine.index_document(entry(8, "Кітапхана жылнамасы"), [])  # no pages
    yield engine
    engine.close()


def _both(
    engine: WhooshEngine, monkeypatch: pytest.MonkeyPatch, query: str, **kw: object
) -> tuple[SearchResults, SearchResults]:
    fast = engine.search(query, per_page=100, **kw)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(whoosh_engine, "VECTORISED", False)
        slow = engine.search(query, per_page=100, **kw)  # type: ignore[arg-type]
    return fast, slow


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("query", QUERIES)
def test_vectorised_ranking_equals_the_matchers(
    engine: WhooshEngine, monkeypatch: pytest.MonkeyPatch, query: str, filters: dict | None
) -> None:
    fast, slow = _both(engine, monkeypatch, query, filters=filters)
    assert fast.total == slow.total and fast.total_exact
    assert fast.facets == slow.facets
    assert [hit.document_id for hit in fast.hits] == [hit.document_id for hit in slow.hits]
    for mine, theirs in zip(fast.hits, slow.hits, strict=True):
        assert mine.score == pytest.approx(theirs.score, rel=1e-9)
        assert (mine.pages, mine.snippet, mine.snippet_page) == (
            theirs.pages,
            theirs.snippet,
            theirs.snippet_page,
        )


def test_the_vectorised_path_is_taken(engine: WhooshEngine) -> None:
    assert engine._searchers.current().view() is not None


def test_segments_are_cached_until_the_index_changes(tmp_path: Path) -> None:
    store = TextStore()
    with WhooshEngine(tmp_path, store) as engine:
        engine.index_document(entry(1, "Бір"), store.pages(1, ["кітапхана бір"]))
        assert engine.search("кітапхана").total == 1
        engine.index_document(entry(2, "Екі"), store.pages(2, ["кітапхана екі"]))
        assert engine.search("кітапхана").total == 2
        engine.remove_document(1)
        assert [hit.document_id for hit in engine.search("кітапхана").hits] == [2]
        cache = engine._searchers._fast
        assert len(cache._segments) == len(engine._searchers.current().searcher.leaf_searchers())


def test_a_deletion_rereads_only_the_live_entries(tmp_path: Path) -> None:
    store = TextStore()
    with WhooshEngine(tmp_path, store) as engine:
        engine.index_documents(
            [
                (entry(1, "Бір"), store.pages(1, ["кітапхана бір"])),
                (entry(2, "Екі"), store.pages(2, ["кітапхана екі"])),
            ]
        )
        assert engine.search("кітапхана").total == 2
        (before,) = engine._searchers._fast._segments.values()
        engine.remove_document(1)
        assert [hit.document_id for hit in engine.search("кітапхана").hits] == [2]
        (after,) = engine._searchers._fast._segments.values()
        assert after.key == before.key and after.document_id is before.document_id
        assert after.live.tolist() == [False, True]


def test_a_phrase_answered_in_part_by_grams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "бала" (Kazakh stem) is common, "балалар" (the same word on a Russian page) is not: the
    # first combination is found by its gram, the second by positions.
    common = frozenset({"жаңа", "бала"})
    write_meta(tmp_path, IndexMeta("whoosh", ANALYSIS_VERSION, common))
    store = TextStore()
    with WhooshEngine(tmp_path, store) as engine:
        texts = {
            1: (["kaz"], "Жаңа балалар келді"),
            2: (["rus"], "жаңа балалар келді"),
            3: (["rus"], "балалар жаңа келді"),
            4: (["kaz"], "жаңа үй балалар"),
        }
        for doc_id, (languages, text) in texts.items():
            doc = entry(doc_id, f"Құжат {doc_id}", languages=languages)
            engine.index_document(doc, store.pages(doc_id, [text]))
        assert split_pair(parse_query('"жаңа балалар"').groups[0][0], common) is not None
        fast, slow = _both(engine, monkeypatch, '"жаңа балалар"')
        assert [h.document_id for h in fast.hits] == [h.document_id for h in slow.hits]
        assert sorted(h.document_id for h in fast.hits) == [1, 2]
        for mine, theirs in zip(fast.hits, slow.hits, strict=True):
            assert mine.score == pytest.approx(theirs.score, rel=1e-9)
