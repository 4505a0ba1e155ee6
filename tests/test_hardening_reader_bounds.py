"""Issue 18, finding 2: one reader must not stall the site; every public query does bounded work.

Twelve made-up 40-letter words in ``/read/<id>/<page>?q=`` cost 37,904 near-miss lookups
(``doc_frequency``) and two seconds a request before the fuzzy fallback had a budget. The lookups
are counted here at the engines' own lookup functions, whatever calls them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from mura.app.search import ENGINE_KINDS, DocumentEntry, PageEntry, fuzzy, open_engine
from mura.app.search.query import parse_query
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.discovery_helpers import Library
from tests.synthetic import publish

#: The budget of one request (repo_app/search/fuzzy.py MAX_LOOKUPS), as a literal: the old code
#: has no such constant, and must fail on the count, not on a name.
MAX_LOOKUPS = 2500


def made_up_words(count: int, length: int, seed: int = 18) -> list[str]:
    """Cyrillic words no page holds (random letters, fixed seed)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(fuzzy.LETTERS) for _ in range(length)) for _ in range(count)]


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every term looked up in an engine's term dictionary for near misses or suggestions."""
    from mura.app.search import tantivy_engine, whoosh_engine

    seen: list[str] = []

    def counted(frequency: Callable[[str], int]) -> Callable[[str], int]:
        def lookup(term: str) -> int:
            seen.append(term)
            return frequency(term)

        return lookup

    body = whoosh_engine._body_frequency
    monkeypatch.setattr(whoosh_engine, "_body_frequency", lambda snapshot: counted(body(snapshot)))
    tantivy_body = tantivy_engine.TantivyEngine._body_frequency
    monkeypatch.setattr(
        tantivy_engine.TantivyEngine,
        "_body_frequency",
        staticmethod(lambda searcher: counted(tantivy_body(searcher))),
    )
    for engine_class in (whoosh_engine.WhooshEngine, tantivy_engine.TantivyEngine):
        method = engine_class.doc_frequency
        monkeypatch.setattr(
            engine_class,
            "doc_frequency",
            lambda self, term, method=method: counted(lambda t: method(self, t))(term),
        )
    return seen


# --- the reader (the published library: real OCR, real hOCR, Whoosh) -----------------------------


@pytest.mark.parametrize("length", [40, 18])
def test_twelve_long_made_up_words_cost_a_bounded_number_of_lookups(
    library: Library, lookups: list[str], length: int
) -> None:
    """40 letters: longer than any stem, never expanded; 18: expanded within one budget."""
    client = library.app.test_client()
    query = " ".join(made_up_words(12, length))
    started = time.perf_counter()
    response = client.get(f"/read/{library.book_id}/1", query_string={"q": query})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(lookups) <= MAX_LOOKUPS, f"{len(lookups)} lookups"
    assert len(lookups) == len(set(lookups))  # each term once per request, not once per use
    assert elapsed < 5  # generous: bench/reader_bounds.py measures (target 0.3 s)
    # The redirect that opens the reader at the first hit is bounded alike.
    lookups.clear()
    assert client.get(f"/read/{library.book_id}", query_string={"q": query}).status_code == 302
    assert len(lookups) <= MAX_LOOKUPS


def test_a_real_near_miss_is_still_marked(library: Library) -> None:
    """The bounds keep the fallback working: an OCR-like misspelling still finds the word."""
    client = library.app.test_client()
    html = client.get(f"/read/{library.book_id}/1?q=кітапхаиа").get_data(as_text=True)
    assert '<rect class="hl"' in html


# --- every engine, every path that expands a query ------------------------------------------------


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    texts = {
        1: "Қарағанды облыстық кітапханасы оқырмандарға арналған көрме ұйымдастырды.",
        2: "Кітапханашылар жиналысы өтті; оқырмандардың ұсыныстары талқыланды.",
        3: "Областная библиотека провела выставку краеведческой литературы.",
    }
    items = [
        (
            DocumentEntry(doc_id, f"Құжат {doc_id}", [], "book", ["kaz"], None, 2000),
            [PageEntry(doc_id, 1, text)],
        )
        for doc_id, text in texts.items()
    ]
    loader = lambda ids: {i: texts[i] for i in ids if i in texts}  # noqa: E731
    with open_engine(request.param, tmp_path_factory.mktemp("index"), loader) as opened:
        opened.index_documents(items)
        yield opened


