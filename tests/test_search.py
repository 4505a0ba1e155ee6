"""Tests of mura.app.search with real indexes on tmp_path, each test on every engine kind."""

from __future__ import annotations

import fcntl
import multiprocessing
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import Markup

from mura.app.search import (
    ENGINE_KINDS,
    DocumentEntry,
    IndexBusyError,
    PageEntry,
    SearchEngine,
    open_engine,
    tokenize,
)
from mura.app.search.analysis import DEFAULT_ANALYZER
from mura.app.search.query import parse_query
from mura.app.search.snippets import make_snippet

ROOT = Path(__file__).resolve().parents[1]
from tests.conftest import CORPUS, SHARED  # noqa: E402

SAMPLES = SHARED / "search"


def gt(stem: str) -> str:
    return (CORPUS / f"{stem}.gt.txt").read_text(encoding="utf-8")


def has_word(text: str, word: str) -> bool:
    """Independent of the analysis under test: whole word, ignoring case."""
    return re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", text.lower()) is not None


class TextStore:
    """Stands in for the database's page table: page id -> text."""

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}
        self.calls: list[list[int]] = []

    def __call__(self, page_ids: list[int]) -> dict[int, str]:
        self.calls.append(list(page_ids))
        return {pid: self.texts[pid] for pid in page_ids if pid in self.texts}

    def pages(self, doc_id: int, stems_or_texts: list[str]) -> list[PageEntry]:
        pages = []
        for seq, source in enumerate(stems_or_texts, start=1):
            text = gt(source) if (CORPUS / f"{source}.gt.txt").exists() else source
            page_id = doc_id * 1000 + seq
            self.texts[page_id] = text
            pages.append(PageEntry(page_id=page_id, seq=seq, text=text))
        return pages


