"""The PDF's metadata follows the catalogue: re-stamped when a record is linked or changed.

A real worker on both stacks runs ``restamp_pdf`` sent after the commit that linked the record;
in-process tests check what sends it (and what does not), that the pages are left as they were
(no re-OCR), and that a second run changes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pikepdf
import pytest
from flask import Flask

from mura.app.core import queue, task_names
from mura.app.core.files import local_path
from mura.app.extensions import db
from mura.app.models import Document
from mura.app.modules.catalogue import pdf_stamp, records
from mura.app.modules.catalogue.marc_import import AgentData, RecordData, SubjectData
from mura.app.modules.rights import rights
from mura.app.modules.rights.rights import IN_COPYRIGHT, PUBLIC_DOMAIN_MARK
from tests.conftest import Stack
from tests.pdfa_helpers import pdfa_problems
from tests.synthetic import ingest_pages, render_pages, run_job

pytestmark = pytest.mark.timeout(600)


def _record(title: str, author: str, dates: str, keywords: tuple[str, ...] = ()) -> int:
    data = RecordData(
        flavour="",
        fields={"title": title, "doc_type": "book", "languages": ["kaz"], "publisher": "Өнер"},
        agents=[AgentData("person", author, "aut", dates)],
        subjects=[SubjectData("topic", k) for k in keywords],
    )
    record, _ = records.save_record(None, data)
    db.session.commit()
    return record.id


def _pdf_facts(document: Document) -> dict:
    with pikepdf.open(local_path(document.pdf_file)) as pdf:
        xmp = pdf.open_metadata()
        return {
            "Title": str(pdf.docinfo.get("/Title", "")),
            "Author": str(pdf.docinfo.get("/Author", "")),
            "Subject": str(pdf.docinfo.get("/Subject", "")),
            "Keywords": str(pdf.docinfo.get("/Keywords", "")),
            "dc:title": xmp.get("dc:title"),
            "dc:creator": xmp.get("dc:creator"),
            "dc:rights": xmp.get("dc:rights"),
            "WebStatement": xmp.get("xmpRights:WebStatement"),
            "Marked": xmp.get("xmpRights:Marked"),
            "pages": [page.Contents.read_raw_bytes() for page in pdf.pages],
        }


def test_linking_a_record_restamps_the_pdf_through_the_worker(stack: Stack, tmp_path: Path) -> None:
    [page] = render_pages(tmp_path / "pages", 1)
    [job] = stack.mura_json(
        "ingest", str(page), "--title", "Сканер 0042", "--type", "book", "--lang", "eng", "--wait"
    )
    assert job["status"] == "done", job
    document_id = job["document_id"]
    with stack.app.app_context():
        document = db.session.get(Document, document_id)
        first_pdf = document.pdf_file_id
        before = _pdf_facts(document)
        assert (before["Title"], before["Author"]) == ("Сканер 0042", "")
        assert before["WebStatement"] == IN_COPYRIGHT  # library-owned by the stack's default

        record_id = _record("Қарағанды тарихы", "Бөкейханов, Әлихан", "1866-1937", ("Тарих",))
        assert records.link_document(document_id, record_id)  # the task is sent on its commit
        document = _wait_for_new_pdf(document_id, first_pdf)
        after = _pdf_facts(document)
        assert after["Title"] == after["dc:title"] == "Қарағанды тарихы"
        assert after["Author"] == "Бөкейханов, Әлихан"
        assert after["dc:creator"] == ["Бөкейханов, Әлихан"]
        assert after["Keywords"] == "Тарих" and after["Subject"] == "Өнер"
        # The author died over 70 years ago: public domain once an administrator confirms it
        # (death dates only propose it), and then said in the PDF too.
        assert after["WebStatement"] == IN_COPYRIGHT
        linked_pdf = document.pdf_file_id
        rights.confirm_public_domain(document_id)
        document = _wait_for_new_pdf(document_id, linked_pdf)
        after = _pdf_facts(document)
        assert document.rights_uri == PUBLIC_DOMAIN_MARK
        assert after["WebStatement"] == PUBLIC_DOMAIN_MARK and after["Marked"] == "False"
        assert PUBLIC_DOMAIN_MARK in after["dc:rights"]
        # Metadata only: the pages (scan and text layer) are the very same.
        assert after["pages"] == before["pages"]
        assert document.page_count == 1

        # A change of the record's title re-stamps again.
        record = db.session.get(records.CatalogueRecord, record_id)
        data = RecordData(
            flavour="",
            fields={**{n: getattr(record, n) for n in records.RECORD_FIELDS}, "title": "Жаңа атау"},
            agents=[AgentData(a.kind, a.name, a.role, a.dates) for a in record.agents],
        )
        records.save_record(record, data)
        db.session.commit()
        records.after_documents_changed([document_id])
        second_pdf = document.pdf_file_id
        document = _wait_for_new_pdf(document_id, second_pdf)
        assert _pdf_facts(document)["Title"] == "Жаңа атау"
        db.session.remove()
        db.engine.dispose()


def _wait_for_new_pdf(document_id: int, old_pdf: int, timeout: float = 90) -> Document:
    """Wait for the worker to point the document at a new PDF."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        document = db.session.get(Document, document_id)
        if document.pdf_file_id != old_pdf:
            return document
        time.sleep(0.3)
    raise AssertionError(f"document {document_id}: no re-stamped PDF after {timeout} s")


# --- in-process ----------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, ...]]]:
    """The tasks sent after commits (the broker is outside the test)."""
    calls: list[tuple[str, tuple[int, ...]]] = []
    monkeypatch.setattr(queue, "send_now", lambda name, *args: calls.append((name, args)))
    return calls


