"""The end of a life: discard a failed job, withdraw and restore, delete (issue 16 item 5).

Documents are real uploads of synthetic pages OCR'd by the real tasks in this process
(tests/synthetic.py); the public side is checked where the public meets it: the document URL
(410 Gone in the reader's language), the reader, IIIF, the search and OAI-PMH (validated by
the XSD, as tests/test_oai.py does).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from lxml import etree
from sqlalchemy import func, select, update

from mura.app.cli import cli
from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import (
    ArticleRegion,
    AuditEvent,
    Document,
    OaiTombstone,
    Page,
    ScanJob,
    StoredFile,
)
from mura.app.modules.administration.accounts import get_user
from mura.app.modules.digitization import lifecycle
from mura.app.modules.discovery import discovery, reader
from mura.app.modules.rights import rights
from tests.auth_helpers import branch, english, logged_in, make_user
from tests.catalogue_helpers import make_document, oai_schema
from tests.conftest import PG_ADMIN_URL, _drop_database, make_app
from tests.synthetic import ingest_pages, run_job

NS = {"oai": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """SQLite and PostgreSQL: deleting rows in the wrong order only fails where foreign keys
    are enforced at once (PostgreSQL)."""
    settings: dict[str, object] = {"DEFAULT_ACCESS": "public_domain"}
    name = None
    if request.param == "postgresql":
        psycopg = pytest.importorskip("psycopg")
        name = f"mura_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        settings["DATABASE_URL"] = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    application = make_app(tmp_path / "home", **settings)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    if name is not None:
        _drop_database(name)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return oai_schema()


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """Staff of "central" (where the uploads are made), staff of "b02", an administrator."""
    branch("central")
    branch("b02", central=False)
    make_user("staff-a", "staff", "central")
    make_user("staff-b", "staff", "b02")
    make_user("admin", "admin", None)
    return {n: english(logged_in(app, n)) for n in ("staff-a", "staff-b", "admin")}


def _upload(tmp_path: Path, title: str, pages: int = 2) -> ScanJob:
    return ingest_pages(tmp_path / title.replace(" ", "-"), title, pages, user=get_user("staff-a"))


def _failed(job: ScanJob, seqs: tuple[int, ...] | None = None) -> None:
    """The job ended with these pages failed (all: the whole job failed)."""
    for page in job.pages:
        if seqs is None or page.seq in seqs:
            page.state, page.error_code = "failed", "unreadable"
        else:
            page.state = "done"
    job.status = "failed" if seqs is None else "done"
    db.session.commit()


def _published(tmp_path: Path, title: str) -> int:
    job = _upload(tmp_path, title, 1)
    run_job(job)
    rights.refresh_rights([job.document_id])
    document = db.session.get(Document, job.document_id)
    assert document.status == "published" and document.access == "online"
    return document.id


def _shas(document_id: int) -> set[str]:
    rows = db.session.execute(
        select(Page.source_file_id, Page.pdf_file_id, Page.hocr_file_id, Page.text_file_id).where(
            Page.document_id == document_id
        )
    )
    ids = {i for row in rows for i in row if i}
    pdf = db.session.get(Document, document_id).pdf_file_id
    ids |= {pdf} if pdf else set()
    return set(db.session.scalars(select(StoredFile.sha256).where(StoredFile.id.in_(ids))))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _oai(app: Flask, schema: etree.XMLSchema, query: str) -> etree._Element:
    body = app.test_client().get(f"/oai?{query}").data
    doc = etree.fromstring(body)
    assert schema.validate(doc), schema.error_log
    return doc


def _found(word: str) -> set[int]:
    return {hit.document_id for hit in discovery.search(word, per_page=50).hits}


# --- discard a failed job -----------------------------------------------------------------------


def test_a_failed_job_is_discarded_by_its_branch_with_its_files(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    job = _upload(tmp_path, "Bad scans", 2)
    job_id, document_id = job.id, job.document_id
    shas = _shas(document_id)
    assert shas and all(files.get_store().exists(sha) for sha in shas)

    # Under way: nothing to discard.
    assert people["staff-a"].get(f"/staff/jobs/{job_id}/discard").status_code == 404
    _failed(job)
    # The job page offers it to its branch only.
    assert 'id="discard-job"' in people["staff-a"].get(f"/staff/jobs/{job_id}").get_data(True)
    assert 'id="discard-job"' not in people["staff-b"].get(f"/staff/jobs/{job_id}").get_data(True)
    assert (
        people["staff-b"].post(f"/staff/jobs/{job_id}/discard", data={"confirm": "y"}).status_code
        == 403
    )
    page = people["staff-a"].get(f"/staff/jobs/{job_id}/discard")
    assert page.status_code == 200 and "2 pages and their files" in page.get_data(True)
    # Not confirmed: nothing happens.
    assert people["staff-a"].post(f"/staff/jobs/{job_id}/discard", data={}).status_code == 400
    assert db.session.get(ScanJob, job_id) is not None

    response = people["staff-a"].post(
        f"/staff/jobs/{job_id}/discard", data={"confirm": "y", "reason": "wrong book"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ScanJob, job_id) is None
    assert db.session.get(Document, document_id) is None
    assert db.session.scalar(select(func.count()).select_from(Page)) == 0
    assert not any(files.get_store().exists(sha) for sha in shas)
    (event,) = _events("job.discard")
    assert event.username == "staff-a" and event.object_id == str(job_id)
    assert event.details["reason"] == "wrong book" and event.details["document_removed"] is True


def test_a_partly_failed_job_keeps_objects_other_rows_share(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    job = _upload(tmp_path, "Half bad", 2)
    # The same scans uploaded again: the store keeps one object for both uploads.
    again = _upload(tmp_path, "Half bad", 2)
    _failed(job, seqs=(2,))
    shas = _shas(job.document_id)
    removed = lifecycle.discard_job(job, get_user("staff-a"), "")
    assert removed.pages == 2 and removed.files == 0
    assert all(files.get_store().exists(sha) for sha in shas)  # still the other upload's
    assert db.session.get(ScanJob, again.id) is not None


# --- withdraw, restore --------------------------------------------------------------------------


def test_withdraw_takes_a_document_off_every_public_door_and_restore_brings_it_back(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], schema: etree.XMLSchema
) -> None:
    document_id = _published(tmp_path, "Withdrawn book")
    public = app.test_client()
    assert public.get(f"/documents/{document_id}").status_code == 200
    assert document_id in _found("Mura")
    before = _oai(app, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    identifier = before.findtext(".//oai:identifier", namespaces=NS)
    assert identifier.endswith(f"document/{document_id}")
    url = f"/staff/documents/{document_id}/withdraw"

    assert people["staff-a"].post(url, data={"reason": "x", "confirm": "y"}).status_code == 403
    refused = people["admin"].post(url, data={"reason": " ", "confirm": "y"})
    assert refused.status_code == 400 and "Give a reason" in refused.get_data(True)
    assert (
        people["admin"].post(url, data={"reason": "heirs object", "confirm": "y"}).status_code
        == 302
    )

    db.session.expire_all()
    assert db.session.get(Document, document_id).status == "withdrawn"
    assert public.get(f"/documents/{document_id}").status_code == 404
    assert public.get(f"/read/{document_id}").status_code == 404
    assert public.get(f"/iiif/{document_id}/manifest").status_code == 404
    assert document_id not in _found("Mura")
    header = _oai(app, schema, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}")
    assert header.find(".//oai:header", NS).get("status") == "deleted"
    listed = _oai(app, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    assert [h.get("status") for h in listed.findall(".//oai:header", NS)] == ["deleted"]
    (event,) = _events("document.withdraw")
    assert event.details["reason"] == "heirs object"
    assert event.details["previous_status"] == "published"

    job_id = db.session.scalar(select(ScanJob.id).where(ScanJob.document_id == document_id))
    job_page = people["admin"].get(f"/staff/jobs/{job_id}").get_data(as_text=True)
    assert 'data-status="withdrawn"' in job_page and 'id="restore-document"' in job_page
    assert 'id="withdraw-document"' not in job_page
    restore = people["admin"].post(f"/staff/documents/{document_id}/restore")
    assert restore.status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, document_id).status == "published"
    assert public.get(f"/documents/{document_id}").status_code == 200
    header = _oai(app, schema, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}")
    assert header.find(".//oai:header", NS).get("status") is None
    assert _events("document.restore")


# --- delete -------------------------------------------------------------------------------------


def test_deleting_a_public_document_leaves_410_and_a_tombstone(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], schema: etree.XMLSchema
) -> None:
    document_id = _published(tmp_path, "Deleted book")
    shas = _shas(document_id)
    (page_id,) = db.session.scalars(select(Page.id).where(Page.document_id == document_id))
    # The reader's page images, rendered once and cached (discovery/reader.py).
    width = reader.allowed_widths(db.session.get(Page, page_id))[0]
    image = app.test_client().get(f"/read/{document_id}/1/image/{width}.jpg")
    assert image.status_code == 200
    image.close()  # the file it streams
    cached = list((reader.cache_root() / "pages").glob(f"{page_id}-*"))
    assert cached
    url = f"/staff/documents/{document_id}/delete"
    # Staff may not delete what the public has seen, even of their own branch.
    assert people["staff-a"].get(url).status_code == 403
    assert people["admin"].get(url).status_code == 200
    response = people["admin"].post(url, data={"reason": "duplicate of 12", "confirm": "y"})
    assert response.status_code == 302

    public = app.test_client()
    for lang, words in (("ru", "Документ удалён"), ("kk", "Құжат жойылды")):
        refresh()  # the fixture's app context is shared by the requests: forget its locale
        gone = public.get(f"/documents/{document_id}?lang={lang}")
        assert gone.status_code == 410
        assert f'<html lang="{lang}">' in gone.get_data(True)
        assert words in gone.get_data(True)
    assert public.get(f"/read/{document_id}").status_code == 410
    assert public.get(f"/iiif/{document_id}/manifest").status_code == 410
    assert public.get("/documents/999999").status_code == 404  # never there: not "gone"
    assert document_id not in _found("Mura")
    assert not any(files.get_store().exists(sha) for sha in shas)
    assert not any(path.exists() for path in cached)
    tombstone = db.session.scalar(
        select(OaiTombstone).where(OaiTombstone.document_id == document_id)
    )
    assert tombstone.reason == "deleted: duplicate of 12"
    listed = _oai(app, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    (header,) = listed.findall(".//oai:header", NS)
    assert header.get("status") == "deleted"
    assert header.findtext("oai:identifier", namespaces=NS).endswith(f"document/{document_id}")
    (event,) = _events("document.delete")
    assert event.details["was_public"] is True and event.username == "admin"


def test_staff_delete_their_own_branchs_unpublished_documents_only(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], schema: etree.XMLSchema
) -> None:
    job = _upload(tmp_path, "Never public", 1)
    document_id = job.document_id
    url = f"/staff/documents/{document_id}/delete"
    assert people["staff-b"].get(url).status_code == 403
    no_reason = people["staff-a"].post(url, data={"confirm": "y"})
    assert no_reason.status_code == 400 and db.session.get(Document, document_id) is not None
    assert (
        people["staff-a"].post(url, data={"reason": "test scan", "confirm": "y"}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(Document, document_id) is None
    assert app.test_client().get(f"/documents/{document_id}").status_code == 404
    body = app.test_client().get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").data
    assert etree.fromstring(body).find("oai:error", NS).get("code") == "noRecordsMatch"


def test_an_issue_with_articles_cannot_be_deleted_until_they_are(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    job = _upload(tmp_path, "Issue 45", 1)
    issue_id = job.document_id
    db.session.execute(
        update(Document).where(Document.id == issue_id).values(doc_type="newspaper_issue")
    )
    article = make_document("Article", public=False, doc_type="newspaper_article")
    db.session.add(
        ArticleRegion(
            article_id=article.id,
            position=1,
            source_document_id=issue_id,
            source_page_id=job.pages[0].id,
            x=0,
            y=0,
            w=10,
            h=10,
            clip_x=0,
            clip_y=0,
        )
    )
    db.session.commit()
    article_id = article.id

    refused = people["admin"].post(
        f"/staff/documents/{issue_id}/delete", data={"reason": "x", "confirm": "y"}
    )
    assert refused.status_code == 400
    assert "1 article was clipped from this document: delete it first." in refused.get_data(True)
    _failed(job)
    assert (
        people["staff-a"].post(f"/staff/jobs/{job.id}/discard", data={"confirm": "y"}).status_code
        == 400
    )
    assert db.session.get(Document, issue_id) is not None

    ok = people["admin"].post(
        f"/staff/documents/{article_id}/delete", data={"reason": "wrong cut", "confirm": "y"}
    )
    assert ok.status_code == 302
    ok = people["admin"].post(
        f"/staff/documents/{issue_id}/delete", data={"reason": "bad issue", "confirm": "y"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, issue_id) is None
    assert db.session.scalar(select(func.count()).select_from(ArticleRegion)) == 0


def test_the_cli_withdraws_restores_and_deletes_as_an_administrator(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    """`mura documents …`: also for documents without a job page (a restored bag, the demo)."""
    document_id = make_document("Bag book").id  # listed: a PDF, published, no job
    runner = app.test_cli_runner()
    args = ["documents", "withdraw", str(document_id), "--reason", "rights unclear"]
    refused = runner.invoke(cli, [*args, "--user", "staff-a"])
    assert refused.exit_code == 2 and "Only an administrator" in refused.output
    done = runner.invoke(cli, [*args, "--user", "admin"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert db.session.get(Document, document_id).status == "withdrawn"
    back = runner.invoke(cli, ["documents", "restore", str(document_id), "--user", "admin"])
    assert back.exit_code == 0 and "published" in back.output
    delete = ["documents", "delete", str(document_id), "--reason", "duplicate", "--user", "admin"]
    assert runner.invoke(cli, delete, input="n\n").exit_code == 1  # not confirmed
    assert runner.invoke(cli, [*delete, "--yes"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Document, document_id) is None
    assert app.test_client().get(f"/documents/{document_id}").status_code == 410
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-3:] == ["document.withdraw", "document.restore", "document.delete"]
