"""The search page: facets from the index and the database, date sort, "did you mean", pages.

Every test of the page runs on each engine: the library is indexed by Whoosh as it is published,
and for tantivy it is moved as an installation moves (``mura reindex --engine tantivy``, then
``MURA_SEARCH_ENGINE=tantivy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh

from mura.app.extensions import db
from mura.app.modules.discovery import discovery
from mura.app.modules.discovery import search as search_service
from mura.app.search import ENGINE_KINDS
from mura.app.search.suggest import suggest
from tests.discovery_helpers import Library

QUERY = "кітапхана"
# Engine kinds whose index of the (session-wide) library has been rebuilt.
_REBUILT: set[str] = set()


@pytest.fixture(params=ENGINE_KINDS)
def engine_kind(request: pytest.FixtureRequest, library: Library) -> Iterator[str]:
    """The library's app searching with each engine; the configured one afterwards."""
    app, kind = library.app, request.param
    configured = app.config["SEARCH_ENGINE"]
    if kind == configured:
        yield kind
        return
    with app.app_context():
        if kind not in _REBUILT:
            assert search_service.rebuild_index(kind).documents == 2
            _REBUILT.add(kind)
            db.session.remove()
        previous = app.extensions.pop("mura_search", None)
        app.config["SEARCH_ENGINE"] = kind
        try:
            yield kind
        finally:
            moved = app.extensions.pop("mura_search", None)
            if moved is not None:
                moved.close()
            app.config["SEARCH_ENGINE"] = configured
            if previous is not None:
                app.extensions["mura_search"] = previous


@pytest.fixture
def client(library: Library, engine_kind: str) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


def _page(client: FlaskClient, **args: object) -> str:
    response = client.get("/search", query_string={"q": QUERY, "lang": "en", **args})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _titles(html: str) -> list[str]:
    return re.findall(r'class="hit-title">([^<]*)<', html)


