"""Common grams: phrases of common words answered from pair terms, the same on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, SearchEngine
from mura.app.search.analysis import ANALYSIS_VERSION, DEFAULT_ANALYZER
from mura.app.search.engine import open_index
from mura.app.search.grams import (
    MIN_SAMPLE_PAGES,
    default_common_terms,
    index_grams,
    phrase_grams,
    sample_common_terms,
)
from mura.app.search.index_meta import FACETS_VERSION, META_FILE, IndexMeta, read_meta, write_meta
from mura.app.search.query import parse_query
from mura.app.search.rebuild import prepare_folder

PAGES = {
    # document id -> its pages; "және" and "мен" are function words, common in every index
    1: ["Кітапхана және мен оқырмандар кездесуі өтті"],
    2: ["Және кітапхана жаңа кітаптар мен журналдар алды"],  # both words, never adjacent
    3: ["Мұрағат туралы", "Облыс және мен қала тарихы"],  # the phrase on page 2
    4: ["Ол бұл және мен бұл жерде болды"],
    5: ["Кітапхана ашылды", "Журналдар келді"],  # both words of an AND, on separate pages
}


def _doc(doc_id: int) -> tuple[DocumentEntry, list[PageEntry]]:
    doc = DocumentEntry(doc_id, f"Құжат {doc_id}", [], "book", ["kaz"], "karaganda", 2020)
    pages = [PageEntry(doc_id * 10 + n, n, text) for n, text in enumerate(PAGES[doc_id], 1)]
    return doc, pages


def _texts(page_ids: list[int]) -> dict[int, str]:
    known = {page.page_id: page.text for d in PAGES for page in _doc(d)[1]}
    return {pid: known[pid] for pid in page_ids if pid in known}


@pytest.fixture(params=ENGINE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def _open(kind: str, folder: Path) -> SearchEngine:
    engine = open_index(kind, folder, _texts)
    for doc_id in PAGES:
        engine.index_document(*_doc(doc_id))
    return engine


@pytest.fixture
def engine(kind: str, tmp_path: Path) -> Iterator[SearchEngine]:
    with _open(kind, tmp_path / "index") as engine:
        yield engine


def _found(results) -> dict[int, list[int]]:
    return {hit.document_id: hit.pages for hit in results.hits}


def test_index_grams_pair_only_adjacent_common_terms() -> None:
    common = frozenset({"және", "мен", "бұл"})
    terms = ["кітап", "және", "мен", "бұл", "оқырман", "мен"]
    assert index_grams(terms, common) == ["және_мен", "мен_бұл"]


def test_a_phrase_gets_grams_only_where_every_combination_is_common() -> None:
    common = default_common_terms(DEFAULT_ANALYZER)
    assert "және" in common and "мен" in common
    clause = parse_query('"кітапхана және мен"').groups[0][0]
    pruned = clause.__class__(clause.terms, (("кітапхана",), ("және",), ("мен",)))
    assert phrase_grams(pruned, common) == [None, ("және_мен",)]


def test_a_phrase_of_common_words_finds_only_adjacent_words(engine: SearchEngine) -> None:
    results = engine.search('"және мен"')
    assert _found(results) == {1: [1], 3: [2], 4: [1]}
    assert results.total == 3 and results.total_exact
    assert "<mark>және</mark> <mark>мен</mark>" in str(_hit(results, 3).snippet).lower()
    assert engine.document_pages(3, '"және мен"') == [2]


def test_a_longer_phrase_checks_positions_where_its_grams_are(engine: SearchEngine) -> None:
    assert _found(engine.search('"бұл және мен бұл"')) == {4: [1]}
    assert _found(engine.search('"және мен бұл"')) == {4: [1]}
    assert _found(engine.search('"және мен оқырмандар"')) == {1: [1]}
    assert engine.search('"мен және"').total == 0


def test_facets_of_a_common_phrase_count_documents(engine: SearchEngine) -> None:
    results = engine.search('"және мен"', filters={"collection": ["karaganda"]})
    assert results.total == 3
    assert results.facets["collection"] == {"karaganda": 3}


def test_an_index_made_before_grams_answers_phrases_by_positions(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    _open(kind, folder).close()
    # What Mura wrote before grams: no common terms recorded (and an older analysis).
    (folder / META_FILE).write_text(json.dumps({"engine": kind, "analysis_version": 2}))
    with open_index(kind, folder, _texts) as engine:
        assert engine.needs_rebuild
        engine.index_document(*_doc(3))  # written without grams now
        assert _found(engine.search('"және мен"')) == {1: [1], 3: [2], 4: [1]}


def test_new_index_records_the_function_words(kind: str, tmp_path: Path) -> None:
    with _open(kind, tmp_path / "new") as engine:
        assert not engine.needs_rebuild
    meta = read_meta(tmp_path / "new")
    common = default_common_terms(DEFAULT_ANALYZER)
    assert meta == IndexMeta(kind, ANALYSIS_VERSION, common, FACETS_VERSION)


def test_a_rebuilt_index_pairs_its_collections_common_words(kind: str, tmp_path: Path) -> None:
    # "кітапхана" is on every sampled page: a phrase of it and "оқырмандар" becomes a gram.
    sample = [("Кітапхана оқырмандар үшін ашық", ["kaz"])] * MIN_SAMPLE_PAGES
    prepare_folder(tmp_path / "rebuilt", kind, sample)
    common = read_meta(tmp_path / "rebuilt").common_terms
    assert common is not None and {"кітапхана", "оқырман"} <= common
    with _open(kind, tmp_path / "rebuilt") as engine:
        assert read_meta(tmp_path / "rebuilt").common_terms == common  # kept on creation
        assert _found(engine.search('"кітапхана жаңа"')) == {2: [1]}
        assert _found(engine.search('"кітапхана және"')) == {1: [1]}


def test_too_small_a_sample_gives_the_function_words_only() -> None:
    sample = [("Кітапхана оқырмандар үшін ашық", ["kaz"])] * (MIN_SAMPLE_PAGES - 1)
    assert sample_common_terms(sample, DEFAULT_ANALYZER) == default_common_terms(DEFAULT_ANALYZER)


def test_the_meta_file_round_trips(tmp_path: Path) -> None:
    meta = IndexMeta("tantivy", 3, frozenset({"және", "мен"}))
    write_meta(tmp_path, meta)
    assert read_meta(tmp_path) == meta
    (tmp_path / META_FILE).write_text("not json")
    assert read_meta(tmp_path) is None


def _hit(results, document_id: int):
    return next(hit for hit in results.hits if hit.document_id == document_id)


def test_tantivy_estimates_the_count_when_exact_counting_costs_too_much(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mura.app.search import tantivy_engine

    def doc(doc_id: int, *texts: str) -> tuple[DocumentEntry, list[PageEntry]]:
        entry = DocumentEntry(doc_id, f"Құжат {doc_id}", [], "book", ["kaz"], "karaganda", 2020)
        return entry, [PageEntry(doc_id * 10 + n, n, t) for n, t in enumerate(texts, 1)]

    with open_index("tantivy", tmp_path / "index", _texts) as engine:
        for doc_id in range(1, 41):  # every other document has the two words on one page
            if doc_id % 2:
                engine.index_document(*doc(doc_id, "Кітапхана журналдар алды"))
            else:
                engine.index_document(*doc(doc_id, "Кітапхана ашылды", "Журналдар келді"))
        exact = engine.search("кітапхана журналдар", per_page=5)
        assert (exact.total, exact.total_exact) == (20, True)
        monkeypatch.setattr(tantivy_engine, "EXACT_COUNT_PAGES", 0)
        about = engine.search("кітапхана журналдар", per_page=5)
        # Sampled over every document here: the documents holding both words anywhere (40)
        # scaled by the share of them whose pages match (1/2).
        assert (about.total, about.total_exact) == (20, False)
        assert about.facets["collection"] == {"karaganda": 20}
        assert [hit.document_id for hit in about.hits] == [hit.document_id for hit in exact.hits]
        # A third of the estimated matching pages: the documents of the first ids are sampled.
        monkeypatch.setattr(tantivy_engine, "SAMPLE_COUNT_PAGES", 12)
        assert 15 <= engine.search("кітапхана журналдар", per_page=5).total <= 25
        assert engine.search('"кітапхана журналдар"', per_page=5).total_exact  # positions
        assert engine.search("кітапхана журналдар", per_page=50).total == 20  # all ranked
        assert len(engine.ranked_documents("кітапхана журналдар")) == 20


def test_a_phrase_answered_partly_by_grams_finds_every_spelling(kind: str, tmp_path: Path) -> None:
    # "орталық" and "кітапхана" are common in this collection; their Latin spellings are not.
    sample = [("Орталық кітапхана ашық", ["kaz"])] * MIN_SAMPLE_PAGES
    prepare_folder(tmp_path / "index", kind, sample)
    with open_index(kind, tmp_path / "index", _texts) as engine:
        for doc_id, text in ((6, "Қаладағы орталық кітапхана"), (7, "Qaladagy ortalyq kitaphana")):
            doc = DocumentEntry(doc_id, "Құжат", [], "book", ["kaz"], None, None)
            engine.index_document(doc, [PageEntry(doc_id * 10 + 1, 1, text)])
        doc = DocumentEntry(8, "Құжат", [], "book", ["kaz"], None, None)
        engine.index_document(doc, [PageEntry(81, 1, "Kitaphana ortalyq emes")])
        assert sorted(_found(engine.search('"орталық кітапхана"'))) == [6, 7]
        assert sorted(_found(engine.search('"ortalyq kitaphana"'))) == [6, 7]