@pytest.mark.parametrize("length", [40, 18, 9])
def test_every_search_path_shares_one_budget(engine, lookups: list[str], length: int) -> None:
    """Search, ranked list, one document's pages and "did you mean": one request's budget."""
    query = " ".join(made_up_words(12, length))
    token = fuzzy.request_budget()
    try:
        assert engine.search(query).total == 0
        assert engine.ranked_documents(query) == []
        assert engine.document_pages(1, query) == []
        engine.suggest(query)
        budget = fuzzy.current_budget()
    finally:
        fuzzy.end_request_budget(token)
    assert len(lookups) <= MAX_LOOKUPS, f"{len(lookups)} lookups"
    assert budget is not None and budget.used == len(lookups)


def test_a_query_alone_is_bounded_outside_a_request(engine, lookups: list[str]) -> None:
    engine.search(" ".join(made_up_words(12, 18, seed=5)))
    assert len(lookups) <= MAX_LOOKUPS


def test_near_misses_are_still_found_on_every_engine(engine) -> None:
    found = engine.search("кітапхаиасы")  # и for н: an OCR confusion
    assert found.total >= 1


# --- the bounds themselves ------------------------------------------------------------------------


def test_the_budget_is_shared_fairly_and_caps_words_and_lengths() -> None:
    looked_up: list[str] = []

    def frequency(term: str) -> int:
        looked_up.append(term)
        return 0

    # Twelve words with distinct first letters (an edit never changes the first letter).
    words = [fuzzy.LETTERS[i] + word[1:] for i, word in enumerate(made_up_words(12, 18))]
    fuzzy.with_near_misses(parse_query(" ".join(words)), frequency, fuzzy.LookupBudget(600))
    assert 500 < len(looked_up) <= 600
    per_word = {first: sum(t[0] == first for t in looked_up) for first in fuzzy.LETTERS[:12]}
    expanded = [first for first, count in per_word.items() if count]
    assert expanded == list(fuzzy.LETTERS[: fuzzy.MAX_WORDS])  # the first six words, the rest none
    assert min(per_word[first] for first in expanded) >= 600 // fuzzy.MAX_WORDS - 1  # fair shares
    looked_up.clear()
    assert fuzzy.near_terms("қ" + "а" * 30, frequency) == [] and looked_up == []  # too long


def test_candidates_are_one_edit_in_a_fixed_order() -> None:
    word = "кітапханалар"
    assert list(fuzzy.candidates(word)) == list(fuzzy.candidates(word))
    assert set(fuzzy.candidates(word)) == fuzzy.one_edit(word)
    assert next(fuzzy.candidates(word)).startswith("к")  # the first letter is kept


def test_a_term_is_looked_up_once_per_budget() -> None:
    looked_up: list[str] = []
    budget = fuzzy.LookupBudget()

    def frequency(term: str) -> int:
        looked_up.append(term)
        return {"хайуаиат": 3}.get(term, 0)

    assert fuzzy.near_terms("хайуанат", frequency, budget=budget) == ["хайуаиат"]
    spent = len(looked_up)
    assert fuzzy.near_terms("хайуанат", frequency, budget=budget, limit=1) == ["хайуаиат"]
    assert len(looked_up) == spent == budget.used


def test_a_pasted_phrase_is_cut_to_max_terms() -> None:
    from mura.app.search.query import MAX_TERMS

    parsed = parse_query('"' + " ".join(made_up_words(60, 6)) + '"')
    assert sum(len(clause.terms) for group in parsed.groups for clause in group) == MAX_TERMS


# --- rate limits: the reader asked a query, and page images ---------------------------------------

LIMITS = {
    "DEFAULT_ACCESS": "public_domain",
    "SEARCH_RATE_LIMIT": "3 per minute",
    "IMAGE_RATE_LIMIT": "2 per minute",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, int]]:
    home = tmp_path_factory.mktemp("limited")
    app = make_app(home / "home", **LIMITS)
    document_id = publish(app, home / "pages", "Limited reader")
    yield app, document_id
    from mura.app.extensions import db

    with app.app_context():
        db.engine.dispose()


