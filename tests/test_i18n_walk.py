"""Every screen a reader, a staff member and an administrator can reach speaks Kazakh and Russian.

A crawler walks the app's links from the home page, the staff area and the administration in
kk and in ru, logged in per role, over a library made like the demo (real OCR of corpus pages, a
catalogue record with a creator's role, a contract, a hidden document, a failed upload, a copy
request, audit events). Every page's visible text (and its ``title``, ``placeholder``,
``aria-label`` and ``alt`` texts) must hold no English and no raw code:

- English: a word of three or more Latin letters that is not on :data:`ALLOWED` (names of
  standards and formats, the product's name) and not user data of the fixtures (which are in
  Cyrillic, so they do not trip it; the user names are Latin and listed);
- codes: ``snake_case`` words (``not_public``), MARC relator codes in brackets (``[aut]``);
- numbers: a percentage with a decimal point (``7.78%``; kk and ru write ``7,78 %``), a date
  as stored (``2026-12-08``).

Each finding is reported with its page and a bit of its context, so a failure says where to
look. Downloads (PDF, CSV, XML, JSON, images) and forms' POST targets are not followed.
"""

from __future__ import annotations

import io
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import flask_babel
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from tests.auth_helpers import login, make_user
from tests.conftest import make_app
from tests.discovery_helpers import LIBRARY_CONFIG, _publish

LANGS = ("kk", "ru")
#: Latin words allowed on a kk/ru page: standards, formats, keys, the product; the codes a hint
#: teaches to type (languages, MARC roles); the fixtures' Latin user data (user names, a slug).
_ALLOWED_WORDS = """
    PDF PDF/A IIIF OAI PMH OAI-PMH MARC MARC21 RUSMARC UNIMARC MARCXML CSV XLSX ISBN ISSN Mura
    ALTO XML JSON BibTeX RIS hOCR OCR BagIt SHA UTC URL URI IIIF JPEG PNG TIFF HTTP HTTPS DOI
    Dublin Core UDC UDK BBK LBC English Tesseract Excel Mirador Universal Viewer KAZMARC ISO
    UTF Windows WebP BMP Jinja Alt Ctrl Cmd Shift Enter Esc
    kaz rus kir eng aut edt trl ill com
    OPAC admin staff central olketanu"""
ALLOWED = frozenset(_ALLOWED_WORDS.split())
#: English words longer than two letters are looked for among Latin letters only.
_LATIN_WORD = re.compile(r"(?<![\w/.@-])[A-Za-z][A-Za-z'-]{2,}(?![\w/@])")
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_RELATOR = re.compile(r"\[[a-z]{3}\]")
#: A fraction or a percentage written the English way ("7.78 %"): kk and ru use a comma.
_POINT_NUMBER = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])\s?%")
#: A date as stored (``2026-12-08``): screens write dates in the reader's format.
_ISO_DATE = re.compile(r"(?<![\w/-])\d{4}-\d{2}-\d{2}(?![\w/-])")
#: Not text: addresses, e-mail addresses, file names, ISO dates, hexadecimal digests.
_NOT_TEXT = re.compile(
    r"https?://\S+|\S+@\S+|\b[\w.-]+\.(?:png|jpe?g|tiff?|pdf|csv|xlsx|xml|json|txt|zip|bib)\b"
    r"|\b[0-9a-f]{12,}\b",
    re.IGNORECASE,
)
_SKIP_PATH = re.compile(
    r"\.(?:pdf|csv|xlsx|xml|json|jpg|png|bib|js|css|txt)$|^/(?:static|iiif|api|oai)\b|/pdf$"
    r"|/image|/draft/|/scan$|^/logout"
)
#: Pages per (role, language): enough for every screen, bounded for the machine.
MAX_PAGES = 140


