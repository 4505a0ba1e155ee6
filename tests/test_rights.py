"""Rights end to end: contracts publish and withdraw documents everywhere the public looks.

Search, OAI-PMH, the document page and its PDF URL, through the Flask test client and the real
beat task function (called with a moved clock), on an app whose unmarked documents are not
public (``DEFAULT_ACCESS="none"``, the production default).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import (
    AuditEvent,
    CatalogueRecord,
    Contract,
    Document,
    OaiTombstone,
    Page,
    RecordAgent,
    RightsHolder,
    ScanJob,
)
from mura.app.modules.discovery import discovery
from mura.app.modules.discovery import search as search_service
from mura.app.modules.rights import contracts, rights
from tests.auth_helpers import logged_in, make_user
from tests.conftest import make_app

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
WORD = "шахтерлер"
READING_ROOM = "10.20.0.0/16"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """Unmarked documents are not public here, and 10.20.x.x is the library's reading room."""
    application = make_app(
        tmp_path / "home", DEFAULT_ACCESS="none", READING_ROOM_NETWORKS=READING_ROOM
    )
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


# --- helpers (also used by test_contracts.py and test_rights_access.py) -------------------------


def pdf_bytes(marker: str = "") -> bytes:
    """A one-page PDF; ``marker`` is written into its info so a test can look for its bytes."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if marker:
        pdf.docinfo["/Title"] = marker
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_record(title: str, external_id: str, dates: str = "1950-") -> CatalogueRecord:
    """A catalogue record with one living author."""
    record = CatalogueRecord(
        title=title,
        external_id=external_id,
        agents=[RecordAgent(name="Әлімжанов, Серік", role="aut", dates=dates)],
    )
    db.session.add(record)
    db.session.commit()
    return record


def make_scanned_document(record: CatalogueRecord | None, text: str) -> Document:
    """A document as a finished scan job leaves it: a real PDF in the store, one OCR'd page."""
    document = Document(
        title=record.title if record else "Без записи",
        authors=["Әлімжанов, Серік"],
        doc_type="book",
        langs="kaz+rus",
        page_count=1,
        record=record,
        pdf_file=files.keep_stream(
            io.BytesIO(pdf_bytes()), "document_pdf", "d.pdf", "application/pdf"
        ),
    )
    job = ScanJob(document=document, langs="kaz+rus", status="done")
    db.session.add_all([document, job])
    db.session.flush()
    source = files.keep_stream(io.BytesIO(f"scan {document.id}".encode()), "scan", "p1.png")
    db.session.add(
        Page(job=job, document_id=document.id, seq=1, source_file=source, state="done", text=text)
    )
    db.session.commit()
    search_service.index_document(document.id)  # what the index_job task does
    return document


def holder(name: str = "Әлімжанов Серік Ахметұлы", **contacts: str) -> RightsHolder:
    return contracts.save_holder(None, {"name": name, "kind": "person", **contacts})


def sign(
    record: CatalogueRecord,
    number: str,
    grants: list[str],
    starts_on: date,
    ends_on: date | None,
    status: str = "active",
) -> Contract:
    """An active contract with one author for ``record``."""
    author = contracts.find_holder("Әлімжанов Серік Ахметұлы") or holder()
    data = contracts.ContractData(
        number=number,
        starts_on=starts_on,
        ends_on=ends_on,
        signed_on=starts_on,
        status=status,
        grants=grants,
        parties=[(author, "author")],
        works=[(record, record.title)],
    )
    return contracts.save_contract(None, data)


def found(client: FlaskClient, word: str = WORD) -> list[int]:
    """Document ids the public search finds."""
    results = discovery.search(word)
    page = client.get(f"/search?q={word}")
    assert page.status_code == 200
    return [hit.document_id for hit in results.hits]


def get_record(client: FlaskClient, document_id: int) -> etree._Element:
    response = client.get(
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:mura.local:document/{document_id}"
    )
    assert response.status_code == 200
    return etree.fromstring(response.data)


def oai_state(client: FlaskClient, document_id: int) -> str:
    """``live``, ``deleted`` or the OAI error code of GetRecord."""
    root = get_record(client, document_id)
    error = root.find(f"{OAI}error")
    if error is not None:
        return error.get("code")
    header = root.find(f".//{OAI}header")
    return "deleted" if header.get("status") == "deleted" else "live"


def status(client: FlaskClient, url: str, **kwargs: object) -> int:
    """The status of a GET, the response closed (a sent file is an open file)."""
    with client.get(url, **kwargs) as response:
        return response.status_code


def public_view(client: FlaskClient, document_id: int) -> dict:
    """What an anonymous reader gets from every public place, in one dict."""
    return {
        "page": client.get(f"/documents/{document_id}").status_code,
        "pdf": status(client, f"/documents/{document_id}/pdf"),
        "search": document_id in found(client),
        "oai": oai_state(client, document_id),
    }


