"""IIIF: the Presentation 3.0 manifest and the Content Search 2.0 answers, checked field by field.

There is no network here, so no validator is downloaded: the checks below are the specifications'
requirements written out (Presentation API 3.0, sections 3 and 4 — "MUST" properties, value
shapes; Content Search API 2.0, sections 3.3–3.4 — the response's AnnotationPage, paging,
``ignored``, highlighting annotations with a TextQuoteSelector).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from PIL import Image

from mura.app.extensions import db
from mura.app.modules.discovery import iiif
from tests.discovery_helpers import Library

QUERY = "кітапхана"
XYWH = re.compile(r"^(?P<canvas>[^#]+)#xywh=(\d+),(\d+),(\d+),(\d+)$")
#: Presentation 3.0 §3.4.2 behavior values, §3.4.3 viewingDirection values.
BEHAVIORS = {
    "auto-advance", "no-auto-advance", "repeat", "no-repeat", "unordered", "individuals",
    "continuous", "paged", "facing-pages", "non-paged", "multi-part", "together", "sequence",
    "thumbnail-nav", "no-nav", "hidden",
}  # fmt: skip
DIRECTIONS = {"left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top"}


@pytest.fixture
def client(library: Library) -> Iterator[FlaskClient]:
    with library.app.app_context():
        yield library.app.test_client()
        db.session.remove()


def _uri(value: Any) -> str:
    assert isinstance(value, str) and urlsplit(value).scheme in ("http", "https"), value
    return value


def _language_map(value: Any) -> None:
    """§3.3.1: a JSON object, keys BCP 47 tags or "none", values arrays of strings."""
    assert isinstance(value, dict) and value, value
    for key, strings in value.items():
        assert key == "none" or re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", key), key
        assert isinstance(strings, list) and strings and all(isinstance(s, str) for s in strings)


def _resource(value: dict, kind: str) -> None:
    """Every resource: ``id`` (an HTTP(S) URI) and ``type``."""
    _uri(value["id"])
    assert value["type"] == kind, value


def _image(client: FlaskClient, body: dict) -> None:
    _resource(body, "Image")
    assert body["format"] == "image/jpeg"
    response = client.get(urlsplit(body["id"]).path)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(response.data)).size == (body["width"], body["height"])
    response.close()


def check_manifest(client: FlaskClient, manifest: dict) -> dict[str, dict]:
    """Presentation 3.0 requirements; returns the canvases by id."""
    assert manifest["@context"] == "http://iiif.io/api/presentation/3/context.json"
    _resource(manifest, "Manifest")
    _language_map(manifest["label"])  # label: REQUIRED (§3.3.1)
    for entry in manifest.get("metadata", []):  # pairs of language maps (§3.3.1)
        _language_map(entry["label"])
        _language_map(entry["value"])
    statement = manifest.get("requiredStatement")
    if statement:
        _language_map(statement["label"])
        _language_map(statement["value"])
    if "rights" in manifest:  # a Creative Commons or RightsStatements.org URI (§3.3.1)
        assert re.match(r"https?://(creativecommons|rightsstatements)\.org/", manifest["rights"])
    assert set(manifest.get("behavior", [])) <= BEHAVIORS
    assert manifest.get("viewingDirection", "left-to-right") in DIRECTIONS
    for link in manifest.get("homepage", []) + manifest.get("rendering", []):
        _resource(link, link["type"])
        _language_map(link["label"])  # homepage and rendering: label REQUIRED (§3.3.3)
        assert link["format"]
    for link in manifest.get("seeAlso", []):
        _resource(link, link["type"])
    services = manifest["service"]
    assert any(s["type"] == "SearchService2" and _uri(s["id"]) for s in services)
    assert isinstance(manifest["items"], list) and manifest["items"]  # at least one Canvas
    canvases: dict[str, dict] = {}
    ids: set[str] = {manifest["id"]}
    for canvas in manifest["items"]:
        _resource(canvas, "Canvas")
        assert "#" not in canvas["id"]  # §3.4.1: a Canvas id MUST NOT contain a fragment
        assert isinstance(canvas["width"], int) and canvas["width"] > 0
        assert isinstance(canvas["height"], int) and canvas["height"] > 0
        _language_map(canvas["label"])
        for thumbnail in canvas.get("thumbnail", []):
            _image(client, thumbnail)
        assert canvas["items"], canvas["id"]
        for page in canvas["items"]:
            _resource(page, "AnnotationPage")
            for annotation in page["items"]:
                _resource(annotation, "Annotation")
                assert annotation["motivation"] == "painting"
                assert annotation["target"] == canvas["id"]
                _image(client, annotation["body"])
                # The image fills the canvas: same aspect ratio.
                body = annotation["body"]
                ratio = body["width"] / body["height"]
                assert abs(ratio - canvas["width"] / canvas["height"]) < 0.01
                for value in (page["id"], annotation["id"]):
                    assert value not in ids, value  # ids are unique
                    ids.add(value)
        assert canvas["id"] not in ids
        ids.add(canvas["id"])
        canvases[canvas["id"]] = canvas
    return canvases


def check_search_answer(answer: dict, canvases: dict[str, dict]) -> list[dict]:
    """Content Search 2.0 requirements of an answer page; returns its items."""
    assert answer["@context"] == "http://iiif.io/api/search/2/context.json"
    _uri(answer["id"])
    assert answer["type"] == "AnnotationPage"
    items = answer["items"]
    assert isinstance(items, list)
    by_id = {}
    for item in items:
        _resource(item, "Annotation")
        assert item["motivation"]
        assert item["body"]["type"] == "TextualBody" and item["body"]["value"]
        target = XYWH.match(item["target"])
        assert target, item["target"]
        canvas = canvases[target.group("canvas")]
        x, y, w, h = (int(v) for v in target.groups()[1:])
        assert w > 0 and h > 0
        assert x + w <= canvas["width"] and y + h <= canvas["height"]
        by_id[item["id"]] = item
    for page in answer.get("annotations", []):
        assert page["type"] == "AnnotationPage"
        for highlight in page["items"]:
            _resource(highlight, "Annotation")
            assert highlight["motivation"] == "highlighting"
            target = highlight["target"]
            assert target["type"] == "SpecificResource"
            matched = by_id[target["source"]]  # points at an annotation of this answer
            (selector,) = target["selector"]
            assert selector["type"] == "TextQuoteSelector"
            assert selector["exact"] == matched["body"]["value"]
            assert isinstance(selector["prefix"], str) and isinstance(selector["suffix"], str)
    return items


def _manifest(client: FlaskClient, document_id: int) -> tuple[dict, dict[str, dict]]:
    response = client.get(f"/iiif/{document_id}/manifest")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    manifest = response.get_json()
    assert manifest["id"] == f"http://localhost/iiif/{document_id}/manifest"
    return manifest, check_manifest(client, manifest)


def test_manifest_of_a_book(library: Library, client: FlaskClient) -> None:
    manifest, canvases = _manifest(client, library.book_id)
    assert list(manifest["label"].values()) == [["Қарағанды кітапханалары"]]
    assert manifest["behavior"] == ["paged"]
    assert len(canvases) == 2
    first = manifest["items"][0]
    assert (first["width"], first["height"]) == (1748, 2480)  # the page at 300 dpi
    # Canvas ids can be dereferenced.
    canvas = client.get(urlsplit(first["id"]).path).get_json()
    assert canvas["id"] == first["id"] and canvas["items"] == first["items"]


def test_search_answers_word_boxes_on_the_canvases(library: Library, client: FlaskClient) -> None:
    manifest, canvases = _manifest(client, library.book_id)
    service = next(s["id"] for s in manifest["service"] if s["type"] == "SearchService2")
    answer = client.get(urlsplit(service).path, query_string={"q": QUERY}).get_json()
    items = check_search_answer(answer, canvases)
    assert "partOf" not in answer  # everything fits one page
    on_pages = {XYWH.match(item["target"]).group("canvas").rsplit("/", 1)[1] for item in items}
    assert on_pages == {"1", "2"}
    assert {item["body"]["value"].lower() for item in items} >= {"кітапхана", "кітапханалар"}
    # A word box of the answer is the box the reader draws.
    html = client.get(f"/read/{library.book_id}/1?q={QUERY}").get_data(as_text=True)
    first = XYWH.match(items[0]["target"])
    x, y, w, h = (int(v) for v in first.groups()[1:])
    assert f'x="{x - 4}" y="{y - 4}" width="{w + 8}" height="{h + 8}"' in html


def test_search_motivation_ignored_parameters_and_paging(
    library: Library, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, canvases = _manifest(client, library.book_id)
    path = f"/iiif/{library.book_id}/search"
    painting = client.get(path, query_string={"q": QUERY, "motivation": "painting"}).get_json()
    assert painting["items"] == []
    words = client.get(path, query_string={"q": QUERY, "motivation": "supplementing"}).get_json()
    total = len(words["items"])
    assert total >= 3
    ignored = client.get(path, query_string={"q": QUERY, "user": "x", "date": "y"}).get_json()
    assert sorted(ignored["ignored"]) == ["date", "user"]
    assert client.get(path).get_json()["items"] == []  # no q: nothing

    # One document page per answer page: the book's two pages make two answer pages.
    monkeypatch.setattr(iiif, "PAGES_PER_ANSWER", 1)
    first = client.get(path, query_string={"q": QUERY}).get_json()
    check_search_answer(first, canvases)
    collection = first["partOf"]
    assert collection["type"] == "AnnotationCollection"
    assert "prev" not in first and first["items"]
    last = client.get(urlsplit(collection["last"]).path + "?" + urlsplit(collection["last"]).query)
    last = last.get_json()
    check_search_answer(last, canvases)
    assert "next" not in last and "prev" in last
    second = client.get(urlsplit(first["next"]).path + "?" + urlsplit(first["next"]).query)
    assert second.get_json() == last
    assert len(first["items"]) + len(last["items"]) == total  # nothing lost between pages


def test_manifest_of_an_article_and_its_search(library: Library, client: FlaskClient) -> None:
    manifest, canvases = _manifest(client, library.article_id)
    assert manifest["behavior"] == ["individuals"]
    answer = client.get(f"/iiif/{library.article_id}/search", query_string={"q": QUERY})
    assert check_search_answer(answer.get_json(), canvases)
    assert client.get("/iiif/999/manifest").status_code == 404
    assert client.get(f"/iiif/{library.book_id}/canvas/9").status_code == 404