@dataclass
class Walked:
    """The walked library: its app and the document ids the start pages need."""

    app: Flask
    hidden_id: int
    failed_job_id: int
    book_id: int


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[Walked]:
    """A demo-like library: two OCR'd public documents and what staff screens list."""
    from mura.app.extensions import db
    from mura.app.models import CatalogueRecord, RecordAgent
    from mura.app.modules.administration import accounts
    from mura.app.modules.catalogue import records
    from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
    from mura.app.modules.discovery import copy_requests
    from mura.app.modules.rights import contracts, rights
    from mura.workers import tasks

    home = tmp_path_factory.mktemp("walk-home")
    app = make_app(home, **{**LIBRARY_CONFIG, "REVIEW_REQUIRED": True})
    book_id, article_id, record_id = _publish(app, corpus)
    with app.app_context():
        accounts.create_branch(
            "central", "Орталық кітапхана", "Центральная библиотека", "Central library", True
        )
        make_user("admin", "admin", "central", display_name="Әкімші Ерлан")
        make_user("staff", "staff", "central", display_name="Айгерім Серікқызы")
        record = CatalogueRecord(
            doc_type="book",
            title="Қарқаралы өңірінің тарихы",
            year=2019,
            languages=["kaz"],
            agents=[
                RecordAgent(name="Мұқанов, Сәбит", role="aut", dates="1900-1973", position=0),
                RecordAgent(name="Оразова, Гүлнар", role="edt", position=1),
            ],
        )
        db.session.add(record)
        db.session.commit()
        # A document that would stay hidden: no mark, no contract, a living author.
        with open(corpus / "p09_book_sans.png", "rb") as scan:
            hidden = ingest(
                [Upload("бет-1.png", scan)],
                DocumentFields("Қарқаралы өңірінің тарихы", "book", ["Мұқанов С."], "kaz",
                               "olketanu", 2019),
            )  # fmt: skip
        records.link_document(hidden.document_id, record.id)
        rights.set_mark(hidden.document_id, "none", "Авторлық құқық иесі белгісіз")
        hidden_page = hidden.pages[0].id
        # An upload no page of which could be read.
        failed = ingest(
            [Upload("бүлінген.png", io.BytesIO(b"\x89PNG\r\n\x1a\n" + "бұл сурет емес".encode()))],
            DocumentFields("Бүлінген жүктеу", "book", [], "kaz", "olketanu", 2020),
        )
        failed_job, failed_page = failed.id, failed.pages[0].id
        holder = contracts.save_holder(None, {"name": "Мұқанов Сәбиттің мұрагерлері"})
        contracts.save_contract(
            None,
            contracts.ContractData(
                number="12/2024",
                starts_on=date(2024, 1, 10),
                status="active",
                grants=["digitize", "reading_room"],
                parties=[(holder, "author")],
                works=[(db.session.get(CatalogueRecord, record_id), "")],
            ),
        )
        copy_requests.create_request(
            copy_requests.NewRequest("Бақыт Оспанова", "reader@example.kz", "Газет, 1998")
        )
        hidden_id = hidden.document_id
        db.session.remove()

    def ocr(page_id: int) -> None:
        with app.app_context():
            tasks.ocr_page.run(page_id)

    ocr(hidden_page)
    ocr(failed_page)
    with app.app_context():
        tasks.assemble_pdf.run(hidden.id)
        db.session.remove()
    yield Walked(app, hidden_id, failed_job, book_id)
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(home, ignore_errors=True)


def visible_texts(page: str) -> list[str]:
    """The texts a person sees or hears on ``page``: text nodes and labelling attributes."""
    tree = lxml_html.fromstring(page)
    # Not prose: scripts, hidden parts, what a person typed (text areas), preformatted machine
    # formats (a BibTeX citation) and whatever the page marks ``translate="no"``.
    not_prose = "//script|//style|//template|//noscript|//*[@hidden]|//textarea|//pre"
    for hidden in tree.xpath(not_prose + '|//*[@translate="no"]'):
        hidden.drop_tree()
    texts = [t.strip() for t in tree.xpath("//body//text()") if t.strip()]
    for attribute in ("title", "placeholder", "aria-label", "alt"):
        texts += [v.strip() for v in tree.xpath(f"//body//@{attribute}") if v.strip()]
    return texts


def problems_in(text: str) -> list[str]:
    """English words and raw codes in one visible text."""
    found = [f"code {m!r}" for m in _RELATOR.findall(text)]
    found += [f"decimal point {m!r}" for m in _POINT_NUMBER.findall(text)]
    found += [f"ISO date {m!r}" for m in _ISO_DATE.findall(_NOT_TEXT.sub(" ", text))]
    plain = _NOT_TEXT.sub(" ", text)
    found += [f"code {m!r}" for m in _SNAKE.findall(plain)]
    for word in _LATIN_WORD.findall(plain):
        if word not in ALLOWED and word.strip("'-") not in ALLOWED:
            found.append(f"English {word!r}")
    return found


