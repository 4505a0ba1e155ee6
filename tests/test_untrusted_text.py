"""OCR text and metadata are untrusted: markup in them shows as text on every page that shows them.

A published document whose title, author and page texts carry ``<script>`` and
``"><img onerror=…>`` is rendered by every view that shows it (search snippets, document and
reader pages, staff job and text pages, the JSON API, IIIF, OAI-PMH, BibTeX, the CLI), and none
of them lets the markup through. Then every route is asked as a reader and as an administrator
and must carry the security headers (CSP, nosniff, framing, referrer), whatever its status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from lxml import html as lxml_html

from mura.app.modules.discovery import discovery
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app
from tests.synthetic import publish

TITLE = 'Газет "><img src=x onerror=alert(1)> <script>alert("title")</script>'
AUTHOR = "<script>alert('author')</script> Әлімжанов"
TEXTS = (
    'жарнама <script>alert("ocr")</script> мұражай',
    'хабар "><img src=x onerror=alert(2)> ескерткіш',
)
#: What must never reach a browser as markup.
RAW = ("<script>alert(", "<img src=x onerror", '<img src="x" onerror')
HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


@dataclass
class Hostile:
    app: Flask
    document_id: int
    job_id: int
    page_ids: list[int]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """A published document whose every text field is an attack."""
    from mura.app.extensions import db
    from mura.app.models import Document, Page
    from mura.app.modules.discovery import search

    home = tmp_path_factory.mktemp("hostile")
    app = make_app(home / "home", DEFAULT_ACCESS="public_domain", SEARCH_RATE_LIMIT="1000/minute")
    document_id = publish(app, home / "pages", TITLE, count=2)
    with app.app_context():
        document = db.session.get(Document, document_id)
        document.authors = [AUTHOR]
        pages = db.session.scalars(
            db.select(Page).where(Page.document_id == document_id).order_by(Page.seq)
        ).all()
        for page, text in zip(pages, TEXTS, strict=True):
            page.text = text
        db.session.commit()
        search.index_document(document_id)
        make_user("boss", "admin", None)
        hostile = Hostile(app, document_id, pages[0].job_id, [p.id for p in pages])
        db.session.remove()
    yield hostile
    with app.app_context():
        db.engine.dispose()


def assert_inert(body: str, where: str) -> None:
    """No attack markup in ``body``; it is shown escaped instead."""
    for raw in RAW:
        assert raw not in body, f"{where}: {raw!r} reached the page as markup"


def _get(client: FlaskClient, url: str) -> tuple[int, str, str]:
    with client.get(url, follow_redirects=True) as response:
        return response.status_code, response.mimetype, response.get_data(as_text=True)


def public_urls(h: Hostile) -> list[str]:
    d = h.document_id
    return [
        "/", "/search?q=мұражай", "/search?q=ескерткіш", "/search?q=alert", "/search?q=onerror",
        "/search?q=%3Cscript%3Ealert(9)%3C/script%3E", f"/documents/{d}",
        f"/documents/{d}?q=alert", f"/read/{d}", f"/read/{d}/1", f"/read/{d}/2",
        "/api/search?q=мұражай", "/api/search?q=onerror", f"/api/documents/{d}/dc",
        f"/iiif/{d}/manifest", f"/iiif/{d}/search?q=alert", f"/documents/{d}/cite.bib",
    ]  # fmt: skip


def staff_urls(h: Hostile) -> list[str]:
    return [
        "/staff/", f"/staff/jobs/{h.job_id}", f"/staff/pages/{h.page_ids[0]}/text",
        f"/staff/pages/{h.page_ids[1]}/text", f"/api/jobs/{h.job_id}",
        f"/admin/rights/documents/{h.document_id}", f"/documents/{h.document_id}",
    ]  # fmt: skip


def test_every_view_shows_markup_as_text(hostile: Hostile) -> None:
    reader = hostile.app.test_client()
    boss = logged_in(hostile.app, "boss")
    seen_escaped = 0
    for client, urls in ((reader, public_urls(hostile)), (boss, staff_urls(hostile))):
        for url in urls:
            status, mimetype, body = _get(client, url)
            assert status == 200, f"{url}: {status}"
            if mimetype == "text/html":
                assert_inert(body, url)
                seen_escaped += "&lt;script&gt;" in body or "&lt;img" in body
            elif "json" in mimetype:
                _check_json(json.loads(body), url)
            else:
                assert mimetype in ("text/plain", "application/x-bibtex"), (url, mimetype)
    assert seen_escaped >= 10  # the attacks were shown, as text


def _check_json(value: object, where: str, key: str = "") -> None:
    """JSON is data, not markup; but a field meant to be inserted as HTML must be escaped."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_json(v, where, k)
    elif isinstance(value, list):
        for v in value:
            _check_json(v, where, key)
    elif isinstance(value, str) and ("html" in key.lower() or key in ("snippet", "label_html")):
        assert_inert(value, f"{where} [{key}]")


