"""IIIF for real viewers (issue 15, items 3, 5, 6; issue 18, finding 2's content-search part).

- Content Search 1.0 beside 2.0, with autocomplete, both declared in the manifest: Mirador 4
  and the Universal Viewer find a search service only by the 1.0 profile and read only 1.0's
  ``resources``/``hits``.
- One manifest for every interface language (language maps with kk, ru, en), so a shared cache
  may keep it whatever ``Accept-Language`` asked.
- CORS on every public read-only resource, preflight and 404 included, decided in one place.
- Bounded work: one answer reads the words of a fixed number of matching pages and computes
  the query's terms once; a query of too many words is refused with a translated reason.

The Chromium side (Mirador searching, a real cross-origin ``fetch()``) is in
``tests/e2e/test_iiif_viewers_browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from mura.app.extensions import db
from mura.app.modules.discovery import iiif, reader
from tests.discovery_helpers import Library
from tests.test_iiif import XYWH, check_manifest, check_search_answer

QUERY = "кітапхана"
SEARCH1 = "http://iiif.io/api/search/1/search"
AUTOCOMPLETE1 = "http://iiif.io/api/search/1/autocomplete"


@pytest.fixture
def client(library: Library) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


def _get(client: FlaskClient, url: str, **kwargs) -> dict:
    parts = urlsplit(url)
    response = client.get(parts.path + ("?" + parts.query if parts.query else ""), **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_json()


def _services(manifest: dict) -> tuple[dict, dict]:
    search2 = next(s for s in manifest["service"] if s.get("type") == "SearchService2")
    search1 = next(s for s in manifest["service"] if s.get("profile") == SEARCH1)
    return search2, search1


# --- Content Search 1.0 and autocomplete ----------------------------------------------------------


def test_manifest_declares_search_1_and_2_with_autocomplete(
    library: Library, client: FlaskClient
) -> None:
    manifest = _get(client, f"/iiif/{library.book_id}/manifest")
    check_manifest(client, manifest)
    search2, search1 = _services(manifest)
    # 1.0 as its viewers look for it: JSON-LD keys of its own API, found by profile.
    assert search1["@context"] == "http://iiif.io/api/search/1/context.json"
    assert search1["@id"].endswith(f"/iiif/{library.book_id}/search1")
    (complete1,) = search1["service"]
    assert complete1["profile"] == AUTOCOMPLETE1 and complete1["@id"].endswith("/autocomplete1")
    (complete2,) = search2["service"]
    assert complete2["type"] == "AutoCompleteService2"
    assert complete2["id"].endswith(f"/iiif/{library.book_id}/autocomplete")


def test_search_1_answers_resources_and_hits_like_2(library: Library, client: FlaskClient) -> None:
    manifest = _get(client, f"/iiif/{library.book_id}/manifest")
    canvases = check_manifest(client, manifest)
    search2, search1 = _services(manifest)
    answer = _get(client, f"{search1['@id']}?q={QUERY}")
    assert answer["@context"][-1] == "http://iiif.io/api/search/1/context.json"
    assert answer["@type"] == "sc:AnnotationList"
    resources = {r["@id"]: r for r in answer["resources"]}
    assert resources and len(answer["hits"]) == len(resources)
    for resource in resources.values():
        assert resource["@type"] == "oa:Annotation"
        assert resource["resource"]["@type"] == "cnt:ContentAsText"
        target = XYWH.match(resource["on"])
        assert target and target.group("canvas") in canvases
    for hit in answer["hits"]:
        assert hit["@type"] == "search:Hit"
        (anno_id,) = hit["annotations"]
        assert resources[anno_id]["resource"]["chars"] == hit["match"]
        assert isinstance(hit["before"], str) and isinstance(hit["after"], str)
    # The same words and boxes as the 2.0 answer.
    items = check_search_answer(_get(client, f"{search2['id']}?q={QUERY}"), canvases)
    assert [i["target"] for i in items] == [r["on"] for r in answer["resources"]]
    assert "within" not in answer and "next" not in answer  # one answer page
    ignored = _get(client, f"{search1['@id']}?q={QUERY}&user=x")
    assert ignored["ignored"] == ["user"]


def test_autocomplete_1_and_2(library: Library, client: FlaskClient) -> None:
    manifest = _get(client, f"/iiif/{library.book_id}/manifest")
    search2, search1 = _services(manifest)
    terms = _get(client, f"{search1['service'][0]['@id']}?q=КІТАП")
    assert terms["@type"] == "search:TermList"
    words = {term["match"]: term for term in terms["terms"]}
    assert "кітапхана" in words or any(w.startswith("кітапхана") for w in words), words
    assert all(w.startswith("кітап") and t["count"] >= 1 for w, t in words.items())
    # A term's url is a search that finds it.
    first = terms["terms"][0]
    assert _get(client, first["url"])["resources"]
    page = _get(client, f"{search2['service'][0]['id']}?q=кітап")
    assert page["type"] == "TermPage"
    assert [(i["value"], i["total"]) for i in page["items"]] == [
        (t["match"], t["count"]) for t in terms["terms"]
    ]
    assert _get(client, f"/iiif/{library.book_id}/autocomplete1?q=к")["terms"] == []  # too short


def test_manifest_and_canvas_validate_with_iiif_prezi3(
    library: Library, client: FlaskClient
) -> None:
    """The IIIF community's Presentation 3 models (iiif-prezi3) accept the manifest with both
    search services and the image services, and a canvas on its own."""
    from iiif_prezi3 import Canvas, Manifest

    manifest = _get(client, f"/iiif/{library.book_id}/manifest")
    Manifest(**manifest)
    canvas = _get(client, f"/iiif/{library.book_id}/canvas/1")
    canvas.pop("@context")
    Canvas(**canvas)


# --- one manifest for every language --------------------------------------------------------------


def test_manifest_is_the_same_in_every_language(library: Library, client: FlaskClient) -> None:
    answers = {
        lang: client.get(f"/iiif/{library.book_id}/manifest", headers={"Accept-Language": lang})
        for lang in ("kk", "ru", "en")
    }
    bodies = {lang: response.get_data() for lang, response in answers.items()}
    assert bodies["kk"] == bodies["ru"] == bodies["en"]
    assert "Accept-Language" not in answers["ru"].headers.get("Vary", "")
    manifest = answers["ru"].get_json()
    check_manifest(client, manifest)
    (pdf,) = manifest["rendering"]
    assert set(pdf["label"]) == {"kk", "ru", "en"}
    assert pdf["label"]["en"] == ["PDF with a text layer"]
    assert pdf["label"]["ru"] != pdf["label"]["en"] and pdf["label"]["kk"] != pdf["label"]["en"]
    kinds = {tuple(sorted(entry["label"])) for entry in manifest["metadata"]}
    assert kinds == {("en", "kk", "ru")}
    assert manifest["homepage"][0]["language"] == ["kk", "ru", "en"]


# --- CORS -----------------------------------------------------------------------------------------


def _public_urls(library: Library) -> list[str]:
    book = library.book_id
    return [
        f"/iiif/{book}/manifest",
        f"/iiif/{book}/canvas/1",
        f"/iiif/{book}/search?q={QUERY}",
        f"/iiif/{book}/search1?q={QUERY}",
        f"/iiif/{book}/autocomplete1?q=кіт",
        f"/read/{book}/1/image/200.jpg",
        f"/iiif/image/{book}/1/info.json",
        f"/iiif/image/{book}/1/0,0,512,512/512,512/0/default.jpg",
        f"/api/documents/{book}/dc",
        f"/documents/{book}/pdf",
        "/oai?verb=Identify",
    ]


def test_preflight_and_answers_of_public_resources_allow_any_origin(
    library: Library, client: FlaskClient
) -> None:
    for url in _public_urls(library):
        preflight = client.options(
            url,
            headers={
                "Origin": "https://viewer.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "accept",
            },
        )
        assert preflight.status_code in (200, 204), url
        assert preflight.headers.get("Access-Control-Allow-Origin") == "*", url
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"], url
        assert "accept" in preflight.headers["Access-Control-Allow-Headers"].lower(), url
        answer = client.get(url, headers={"Origin": "https://viewer.example"})
        assert answer.status_code == 200, url
        assert answer.headers.get("Access-Control-Allow-Origin") == "*", url
        answer.close()
    for missing in ("/iiif/999/manifest", "/iiif/1/canvas/99", "/no/such/path"):
        answer = client.get(missing, headers={"Origin": "https://viewer.example"})
        assert answer.status_code == 404
        assert answer.headers.get("Access-Control-Allow-Origin") == "*", missing


def test_what_depends_on_who_asks_is_not_granted(library: Library, client: FlaskClient) -> None:
    """A private answer (the reading room's, staff's) and pages that are not read-only
    resources get no CORS header."""
    from flask import jsonify

    from mura.app.web import cors

    answer = client.get("/login", headers={"Origin": "https://viewer.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers
    with library.app.test_request_context(f"/iiif/{library.book_id}/manifest"):
        response = jsonify({})
        response.headers["Cache-Control"] = "private, no-store"
        assert "Access-Control-Allow-Origin" not in cors.add_headers(response).headers
        response.headers["Cache-Control"] = "public, max-age=300"
        assert cors.add_headers(response).headers["Access-Control-Allow-Origin"] == "*"


# --- bounded work ---------------------------------------------------------------------------------


def test_an_answer_reads_a_bounded_number_of_pages_and_computes_terms_once(
    library: Library, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    computed: list[str] = []
    page_words, query_terms = reader.page_words, reader.query_terms
    monkeypatch.setattr(
        reader, "page_words", lambda page: read.append(page.seq) or page_words(page)
    )
    monkeypatch.setattr(
        reader, "query_terms", lambda q, f=None: computed.append(q) or query_terms(q, f)
    )
    monkeypatch.setattr(iiif, "PAGES_PER_ANSWER", 1, raising=False)
    first = _get(client, f"/iiif/{library.book_id}/search?q={QUERY}")
    assert read == [1]  # of the two matching pages, only the first answer page's
    assert len(computed) == 1  # exact matches found: no near misses looked up
    assert first["items"] and first["next"].endswith("page=2")
    read.clear()
    second = _get(client, first["next"])
    assert read == [2] and second["items"] and "next" not in second


def test_a_query_of_too_many_words_is_refused_with_a_reason(
    library: Library, client: FlaskClient
) -> None:
    words = " ".join(f"сөз{n}" for n in range(iiif.MAX_QUERY_WORDS + 4))
    for route in ("search", "search1"):
        answer = client.get(
            f"/iiif/{library.book_id}/{route}",
            query_string={"q": words},
            headers={"Accept-Language": "ru"},
        )
        assert answer.status_code == 400
        assert answer.get_json()["error"] == (f"Ищите не более {iiif.MAX_QUERY_WORDS} слов за раз.")
        assert answer.headers.get("Access-Control-Allow-Origin") == "*"  # a viewer can read it
