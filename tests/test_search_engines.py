"""Counting at scale on every engine: totals and facets stay exact past the first results page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, SearchEngine, open_engine

DOCUMENTS = 150
COLLECTIONS = ("almaty", "astana", "karaganda", "shymkent", "taraz")


def pages_of(doc_id: int) -> list[str]:
    """Two pages; 'кітапхана' on every third document, 'оқырман' on every second, and on
    documents divisible by 6 the two words on *different* pages half of the time."""
    first, second = ["Есеп беру"], ["Қорытынды"]
    if doc_id % 3 == 0:
        first.append("кітапхана")
    if doc_id % 2 == 0:
        (second if doc_id % 12 == 0 else first).append("оқырман")
    return [" ".join(first), " ".join(second)]


def expected(predicate) -> set[int]:
    return {doc_id for doc_id in range(1, DOCUMENTS + 1) if predicate(doc_id)}


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    texts: dict[int, str] = {}
    items = []
    for doc_id in range(1, DOCUMENTS + 1):
        languages = ["kaz", "rus"] if doc_id % 4 == 0 else ["kaz"]
        doc = DocumentEntry(
            doc_id, f"Құжат {doc_id}", [], "book", languages, COLLECTIONS[doc_id % 5], 2000
        )
        pages = []
        for seq, text in enumerate(pages_of(doc_id), 1):
            texts[doc_id * 10 + seq] = text
            pages.append(PageEntry(doc_id * 10 + seq, seq, text))
        items.append((doc, pages))
    loader = lambda ids: {i: texts[i] for i in ids if i in texts}  # noqa: E731
    with open_engine(request.param, tmp_path_factory.mktemp("index"), loader) as engine:
        engine.index_documents(items)
        yield engine


def test_total_and_facets_are_exact_past_the_first_page(engine: SearchEngine) -> None:
    wanted = expected(lambda d: d % 3 == 0)
    results = engine.search("кітапхана", per_page=5)
    assert results.total == len(wanted) == 50 and len(results.hits) == 5
    assert results.facets["collection"] == {
        name: len({d for d in wanted if COLLECTIONS[d % 5] == name}) for name in COLLECTIONS
    }
    assert results.facets["language"] == {"kaz": 50, "rus": len({d for d in wanted if d % 4 == 0})}
    everything = [
        hit.document_id
        for n in range(1, 11)
        for hit in engine.search("кітапхана", page=n, per_page=5).hits
    ]
    assert sorted(everything) == sorted(wanted)


def test_words_sharing_a_page_are_counted_exactly(engine: SearchEngine) -> None:
    # Documents divisible by 6 hold both words; on those divisible by 12 they are on two pages.
    same_page = expected(lambda d: d % 6 == 0 and d % 12 != 0)
    results = engine.search("кітапхана оқырман", per_page=3)
    assert results.total == len(same_page) == 13
    assert sum(results.facets["collection"].values()) == 13
    either = engine.search("кітапхана OR оқырман", per_page=3)
    assert either.total == len(expected(lambda d: d % 3 == 0 or d % 2 == 0))
    filtered = engine.search("кітапхана оқырман", per_page=3, filters={"collection": ["taraz"]})
    assert filtered.total == len({d for d in same_page if COLLECTIONS[d % 5] == "taraz"})
    assert filtered.facets["collection"] == results.facets["collection"]  # its own filter ignored


def test_exclusions_and_phrases_are_counted_exactly(engine: SearchEngine) -> None:
    assert engine.search("кітапхана -оқырман", per_page=3).total == len(
        expected(lambda d: d % 3 == 0 and (d % 2 != 0 or d % 12 == 0))
    )
    assert engine.search('"беру кітапхана"', per_page=3).total == 50


def test_tantivy_counts_an_upper_bound_beyond_its_aggregation_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mura.app.search import tantivy_engine

    monkeypatch.setattr(tantivy_engine, "MAX_COUNTED_DOCUMENTS", 4)
    with open_engine("tantivy", tmp_path, lambda ids: {}) as engine:
        for doc_id in range(1, 13):
            doc = DocumentEntry(doc_id, "Құжат", [], "book", ["kaz"], None, None)
            pages = [PageEntry(doc_id * 10 + n, n, t) for n, t in enumerate(pages_of(doc_id), 1)]
            engine.index_document(doc, pages)
        # On one page in documents 2, 4, 6, 8, 10; in two pages of document 12.
        results = engine.search("беру оқырман", per_page=2)
        assert sorted(hit.document_id for hit in results.hits) == [2, 4]
        # More than 4 to list: the words anywhere in a document.
        assert (results.total, results.total_exact) == (6, False)
        results = engine.search("беру оқырман")  # the ranking met them all: exact
        assert sorted(hit.document_id for hit in results.hits) == [2, 4, 6, 8, 10]
        assert (results.total, results.total_exact) == (5, True)


def test_the_ranked_list_holds_every_matching_document_once(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mura.app.search import tantivy_engine

    monkeypatch.setattr(tantivy_engine, "RANKED_EXACTLY", 7)  # tantivy ranks only the first
    ranked = engine.ranked_documents("кітапхана оқырман")  # type: ignore[attr-defined]
    ids = [doc_id for doc_id, _ in ranked]
    assert sorted(ids) == sorted(expected(lambda d: d % 6 == 0 and d % 12 != 0))
    first = [hit.document_id for hit in engine.search("кітапхана оқырман", per_page=7).hits]
    assert ids[:7] == first
    filtered = engine.ranked_documents("кітапхана", filters={"collection": ["taraz"]})  # type: ignore[attr-defined]
    assert sorted(d for d, _ in filtered) == sorted(
        expected(lambda d: d % 3 == 0 and COLLECTIONS[d % 5] == "taraz")
    )