def _facets(html: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    pattern = r'data-facet="(\w+)" data-value="([^"]*)".*?<span class="n">(\d+)</span>'
    for key, value, count in re.findall(pattern, html, re.S):
        found.setdefault(key, {})[value] = int(count)
    return found


def test_results_with_every_facet(library: Library, client: FlaskClient) -> None:
    html = _page(client)
    assert "2 documents found" in html
    assert _titles(html) == ["Қарағанды кітапханалары", "Кітапхана-филиалында іс-шаралар"]
    facets = _facets(html)
    assert facets["doc_type"] == {"book": 1, "newspaper_article": 1}
    assert facets["collection"] == {"olketanu": 2}
    assert facets["language"] == {"kaz": 2}
    assert facets["decade"] == {"2020": 1, "1990": 1}
    assert facets["source"] == {"Индустриальная Караганда": 1}
    assert "year" not in facets  # years appear once a decade is chosen
    assert ">Local lore<" in html.replace("\n", "").replace("  ", "")  # the collection's title
    # Hits open the reader at their pages, with the query.
    assert f'href="/read/{library.book_id}/2?q=' in html
    assert "<mark>" in html


def test_facets_filter_and_count_without_their_own_filter(client: FlaskClient) -> None:
    html = _page(client, doc_type="newspaper_article")
    assert "1 document found" in html
    assert _titles(html) == ["Кітапхана-филиалында іс-шаралар"]
    facets = _facets(html)
    assert facets["doc_type"] == {"book": 1, "newspaper_article": 1}  # other types still offered
    assert facets["decade"] == {"1990": 1}
    assert 'aria-current="true"' in html and 'id="clear-filters"' in html

    decade = _page(client, decade="1990")
    assert _facets(decade)["year"] == {"1998": 1}
    source = _page(client, source="Индустриальная Караганда")
    assert _titles(source) == ["Кітапхана-филиалында іс-шаралар"]
    nothing = _page(client, decade="2020", doc_type="newspaper_article")
    assert "0 documents found" in nothing


def test_sort_by_date(client: FlaskClient) -> None:
    assert _titles(_page(client, sort="oldest"))[0] == "Кітапхана-филиалында іс-шаралар"
    newest = _page(client, sort="newest")
    assert _titles(newest)[0] == "Қарағанды кітапханалары"
    assert '<option value="newest" selected>' in newest
    assert "<mark>" in newest  # hits built outside the engine's order keep their snippets


def test_pages_of_results_keep_filters_and_sort(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mura.app.modules.discovery.views.public.PER_PAGE", 1)
    html = _page(client, sort="oldest", language="kaz")
    assert _titles(html) == ["Кітапхана-филиалында іс-шаралар"]
    link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    assert "page=2" in link and "sort=oldest" in link and "language=kaz" in link
    second = client.get(link).get_data(as_text=True)
    assert _titles(second) == ["Қарағанды кітапханалары"]
    assert '<ol class="hits" start="2">' in second


def test_did_you_mean(client: FlaskClient) -> None:
    html = _page(client, q="кітапхона")
    suggestion = re.search(r'id="did-you-mean">.*?<a href="([^"]+)"[^>]*>([^<]+)</a>', html, re.S)
    assert suggestion and suggestion.group(2) == "кітапхана"
    assert "did-you-mean" not in _page(client)
    assert discovery.suggestion("Кітапхона OR zzqx") == "Кітапхана OR zzqx"


def test_suggest_leaves_known_words_operators_and_phrases_alone() -> None:
    index = {"кітапхана": 5, "қарағанды": 9}
    frequency = index.get

    def doc_frequency(term: str) -> int:
        return frequency(term, 0)

    assert suggest("кітапхона", doc_frequency) == "кітапхана"
    assert suggest("КІТАПХОНА", doc_frequency) == "КІТАПХАНА"
    assert suggest("қарағанды", doc_frequency) is None
    assert suggest('"кітапхона" -қарағонды', doc_frequency) is None
    assert suggest("кітапхона NOT қарағанды", doc_frequency) == "кітапхана NOT қарағанды"
    assert suggest("абвгд", doc_frequency) is None
    assert suggest(" ".join(["кітапхона"] * 7), doc_frequency) is None


def test_unknown_filters_are_refused(client: FlaskClient) -> None:
    with pytest.raises(ValueError, match="unknown search filter"):
        discovery.search(QUERY, filters={"colour": ["red"]})
    # The page only passes the known ones.
    assert "2 documents found" in _page(client, colour="red")


def test_every_engine_gives_the_ranked_list(
    library: Library, client: FlaskClient, engine_kind: str
) -> None:
    engine = search_service.get_engine()
    assert engine.kind == engine_kind  # type: ignore[attr-defined]
    ranked = engine.ranked_documents(QUERY)  # type: ignore[attr-defined]
    assert [doc_id for doc_id, _ in ranked] == [library.book_id, library.article_id]
    assert ranked[0][1] >= ranked[1][1] > 0


def test_recently_added_with_thumbnails(library: Library, client: FlaskClient) -> None:
    html = client.get("/recent?lang=en").get_data(as_text=True)
    assert "2 documents" in html
    titles = re.findall(r'<a href="/documents/\d+">([^<]+)</a>', html)
    assert titles[:2] == ["Кітапхана-филиалында іс-шаралар", "Қарағанды кітапханалары"]
    assert f'src="/iiif/image/{library.book_id}/1/full/' in html  # tests/test_browse_thumbnails.py
    assert 'id="all-recent"' in client.get("/").get_data(as_text=True)


class _Counting:
    """An engine that counts the calls the search page makes to it."""

    def __init__(self, engine: object) -> None:
        self.engine, self.calls = engine, []

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        return getattr(self.engine, name)


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_the_search_page_asks_the_index_once(library: Library, engine_kind: str, sort: str) -> None:
    with library.app.app_context():
        discovery.clear_cache()
        counting = _Counting(search_service.get_engine())
        results = discovery.search(QUERY, sort=sort, engine=counting)  # type: ignore[arg-type]
        assert counting.calls == ["generation", "search"]
        assert results.total == 2 and len(results.hits) == 2
        for hit in results.hits:  # pages and a snippet with the word marked, in any order
            assert hit.pages and "<mark>" in str(hit.snippet)


def test_hits_of_documents_ranked_past_the_exact_top(
    library: Library, engine_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tantivy ranks its first RANKED_EXACTLY documents; a date order may show the others."""
    from mura.app.search import tantivy_engine

    monkeypatch.setattr(tantivy_engine, "RANKED_EXACTLY", 1)
    with library.app.app_context():
        by_relevance = discovery.search(QUERY)
        for sort in ("newest", "oldest"):
            results = discovery.search(QUERY, sort=sort)
            assert {hit.document_id for hit in results.hits} == {
                hit.document_id for hit in by_relevance.hits
            }
            assert all(hit.pages and "<mark>" in str(hit.snippet) for hit in results.hits)


def test_author_facet_and_range_of_years(client: FlaskClient) -> None:
    facets = _facets(_page(client))
    # The article's author as its record names them; the book (no record) by its own authors.
    assert facets["author"] == {"Әлімжанов С.": 1, "Сейітов, Бауыржан": 1}
    assert "subject" not in facets  # no record has subjects: the facet is not shown
    nineties = _page(client, **{"from": "1990", "to": "1999"})
    assert _titles(nineties) == ["Кітапхана-филиалында іс-шаралар"]
    assert 'id="year-from" name="from"' in nineties and 'value="1990"' in nineties
    # The range goes with the sort and the pages.
    assert '<input type="hidden" name="from" value="1990">' in nineties
    by_author = _page(client, author="Сейітов, Бауыржан", **{"to": "2000"})
    assert _titles(by_author) == ["Кітапхана-филиалында іс-шаралар"]


def test_a_bad_range_of_years_is_explained_and_loses_nothing(client: FlaskClient) -> None:
    html = _page(client, **{"from": "19x9", "to": "1999"}, sort="newest")
    assert "is not a year" in html and 'aria-invalid="true"' in html
    assert "1 document found" in html  # the valid bound still applies
    assert 'value="19x9"' in html  # what was typed stays in the form
    swapped = _page(client, **{"from": "2030", "to": "1990"})
    assert "The first year is after the last" in swapped
    assert "2 documents found" in swapped
    for lang, words in (
        ("kk", ("Жарияланған жылдары", "жыл емес")),
        ("ru", ("Годы издания", "не год")),
    ):
        refresh()  # the fixture's app context keeps the locale chosen by the last request
        page = client.get("/search", query_string={"q": QUERY, "lang": lang, "from": "abc"})
        assert all(word in page.get_data(as_text=True) for word in words)
    refresh()