def _ocred(tmp_path: Path, title: str = "Upload") -> int:
    job = ingest_pages(tmp_path / "pages", title, 1)
    run_job(job)
    return job.document_id


def test_what_sends_a_restamp_and_what_does_not(app: Flask, tmp_path: Path, sent) -> None:
    document_id = _ocred(tmp_path)
    assert (task_names.RESTAMP_PDF, (document_id,)) not in sent  # a new PDF is already right
    sent.clear()
    document = db.session.get(Document, document_id)
    document.review_comment = "looked at"
    db.session.commit()
    assert sent == []  # nothing the PDF says

    record_id = _record("Тарих", "Автор, А.", "1950-")
    records.link_document(document_id, record_id)
    assert sent.count((task_names.RESTAMP_PDF, (document_id,))) == 1  # once per transaction
    sent.clear()

    rights.set_mark(document_id, "public_domain", "1912 жылғы газет")  # the rights statement
    assert (task_names.RESTAMP_PDF, (document_id,)) in sent
    sent.clear()

    # A subject of the record (the PDF's keywords) changes: its documents are re-stamped.
    record = db.session.get(records.CatalogueRecord, record_id)
    record.subjects.append(records.RecordSubject(kind="topic", term="Өлкетану", position=9))
    db.session.commit()
    assert (task_names.RESTAMP_PDF, (document_id,)) in sent


def test_restamp_writes_only_metadata_and_is_idempotent(app: Flask, tmp_path: Path) -> None:
    from mura.workers import tasks

    document_id = _ocred(tmp_path, "Upload title")
    document = db.session.get(Document, document_id)
    before = _pdf_facts(document)
    assert tasks.restamp_pdf.run(document_id) == "unchanged"  # assembled from the same facts
    record_id = _record("Ақындар", "Абай, Құнанбайұлы", "1845-1904", ("Поэзия", "Әдебиет"))
    records.link_document(document_id, record_id)
    assert tasks.restamp_pdf.run(document_id) == "restamped"
    document = db.session.get(Document, document_id)
    stamped = document.pdf_file_id
    after = _pdf_facts(document)
    assert (after["Title"], after["Author"]) == ("Ақындар", "Абай, Құнанбайұлы")
    assert set(after["Keywords"].split("; ")) == {"Поэзия", "Әдебиет"}
    assert after["pages"] == before["pages"]
    assert pdfa_problems(local_path(document.pdf_file)) == []  # still what PDF/A-2b asks
    assert tasks.restamp_pdf.run(document_id) == "unchanged"  # a second delivery: nothing
    assert db.session.get(Document, document_id).pdf_file_id == stamped

    # Back to no record: the keywords and the author go from the PDF too, and the rights
    # statement follows the document's (library-owned by default here).
    records.link_document(document_id, None)
    assert tasks.restamp_pdf.run(document_id) == "restamped"
    final = _pdf_facts(db.session.get(Document, document_id))
    assert final["Keywords"] == "" and final["Title"] == "Ақындар"  # the derived title stays
    assert final["WebStatement"] == IN_COPYRIGHT and final["Marked"] == "True"


def test_restamp_of_nothing(app: Flask) -> None:
    assert pdf_stamp.restamp(12345) is None


def test_a_record_linked_during_assembly_is_stamped_when_it_ends(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No PDF yet when the record was linked, so no re-stamp was sent: assembly catches up."""
    from mura.workers import tasks

    job = ingest_pages(tmp_path / "pages", "Upload", 1)
    for page in job.pages:
        assert tasks.ocr_page.run(page.id) == "processed"
    build = tasks._build_pdf

    def build_then_link(job_row, work):  # the cataloguer links the record meanwhile
        out = build(job_row, work)
        record_id = _record("Кеш байланған", "Автор, Б.", "1990-")
        records.link_document(job_row.document_id, record_id)
        return out

    monkeypatch.setattr(tasks, "_build_pdf", build_then_link)
    assert tasks.assemble_pdf.run(job.id) == "assembled"
    document = db.session.get(Document, job.document_id)
    assert _pdf_facts(document)["Title"] == "Кеш байланған"


def test_mura_records_restamp_brings_stale_pdfs_up_to_the_catalogue(tmp_path: Path) -> None:
    """No worker ran the re-stamps sent (a lost message, PDFs from before): the command does."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT, _stack_env, make_app

    home = tmp_path / "home"
    app = make_app(home)
    with app.app_context():
        stale = _ocred(tmp_path / "a", "Stale")
        damaged = _ocred(tmp_path / "b", "Damaged")
        fresh = _ocred(tmp_path / "c", "Fresh")
        for document_id in (stale, damaged):
            records.link_document(document_id, _record("Каталог", "Автор, В.", "1950-"))
        path = local_path(db.session.get(Document, damaged).pdf_file)
        path.chmod(0o644)
        path.write_bytes(b"%PDF-1.7 rot")
        db.session.remove()
        db.engine.dispose()

    def restamp(*ids: int) -> tuple[int, dict]:
        done = subprocess.run(
            [sys.executable, "-m", "mura.app.cli", "records", "restamp", *map(str, ids), "--json"],
            env=_stack_env(home, {}), capture_output=True, text=True, timeout=300, cwd=ROOT,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    code, report = restamp()
    assert code == 1 and report["checked"] == 3 and report["restamped"] == [stale]
    assert list(report["failed"]) == [str(damaged)]
    assert restamp(stale, fresh) == (0, {"checked": 2, "restamped": [], "failed": {}})
    with app.app_context():
        assert _pdf_facts(db.session.get(Document, stale))["Title"] == "Каталог"
        db.engine.dispose()