def _address(n: int) -> dict:
    return {"REMOTE_ADDR": f"10.18.2.{n}"}


def test_the_reader_with_a_query_counts_in_the_search_bucket(limited: tuple[Flask, int]) -> None:
    app, document_id = limited
    client = app.test_client()
    env = _address(1)
    for _ in range(5):  # reading without a query is not searching
        assert client.get(f"/read/{document_id}/1", environ_base=env).status_code == 200
    for _ in range(3):
        response = client.get(f"/read/{document_id}/1?q=Mura", environ_base=env)
        assert response.status_code == 200
    refused = client.get(f"/read/{document_id}/1?q=Mura&lang=ru", environ_base=env)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Слишком много запросов с вашего адреса" in refused.get_data(as_text=True)
    kk = client.get(f"/read/{document_id}?q=Mura&lang=kk", environ_base=env)
    assert kk.status_code == 429 and "Сұраныстар тым көп" in kk.get_data(as_text=True)
    # One bucket: the search page and the API are refused too, the API in JSON.
    assert client.get("/search?q=Mura", environ_base=env).status_code == 429
    api = client.get("/api/search?q=Mura&lang=en", environ_base=env)
    assert api.status_code == 429 and api.get_json()["error"].startswith("Too many requests")
    # Reading goes on.
    assert client.get(f"/read/{document_id}/1", environ_base=env).status_code == 200


def test_page_images_are_limited(limited: tuple[Flask, int]) -> None:
    app, document_id = limited
    client = app.test_client()
    env = _address(2)
    url = f"/read/{document_id}/1/image/200.jpg"
    for _ in range(2):
        with client.get(url, environ_base=env) as response:
            assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with client.get(url, environ_base=env) as response:
        assert response.status_code == 429
    with client.get(url, environ_base=_address(3)) as response:  # another reader is served
        assert response.status_code == 200


def test_staff_are_not_limited_in_the_reader(limited: tuple[Flask, int]) -> None:
    app, document_id = limited
    with app.app_context():
        make_user("reader-staff")
    client = logged_in(app, "reader-staff")
    for _ in range(5):
        assert client.get(f"/read/{document_id}/1?q=Mura").status_code == 200
        with client.get(f"/read/{document_id}/1/image/200.jpg") as response:
            assert response.status_code == 200


# --- results pages: a crafted page number is bounded work too ------------------------------------

_FAR_PAGE = """
import sys, tempfile
from mura.app.search import DocumentEntry, PageEntry, open_engine
with tempfile.TemporaryDirectory() as folder, open_engine(sys.argv[1], folder, lambda ids: {}) as e:
    e.index_documents([(DocumentEntry(1, "Кітап", [], "book", ["kaz"], None, 2000),
                        [PageEntry(1, 1, "кітапхана")])])
    results = e.search("кітапхана", page=100_000_000, per_page=10)
    print(results.page, len(results.hits), results.total)
"""


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_a_far_results_page_is_clamped_not_allocated(kind: str) -> None:
    """tantivy sized its top-documents heap by page x per page: 64 GB, and the process aborted."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _FAR_PAGE, kind],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert done.returncode == 0, done.stderr[-500:]
    page, hits, total = (int(value) for value in done.stdout.split())
    assert (page, hits, total) == (10_000 // 10, 0, 1)  # grouping.MAX_RESULTS // per page


def test_the_search_page_and_api_survive_a_far_page(library: Library) -> None:
    client = library.app.test_client()
    assert client.get("/search?q=кітапхана&page=100000000").status_code == 200
    assert client.get("/search?q=кітапхана&page=100000000&sort=newest").status_code == 200
    api = client.get("/api/search?q=кітапхана&page=99999999999999999999")
    # A page number beyond the database's integers is no page number (web/converters.py
    # db_int): the first page; a far but valid one is clamped and empty.
    assert api.status_code == 200 and isinstance(api.get_json()["hits"], list)
    far = client.get("/api/search?q=кітапхана&page=100000000")
    assert far.status_code == 200 and far.get_json()["hits"] == []


def test_a_far_page_of_recent_documents_is_an_empty_page(library: Library) -> None:
    client = library.app.test_client()
    assert client.get("/recent?page=99999999999999999999").status_code == 200  # was a 500