def _key(url: str) -> str:
    """One page per path and set of query names: ``?page=2`` and ``?page=3`` are one screen."""
    parts = urlsplit(url)
    names = sorted({k for k, _ in parse_qsl(parts.query) if k != "lang"})
    path = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    return f"{path}?{'&'.join(names)}"


def walk(client: FlaskClient, lang: str, starts: list[str]) -> dict[str, list[str]]:
    """Follow the links from ``starts`` (GET only, same site); returns problems per URL."""
    client.get(f"/?lang={lang}")
    seen: set[str] = set()
    queue = list(starts)
    found: dict[str, list[str]] = defaultdict(list)
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.pop(0)
        key = _key(url)
        if key in seen:
            continue
        seen.add(key)
        flask_babel.refresh()
        response = client.get(url)
        flask_babel.refresh()
        if response.status_code in (301, 302, 303):
            queue.insert(0, response.headers["Location"])
            continue
        if response.mimetype != "text/html":
            continue
        visited += 1
        page = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in page, f"{url} is not in {lang}"
        for text in visible_texts(page):
            for problem in problems_in(text):
                found[url].append(f"{problem} in {text[:90]!r}")
        for href in lxml_html.fromstring(page).xpath("//a/@href"):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if _SKIP_PATH.search(parts.path):
                continue
            query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "lang"])
            queue.append(parts.path + (f"?{query}" if query else ""))
    return found


def _report(found: dict[str, list[str]]) -> str:
    lines = []
    for url, problems in sorted(found.items()):
        lines.append(url)
        lines += [f"    {p}" for p in dict.fromkeys(problems)]
    return "\n".join(lines)


ROLES = {
    "reader": (None, ["/", "/search?q=кітапхана", "/recent", "/collections", "/requests/new"]),
    "staff": ("staff", ["/staff/", "/staff/review/", "/staff/upload", "/staff/records/"]),
    "admin": ("admin", ["/admin/", "/admin/audit", "/admin/rights/", "/admin/reports/"]),
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_every_reachable_page_speaks_the_language(walked: Walked, role: str, lang: str) -> None:
    username, starts = ROLES[role]
    client = walked.app.test_client()
    if username:
        assert login(client, username).status_code == 302
    starts = [
        *starts,
        f"/documents/{walked.book_id}",
        f"/read/{walked.book_id}/1?q=кітапхана",
    ]
    if username:
        starts += [f"/staff/jobs/{walked.failed_job_id}", f"/documents/{walked.hidden_id}"]
    if username == "admin":
        starts += [f"/admin/rights/documents/{walked.hidden_id}", "/admin/reports/print"]
    found = walk(client, lang, starts)
    assert not found, f"{role} in {lang}: English or codes on {len(found)} page(s):\n" + _report(
        found
    )


def test_the_detector_finds_english_and_codes() -> None:
    """The detector itself: what it must catch and what it must let through."""
    assert problems_in("No page could be processed.") != []
    assert problems_in("Мұқанов, Сәбит [aut]") == ["code '[aut]'"]
    assert problems_in("Статус: not_public") == ["code 'not_public'"]
    assert problems_in("PDF, IIIF, OAI-PMH, MARC, RUSMARC, CSV, ISBN 978-601-7") == []
    assert problems_in("бет-1.png · 2,5 МБ · https://example.kz/a_b") == []
    assert problems_in("Жоспар: 7.78%") == ["decimal point '7.78%'"]
    assert problems_in("План: 7,78 % · 08.12.2026") == []
    assert problems_in("Договор 12/2024 (2024-01-10 – …)") == ["ISO date '2024-01-10'"]


@pytest.mark.parametrize(
    ("lang", "said"),
    [("ru", "номер договора 12/2024 уже занят"), ("kk", "12/2024 шарт нөмірі бұрыннан бар")],
)
def test_a_refused_contract_says_why_in_the_language(walked: Walked, lang: str, said: str) -> None:
    """The services refuse in English (CLI, logs); the form says it in the reader's language."""
    client = walked.app.test_client()
    assert login(client, "admin").status_code == 302
    flask_babel.refresh()
    page = client.post(
        f"/admin/rights/contracts/new?lang={lang}",
        data={"number": "12/2024", "starts_on": "2025-01-01", "status": "draft", "works": ""},
    ).get_data(as_text=True)
    flask_babel.refresh()
    assert said in page
    assert "already used" not in page