# --- the story the issue asks for ----------------------------------------------------------------


def test_a_contract_that_expires_withdraws_the_document_and_a_new_one_brings_it_back(
    app: Flask, client: FlaskClient
) -> None:
    from mura.workers.tasks import check_rights

    today = rights.library_today()
    record = make_record("Қарағанды көмір бассейнінің тарихы", "KRG-000123")
    document = make_scanned_document(record, f"Көмір кеніштері мен {WORD} туралы очерк.")

    # No mark, no public domain, no contract: nothing is public.
    assert public_view(client, document.id) == {
        "page": 404, "pdf": 404, "search": False, "oai": "idDoesNotExist",
    }  # fmt: skip

    first = sign(record, "12/2024", ["digitize", "publish_online", "download"],
                 date(2024, 1, 1), today + timedelta(days=10))  # fmt: skip
    assert public_view(client, document.id) == {
        "page": 200, "pdf": 200, "search": True, "oai": "live",
    }  # fmt: skip
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert WORD in page and "http://rightsstatements.org/vocab/InC/1.0/" in page
    assert "12/2024" not in page  # the reason is for staff only
    rights_el = get_record(client, document.id).find(f".//{DC}rights")
    assert rights_el is not None and rights_el.text == rights.IN_COPYRIGHT

    # Within 30 days of its end the contract is on the dashboard; the day after, the beat task
    # (called as beat calls it, with the clock moved) expires it and withdraws the document.
    assert [c.number for c in contracts.contracts_ending(today)] == ["12/2024"]
    report = check_rights((today + timedelta(days=11)).isoformat())
    assert report["expired"] == ["12/2024"]
    assert report["changed"] == [
        {"document_id": document.id, "before": "online", "after": "not_public"}
    ]
    db.session.expire_all()
    assert db.session.get(Contract, first.id).status == "expired"
    assert public_view(client, document.id) == {
        "page": 404, "pdf": 404, "search": False, "oai": "deleted",
    }  # fmt: skip
    tombstone = db.session.scalar(
        select(OaiTombstone).where(OaiTombstone.document_id == document.id)
    )
    assert "contract 12/2024 ended on" in tombstone.reason
    # Nothing is deleted: the document, its PDF and the contract stay.
    assert db.session.get(Document, document.id).pdf_file_id is not None
    # A second run the same day changes nothing.
    assert check_rights((today + timedelta(days=11)).isoformat())["changed"] == []

    sign(record, "3/2026", ["digitize", "publish_online"], today, None)
    assert public_view(client, document.id) == {
        "page": 200, "pdf": 200, "search": True, "oai": "live",
    }  # fmt: skip
    # This contract allows reading online but not taking a copy away.
    assert status(client, f"/documents/{document.id}/pdf?download=1") == 403

    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("contract.create") == 2
    assert "contract.expire" in actions
    assert actions.count("document.access") == 3  # online, not public, online again