def entry(doc_id: int, title: str, **kw: object) -> DocumentEntry:
    fields: dict[str, object] = {
        "authors": [],
        "doc_type": "book",
        "languages": ["kaz"],
        "collection": "karaganda",
        "year": 2023,
    }
    fields.update(kw)
    return DocumentEntry(document_id=doc_id, title=title, **fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Every engine test runs on each engine (``MURA_SEARCH_ENGINE``)."""
    return request.param


# The writer lock file of each engine, which another process would hold.
LOCK_FILES = {"whoosh": "MAIN_WRITELOCK", "tantivy": ".tantivy-writer.lock"}


# Documents of the shared, read-only index: (entry, pages as corpus stems).
LIBRARY = [
    (
        entry(1, "Қарағанды қаласының кітапханалары: 2023 жылғы есеп", authors=["Әуезов М."]),
        ["p01_book", "p04_book_yellow", "p03_book_rus_lowcontrast"],
    ),
    (
        entry(2, "Газет мақалалары", doc_type="newspaper_article", languages=["kaz", "rus"]),
        ["p10_news", "p11_news_rus_200dpi"],
    ),
    (
        entry(3, "Мектеп китепканасынын жобосу", languages=["kir"], collection="bishkek"),
        ["p07_book_kir"],
    ),
    (
        entry(4, "Реставратор туралы очерк", collection="almaty", year=None),
        ["p14_book_tiff-f1", "p02_book_blur"],
    ),
]


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, kind: str
) -> Iterator[tuple[SearchEngine, TextStore]]:
    store = TextStore()
    engine = open_engine(kind, tmp_path_factory.mktemp("index"), store)
    engine.index_documents([(doc, store.pages(doc.document_id, stems)) for doc, stems in LIBRARY])
    yield engine, store
    engine.close()


@pytest.fixture
def lib(library: tuple[SearchEngine, TextStore]) -> SearchEngine:
    return library[0]


@pytest.fixture
def fresh(tmp_path: Path, kind: str) -> Iterator[tuple[SearchEngine, TextStore]]:
    store = TextStore()
    engine = open_engine(kind, tmp_path / "index", store)
    yield engine, store
    engine.close()


def expected_pages(word: str) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for doc, stems in LIBRARY:
        seqs = [seq for seq, stem in enumerate(stems, start=1) if has_word(gt(stem), word)]
        if seqs:
            found[doc.document_id] = seqs
    return found


# Analysis


def test_lowercases_kazakh_and_kyrgyz_letters() -> None:
    assert tokenize("ӘҒҚҢӨҰҮҺІ ҚАРАҒАНДЫ Өмүралиев") == ["әғқңөұүһі", "қарағанды", "өмүралиев"]


def test_tokenizer_drops_punctuation_and_one_letter_words() -> None:
    assert tokenize("М. О. Әуезов, «Мағжан» (2023) <b>x</b>") == ["әуезов", "мағжан", "2023"]


def test_hyphenated_words_give_their_parts() -> None:
    assert tokenize("ҚР-ның 13-ші библиотеке-филиале") == [
        "қр",
        "ның",
        "13",
        "ші",
        "библиотеке",
        "филиале",
    ]


def test_line_end_hyphenation_is_joined_but_capitalised_compounds_are_not() -> None:
    assert tokenize("жұ-\nмысы Алма-\nАта") == ["жұмысы", "алма", "ата"]


def test_offsets_point_into_the_original_text() -> None:
    text = "Кі\u00adтап-\nхана ҚАЛА"
    tokens = list(DEFAULT_ANALYZER.tokens(text))
    assert [(t.text, text[t.start : t.end]) for t in tokens] == [
        ("кітапхана", "Кі\u00adтап-\nхана"),
        ("қала", "ҚАЛА"),
    ]


def test_nfc_stress_marks_and_latin_lookalikes_are_folded() -> None:
    decomposed = "и\u0306"  # й as и + combining breve
    assert tokenize(f"мо{decomposed} замо\u0301к") == ["мой", "замок"]
    assert tokenize("кiтап Ёлка") == tokenize("кітап Елка")  # Latin i, ё
    assert tokenize("Qazaqstаn") == ["qazaqstan"]  # Cyrillic а in a Latin word


def test_a_stemmer_plugs_into_the_pipeline() -> None:
    analyzer = DEFAULT_ANALYZER.with_filters(lambda t: t.removesuffix("лар"))
    assert analyzer.terms("Қалалар балалар") == ["қала", "бала"]
    assert DEFAULT_ANALYZER.terms("балалар") == ["балалар"]


def _tsv(name: str) -> list[tuple[str, list[str]]]:
    path = SAMPLES / name
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            first, rest = line.split("\t", 1)
            rows.append((first, rest.split()))
    return rows


@pytest.mark.parametrize(("word", "others"), _tsv("kk_distinct.tsv"))
def test_distinct_words_are_not_conflated(word: str, others: list[str]) -> None:
    assert set(tokenize(word)).isdisjoint(t for other in others for t in tokenize(other))


# tokenize() gives the folded words; the index holds their stems (index_terms), and a query
# word matches any of its alternatives (stems, Cyrillic spellings of a Latin word). More tables:
# tests/test_search_lang_*.py, tests/test_search_translit.py.


@pytest.mark.parametrize(("word", "forms"), _tsv("kk_forms.tsv"))
def test_inflected_forms_are_found(word: str, forms: list[str]) -> None:
    stems = set(DEFAULT_ANALYZER.index_terms(word, ["kaz"]))
    assert all(stems <= set(DEFAULT_ANALYZER.index_terms(form, ["kaz"])) for form in forms)


@pytest.mark.parametrize(("word", "latin"), _tsv("kk_latin.tsv"))
def test_latin_spellings_find_the_cyrillic_word(word: str, latin: list[str]) -> None:
    (stem,) = DEFAULT_ANALYZER.index_terms(word, ["kaz"])
    assert all(stem in parse_query(spelling).positive_terms() for spelling in latin)


# Query parsing


@pytest.mark.parametrize(
    "text",
    ['"', "AND", "OR", "NOT", "*", "?", "(", ")", "-", '-"', "~1", "\x00", "", "   ", "\n"],
)
def test_odd_queries_parse_to_nothing(text: str) -> None:
    assert parse_query(text).is_empty


def test_query_grammar() -> None:
    parsed = parse_query('Қарағанды "Одна страна" Алматы OR Астана -реставратор NOT Мағжан')
    assert [[c.terms for c in group] for group in parsed.groups] == [
        [("қарағанды",)],
        [("одна", "страна")],
        [("алматы",), ("астана",)],
    ]
    assert [c.terms for c in parsed.excluded] == [("реставратор",), ("мағжан",)]
    # Not syntax: a word that analysis splits is a phrase of its parts.
    assert [c.terms for g in parse_query("«Одна страна» title:(кітап").groups for c in g] == [
        ("одна", "страна"),
        ("title", "кітап"),
    ]
    assert len(parse_query("сөз " * 10_000).groups) <= 24


# Searching


def test_word_finds_documents_and_page_numbers_case_folded(lib: SearchEngine) -> None:
    expected = expected_pages("Қарағанды")
    assert expected == {1: [1, 3], 2: [1, 2]}  # the corpus as this test knows it
    results = lib.search("ҚАРАҒАНДЫ")
    assert results.total == 2
    assert {hit.document_id: hit.pages for hit in results.hits} == expected
    assert lib.search("қарағанды").total == 2


def test_hit_carries_title_score_and_snippet(lib: SearchEngine) -> None:
    hit = next(h for h in lib.search("библиотеке").hits if h.document_id == 2)
    assert hit.title == "Газет мақалалары"
    assert hit.pages == [2] and hit.page_count == 1 and hit.snippet_page == 2
    assert "<mark>библиотеке</mark>" in hit.snippet
    assert len(Markup(hit.snippet).striptags()) <= 260
    assert hit.score > 0


def test_kyrgyz_word(lib: SearchEngine) -> None:
    results = lib.search("КИТЕПКАНА")
    assert [(h.document_id, h.pages) for h in results.hits] == [(3, [1])]


def test_hyphenated_query_is_a_phrase(lib: SearchEngine) -> None:
    assert [(h.document_id, h.pages) for h in lib.search("библиотеке-филиале").hits] == [(2, [2])]
    assert lib.search("филиале-библиотеке").total == 0


def test_latin_i_in_a_cyrillic_query_word(lib: SearchEngine) -> None:
    assert lib.search("кiтапхана").total == lib.search("кітапхана").total > 0


def test_phrase_needs_words_in_order(lib: SearchEngine) -> None:
    assert [(h.document_id, h.pages) for h in lib.search('"одна страна"').hits] == [(2, [2])]
    assert lib.search('"книга одна"').total == 0
    assert lib.search("книга одна").total == 1


def test_words_are_anded_within_a_page(lib: SearchEngine) -> None:
    both = lib.search("Қарағанды библиотеке")
    assert [(h.document_id, h.pages) for h in both.hits] == [(2, [2])]
    assert lib.search("Қарағанды китепкана").total == 0
    assert lib.search("Қарағанды OR китепкана").total == 3


def test_exclusion(lib: SearchEngine) -> None:
    assert {h.document_id for h in lib.search("Қарағанды -библиотеке").hits} == {1, 2}
    only_one = lib.search("Қарағанды -Газет")  # excluded through document 2's title
    assert [h.document_id for h in only_one.hits] == [1]
    assert lib.search("-Қарағанды").total == 0


def test_title_match_ranks_first(lib: SearchEngine) -> None:
    assert expected_pages("реставратор") == {2: [2]}  # twice in a page of document 2
    results = lib.search("реставратор")
    assert [h.document_id for h in results.hits] == [4, 2]
    title_hit = results.hits[0]
    assert title_hit.pages == [] and title_hit.page_count == 0
    assert title_hit.snippet_page in (1, 2) and title_hit.snippet  # start of a page
    assert results.hits[0].score > results.hits[1].score


def test_authors_are_searched(lib: SearchEngine) -> None:
    assert [h.document_id for h in lib.search("Әуезов").hits][0] == 1


def test_filters_and_facets(lib: SearchEngine) -> None:
    results = lib.search("кітапхана")
    everything = {h.document_id for h in results.hits}
    assert results.facets["collection"] == {"karaganda": 2, "almaty": 1}
    assert results.facets["language"] == {"kaz": 3, "rus": 1}
    assert results.facets["doc_type"] == {"book": 2, "newspaper_article": 1}

    rus = lib.search("кітапхана", filters={"language": ["rus"]})
    assert [h.document_id for h in rus.hits] == [2] and rus.total == 1
    # A facet's counts ignore its own filter but apply the others.
    assert rus.facets["language"] == {"kaz": 3, "rus": 1}
    assert rus.facets["collection"] == {"karaganda": 1}

    several = lib.search(
        "кітапхана", filters={"collection": ["almaty", "karaganda"], "doc_type": []}
    )
    assert {h.document_id for h in several.hits} == everything
    assert lib.search("кітапхана", filters={"collection": ["bishkek"]}).total == 0
    with pytest.raises(ValueError, match="unknown search filter"):
        lib.search("кітапхана", filters={"title": ["x"]})


def test_pagination(lib: SearchEngine) -> None:
    all_hits = [h.document_id for h in lib.search("кітапхана", per_page=10).hits]
    pages = [lib.search("кітапхана", page=n, per_page=1) for n in (1, 2, 3, 4)]
    assert [h.document_id for p in pages for h in p.hits] == all_hits
    assert pages[-1].hits == [] and pages[-1].total == len(all_hits)


def test_document_pages(lib: SearchEngine) -> None:
    assert lib.document_pages(1, "ҚАРАҒАНДЫ") == [1, 3]
    assert lib.document_pages(1, "китепкана") == []
    assert lib.document_pages(999, "Қарағанды") == []
    # No page has both words: pages with either are shown rather than none.
    assert lib.document_pages(2, "библиотеке китепкана") == [2]


def test_snippet_text_comes_from_the_loader_in_one_call(
    library: tuple[SearchEngine, TextStore],
) -> None:
    engine, store = library
    store.calls.clear()
    results = engine.search("кітапхана")
    assert len(store.calls) == 1 and len(store.calls[0]) == len(results.hits)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "AND",
        "*",
        "title:(",
        " <script>",
        "кітап*",
        "кітапхана~1",
        '"Қарағанды',
        'Қарағанды"',
        "OR Қарағанды OR",
        "NOT NOT Қарағанды",
        "((Қарағанды",
        "Қарағанды\x00\x01",
        "\ud800",
        "ф" * 100_000,
        "Қарағанды " * 2_000,
    ],
)
def test_odd_queries_do_not_crash(lib: SearchEngine, query: str) -> None:
    results = lib.search(query)
    assert results.total >= len(results.hits)
    lib.document_pages(1, query)


# Writing


def test_reindex_replaces_every_entry(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    doc = entry(7, "Есеп")
    engine.index_document(doc, store.pages(7, ["p01_book", "p03_book_rus_lowcontrast"]))
    assert engine.search("Қарағанды").hits[0].pages == [1, 2]
    engine.index_document(doc, store.pages(7, ["p03_book_rus_lowcontrast"]))
    engine.index_document(doc, store.pages(7, ["p03_book_rus_lowcontrast"]))  # idempotent
    results = engine.search("Қарағанды")
    assert results.total == 1 and results.hits[0].pages == [1]
    assert engine.search("Есеп").total == 1
    assert engine.search("Мағжан").total == 0  # only on the page that is gone


def test_reindex_changes_metadata(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    engine.index_document(entry(7, "Бірінші атау"), store.pages(7, ["p07_book_kir"]))
    engine.index_document(
        entry(7, "Екінші атау", collection="almaty"), store.pages(7, ["p07_book_kir"])
    )
    assert engine.search("Бірінші").total == 0
    results = engine.search("Екінші")
    assert results.hits[0].title == "Екінші атау"
    assert results.facets["collection"] == {"almaty": 1}


def test_document_without_pages_is_found_by_title(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, _ = fresh
    engine.index_document(entry(8, "Өлкетану библиографиясы"), [])
    hit = engine.search("өлкетану").hits[0]
    assert (hit.document_id, hit.pages, hit.snippet_page, hit.snippet) == (8, [], None, "")


def test_remove_document(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
    engine.index_document(entry(2, "Екі"), store.pages(2, ["p03_book_rus_lowcontrast"]))
    engine.remove_document(1)
    engine.remove_document(1)
    engine.remove_document(12345)
    assert [h.document_id for h in engine.search("Қарағанды").hits] == [2]


def test_snippet_escapes_ocr_text(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    text = "Кіріспе <script>alert('ҚАРАҒАНДЫ')</script> & <b>қарағанды</b> соңы"
    engine.index_document(entry(9, "Тест"), store.pages(9, [text]))
    snippet = engine.search("Қарағанды").hits[0].snippet
    assert isinstance(snippet, Markup)
    assert "<script>" not in snippet and "<b>" not in snippet
    assert snippet == Markup(
        "Кіріспе &lt;script&gt;alert(&#39;<mark>ҚАРАҒАНДЫ</mark>&#39;)&lt;/script&gt; "
        "&amp; &lt;b&gt;<mark>қарағанды</mark>&lt;/b&gt; соңы"
    )


def test_snippet_window_and_fallback() -> None:
    text = " ".join(f"сөз{n}" for n in range(200)) + " Қарағанды " + "соңы " * 100
    snippet = make_snippet(text, {"қарағанды"})
    plain = snippet.striptags()
    assert snippet.count("<mark>") == 1 and plain.startswith("…") and plain.endswith("…")
    assert 150 <= len(plain) <= 230
    fallback = make_snippet(text, {"жоқ"})
    assert "<mark>" not in fallback and fallback.startswith("сөз0 ") and len(fallback) <= 202


def test_a_searcher_sees_writes_of_another_engine(tmp_path: Path, kind: str) -> None:
    store = TextStore()
    with (
        open_engine(kind, tmp_path, store) as reader,
        open_engine(kind, tmp_path, store) as writer,
    ):
        assert reader.search("Қарағанды").total == 0
        writer.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
        assert reader.search("Қарағанды").total == 1
        writer.remove_document(1)
        assert reader.search("Қарағанды").total == 0


def hold_lock(lock_path: Path, seconds: float, held: threading.Event) -> None:
    """Hold an engine's write lock (a flock on its lock file) like another process would."""
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        held.set()
        time.sleep(seconds)
        fcntl.flock(lock_file, fcntl.LOCK_UN)


def test_writer_waits_for_the_lock(tmp_path: Path, kind: str) -> None:
    store = TextStore()
    with open_engine(kind, tmp_path, store) as engine:
        held = threading.Event()
        holder = threading.Thread(target=hold_lock, args=(tmp_path / LOCK_FILES[kind], 0.5, held))
        holder.start()
        held.wait()
        started = time.monotonic()
        engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
        assert time.monotonic() - started >= 0.3
        holder.join()
        assert engine.search("Қарағанды").total == 1


def test_writer_gives_up_after_the_timeout(tmp_path: Path, kind: str) -> None:
    store = TextStore()
    with open_engine(kind, tmp_path, store, lock_timeout=0.2) as engine:
        held = threading.Event()
        holder = threading.Thread(target=hold_lock, args=(tmp_path / LOCK_FILES[kind], 0.6, held))
        holder.start()
        held.wait()
        with pytest.raises(IndexBusyError):
            engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
        holder.join()
        engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
        assert engine.search("Қарағанды").total == 1


def index_in_process(
    kind: str, index_dir: str, first_id: int, start: multiprocessing.synchronize.Event
) -> None:
    stems = ["p01_book", "p03_book_rus_lowcontrast", "p10_news"]
    store = TextStore()
    with open_engine(kind, Path(index_dir), store) as engine:
        start.wait()
        for doc_id in range(first_id, first_id + 4):
            engine.index_document(entry(doc_id, f"Құжат {doc_id}"), store.pages(doc_id, stems))


def test_two_processes_index_concurrently(tmp_path: Path, kind: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=index_in_process, args=(kind, str(tmp_path), first, start))
        for first in (100, 200)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with open_engine(kind, tmp_path, TextStore()) as engine:
        results = engine.search("Қарағанды", per_page=20)
        assert sorted(h.document_id for h in results.hits) == [*range(100, 104), *range(200, 204)]
        assert all(h.pages == [1, 2, 3] for h in results.hits)


def test_unknown_engine_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown search engine"):
        open_engine("lucene", tmp_path, TextStore())


def test_importing_the_package_does_not_import_an_engine() -> None:
    code = "import sys, mura.app.search; assert not {'whoosh', 'tantivy'} & set(sys.modules)"
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, cwd=ROOT)