def test_search_snippets_escape_the_page_text(hostile: Hostile) -> None:

    with hostile.app.app_context():
        for query in ("мұражай", "ескерткіш"):
            [hit] = discovery.search(query).hits
            html = str(hit.snippet)
            assert_inert(html, f"snippet for {query}")
            assert "&lt;" in html or "&#34;&gt;" in html or "&gt;" in html, html


@pytest.mark.parametrize("prefix", ["oai_dc", "marc21"])
def test_oai_pmh_carries_the_text_as_text(hostile: Hostile, prefix: str) -> None:
    client = hostile.app.test_client()
    status, mimetype, body = _get(client, f"/oai?verb=ListRecords&metadataPrefix={prefix}")
    assert status == 200 and mimetype == "text/xml"
    root = etree.fromstring(body.encode())
    names = {etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
    assert not names & {"script", "img"}
    assert TITLE.split(" <script>")[0] in "".join(root.itertext())


def test_the_cli_prints_escaped_snippets(hostile: Hostile) -> None:
    from mura.app.cli import cli

    result = hostile.app.test_cli_runner().invoke(cli, ["search", "мұражай", "--json"])
    assert result.exit_code == 0, result.output
    [hit] = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert_inert(hit["snippet_html"], "mura search --json")
    assert hit["title"] == TITLE  # plain text stays what it was


# --- security headers on every route ------------------------------------------------------------

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _fill(rule: str, h: Hostile) -> str:
    values = {"document_id": h.document_id, "job_id": h.job_id, "page_id": h.page_ids[0]}

    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "string", match.group(2)
        if name in values:
            return str(values[name])
        if name == "filename":
            return "css/mura.css"
        if name == "lang":
            return "kk"
        return "1" if converter == "int" else "x"

    return _PARAM.sub(value, rule)


def test_security_headers_on_every_route(hostile: Hostile) -> None:
    rules = [r for r in hostile.app.url_map.iter_rules() if "GET" in r.methods]
    assert len(rules) > 40
    clients = {"reader": hostile.app.test_client(), "admin": logged_in(hostile.app, "boss")}
    checked = 0
    for who, client in clients.items():
        for rule in rules:
            url = _fill(rule.rule, hostile)
            with client.get(url) as response:
                missing = [h for h in HEADERS if h not in response.headers]
                assert not missing, f"{who} GET {url} ({response.status_code}): no {missing}"
                csp = response.headers["Content-Security-Policy"]
                assert "default-src 'self'" in csp and "object-src 'none'" in csp
                assert "unsafe-inline" not in csp.split("script-src", 1)[-1].split(";")[0]
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                if response.mimetype == "text/html":
                    _no_inline_script(response.get_data(as_text=True), f"{who} {url}")
                checked += 1
    assert checked == 2 * len(rules)


def _no_inline_script(body: str, where: str) -> None:
    """Under this CSP an inline script or event handler would not run: none may be relied on."""
    for tag in re.findall(r"<script\b[^>]*>", body):
        if 'type="application/json"' in tag:
            continue  # a data island: never run, read by a script from 'self' (the CSP allows it)
        assert "src=" in tag, f"{where}: inline <script> (blocked by the CSP)"
    # Attributes as the browser reads them (a title holding the text "onerror=" inside an
    # escaped attribute value is text, not a handler).
    for element in lxml_html.fromstring(body).iter():
        if not isinstance(element.tag, str):
            continue
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        assert not handlers, f"{where}: inline event handler {handlers} on <{element.tag}>"


def test_error_pages_have_the_headers_too(hostile: Hostile, tmp_path: Path) -> None:
    client = hostile.app.test_client()
    for url in ("/no-such-page", "/documents/999999", "/staff/", "/api/jobs/999999"):
        with client.get(url) as response:
            assert response.status_code in (302, 401, 403, 404), url
            assert all(h in response.headers for h in HEADERS), url