def test_reading_room_documents_show_their_record_and_serve_the_pdf_inside_the_library(
    app: Flask, client: FlaskClient
) -> None:
    record = make_record("Балқаш туралы", "KRG-RR-1")
    document = make_scanned_document(record, f"Балқаш {WORD} өмірі.")
    sign(record, "7/2025", ["digitize", "reading_room", "print"], date(2025, 1, 1), None)
    db.session.refresh(document)
    assert document.access == "reading_room"

    page = client.get(f"/documents/{document.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Балқаш туралы" in body and WORD not in body  # the record, not the text
    assert 'id="reading-room-only"' in body and "/pdf" not in body
    assert page.headers["Cache-Control"] == "private, no-store"
    assert status(client, f"/documents/{document.id}/pdf") == 404
    assert document.id not in found(client)  # its text is not in the public index
    assert oai_state(client, document.id) == "live"  # the description is harvested

    inside = app.test_client()
    inside.environ_base["REMOTE_ADDR"] = "10.20.3.4"
    assert WORD in inside.get(f"/documents/{document.id}").get_data(as_text=True)
    assert status(inside, f"/documents/{document.id}/pdf") == 200
    assert status(inside, f"/documents/{document.id}/pdf?download=1") == 403

    staff = logged_in(app, make_user("aigerim", "staff"))
    assert status(staff, f"/documents/{document.id}/pdf") == 200
    staff_page = staff.get(f"/documents/{document.id}").get_data(as_text=True)
    assert 'id="rights-reason"' in staff_page and "7/2025" in staff_page


def test_reading_room_address_comes_from_the_proxy_only_when_one_is_configured(
    tmp_path: Path,
) -> None:
    proxied = make_app(tmp_path / "p", DEFAULT_ACCESS="none", READING_ROOM_NETWORKS=READING_ROOM,
                       PROXY_COUNT=1)  # fmt: skip
    with proxied.app_context():
        record = make_record("Проксиден", "KRG-PX-1")
        document = make_scanned_document(record, "мәтін")
        sign(record, "8/2025", ["reading_room"], date(2025, 1, 1), None)
        client = proxied.test_client()
        headers = {"X-Forwarded-For": "10.20.9.9"}
        assert status(client, f"/documents/{document.id}/pdf", headers=headers) == 200
        db.session.remove()
        db.engine.dispose()
    direct = make_app(tmp_path / "d", DEFAULT_ACCESS="none", READING_ROOM_NETWORKS=READING_ROOM)
    with direct.app_context():
        record = make_record("Тікелей", "KRG-PX-2")
        document = make_scanned_document(record, "мәтін")
        sign(record, "9/2025", ["reading_room"], date(2025, 1, 1), None)
        client = direct.test_client()
        headers = {"X-Forwarded-For": "10.20.9.9"}  # anyone can send this header
        assert status(client, f"/documents/{document.id}/pdf", headers=headers) == 404
        db.session.remove()
        db.engine.dispose()


def test_marks_public_domain_and_the_authors_dates(app: Flask, client: FlaskClient) -> None:
    old = make_record("Абай жолы", "KRG-PD-1", dates="1897-1954")
    document = make_scanned_document(old, f"{WORD} ескі мәтін")
    db.session.refresh(document)
    # Died in 1954: public domain from 2025 on, proposed by the catalogue; an administrator
    # confirms it before the document opens (issue 18).
    assert document.access == "not_public"
    assert "died in 1954" in rights.status_of(document.id).proposal
    rights.confirm_public_domain(document.id)
    db.session.refresh(document)
    assert document.access == "online"
    assert document.rights_uri == rights.PUBLIC_DOMAIN_MARK
    assert "died in 1954" in document.access_reason

    other = make_scanned_document(make_record("Жаңа кітап", "KRG-PD-2"), "жаңа")
    assert client.get(f"/documents/{other.id}").status_code == 404
    with pytest.raises(rights.RightsError):
        rights.set_mark(other.id, "library_owned", "  ")  # a reason is required
    rights.set_mark(other.id, "library_owned", "written by the library's staff in 2021")
    assert client.get(f"/documents/{other.id}").status_code == 200
    rights.set_mark(other.id, "none", "the heirs asked us to stop")
    assert client.get(f"/documents/{other.id}").status_code == 404
    assert oai_state(client, other.id) == "deleted"
    marks = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "document.rights_mark")
    ).all()
    marks = [e for e in marks if e.object_id == str(other.id)]
    assert [e.details["after"]["mark"] for e in marks] == ["library_owned", "none"]
    assert marks[1].details["before"]["mark"] == "library_owned"


def test_linking_a_document_to_a_record_under_contract_publishes_it(
    app: Flask, client: FlaskClient
) -> None:
    from mura.app.modules.catalogue import records

    record = make_record("Шарттағы кітап", "KRG-LINK-1")
    sign(record, "10/2025", ["publish_online"], date(2025, 1, 1), None)
    document = make_scanned_document(None, f"{WORD} байланыс")
    assert client.get(f"/documents/{document.id}").status_code == 404
    records.link_document(document.id, record.id)
    assert client.get(f"/documents/{document.id}").status_code == 200
    assert document.id in found(client)
    records.link_document(document.id, None)
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert document.id not in found(client)


def test_new_documents_follow_default_access(tmp_path: Path) -> None:
    demo = make_app(tmp_path / "demo", DEFAULT_ACCESS="library_owned")
    with demo.app_context():
        document = make_scanned_document(None, "мәтін")
        assert document.access == "online"
        assert "DEFAULT_ACCESS" in document.access_reason
        db.session.remove()
        db.engine.dispose()
    strict = make_app(tmp_path / "strict", DEFAULT_ACCESS="nonsense")
    with strict.app_context():
        assert make_scanned_document(None, "мәтін").access == "not_public"
        db.session.remove()
        db.engine.dispose()


def test_rights_cli(app: Flask) -> None:
    import json

    from mura.app.cli import cli

    document = make_scanned_document(make_record("CLI кітабы", "KRG-CLI-1"), "мәтін")
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["rights", str(document.id), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["status"] == "not_public" and "no contract covers" in info["reason"]

    result = runner.invoke(cli, ["rights", str(document.id), "--set", "public_domain"])
    assert result.exit_code == 1 and "say why" in result.output
    result = runner.invoke(
        cli, ["rights", str(document.id), "--set", "public_domain", "--reason", "folk song"]
    )
    assert result.exit_code == 0, result.output
    assert "online" in result.output and "Public domain (marked): folk song" in result.output
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "document.rights_mark")
    ).one()
    assert event.details["via"] == "cli" and event.details["after"]["reason"] == "folk song"

    result = runner.invoke(cli, ["rights", "999"])
    assert result.exit_code == 1 and "no document 999" in result.output
    result = runner.invoke(cli, ["contracts", "refresh", "--today", "2030-01-01", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["today"] == "2030-01-01"