def test_terms_and_tokens_agree() -> None:
    text = "".join(gt(stem) for stem in ("p01_book", "p07_book_kir", "p11_news_rus_200dpi"))
    text += " жұ-\nмыс Алма-\nАта ҚР-ның кі\u00adтап Web-РАБИС x-y-z 2023-\n2024 -- - ‐"
    assert DEFAULT_ANALYZER.terms(text) == [t.text for t in DEFAULT_ANALYZER.tokens(text)]


def test_threads_search_while_another_writes(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        try:
            while not done.wait(0.01):
                assert engine.search("Қарағанды").total >= 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=search) for _ in range(3)]
    for reader in readers:
        reader.start()
    for doc_id in range(2, 8):
        engine.index_document(
            entry(doc_id, "Құжат"), store.pages(doc_id, ["p03_book_rus_lowcontrast"])
        )
    done.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert engine.search("Қарағанды").total == 7


def open_files() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_searchers_of_ended_threads_are_closed(fresh: tuple[SearchEngine, TextStore]) -> None:
    engine, store = fresh
    engine.index_document(entry(1, "Бір"), store.pages(1, ["p01_book"]))
    engine.search("Қарағанды")
    before = open_files()
    for _ in range(20):  # like a development server: one thread per request
        thread = threading.Thread(target=engine.search, args=("Қарағанды",))
        thread.start()
        thread.join()
    assert open_files() <= before + 2
