"""Issue 18, finding 1: staff publish nothing on their own, and change only their branch's work.

Two branches: "central" (staff ``staff-a``) and "b02" (staff ``staff-b``), a reviewer and an
administrator. The documents here belong to "b02" (their scan job's branch), are published and,
with ``DEFAULT_ACCESS=none``, not public until something gives them rights. Review is on, as a
library runs Mura.

The last test walks every state-changing route under ``/staff``, ``/admin`` and ``/api`` found
in ``app.url_map``: a route added later is walked too, and is expected to refuse another
branch's staff unless it is listed in :data:`NOT_BRANCH_BOUND` with the reason why.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pymarc
import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import (
    AuditEvent,
    Branch,
    CatalogueRecord,
    Collection,
    Document,
    Page,
    RecordAgent,
    ScanJob,
)
from mura.app.modules.rights import rights
from tests.auth_helpers import branch, logged_in, make_user
from tests.catalogue_helpers import field, marcxml
from tests.conftest import make_app

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFIXES = ("/staff", "/admin", "/api")
#: State-changing staff routes that act on no branch's object, and why. Everything else under
#: /staff must answer 403 to staff of another branch.
NOT_BRANCH_BOUND = {
    "staff.upload": "creates a document of the uploader's own branch",
    "staff_records.new": "creates a record (the shared catalogue)",
    "staff_records.import_file": "per record: records of other branches' documents are "
    "reported and left unchanged (test_import_leaves_other_branches_records_alone)",
    "staff_collections.new": "creates a collection; the form refuses another branch's name",
    "staff_requests.set_status": "readers' copy requests belong to the library system",
    "staff_requests.link": "readers' copy requests belong to the library system",
    "staff_requests.scan": "readers' copy requests belong to the library system",
}


#: Routes that declare their roles (``allow_roles``) and still refuse another branch's staff.
DECLARED_AND_BRANCH_BOUND = frozenset({"staff_lifecycle.discard", "staff_lifecycle.delete"})
#: Routes the document's own branch may not use on these (published) documents, and why.
NOT_FOR_PUBLISHED = {
    "staff_lifecycle.delete": "staff delete only their branch's documents the public never "
    "saw; a published one is an administrator's to delete (digitization/lifecycle.py)",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """Review on, and no document public without rights (as ``tests/test_rights.py``)."""
    application = make_app(tmp_path / "home", DEFAULT_ACCESS="none", REVIEW_REQUIRED=True)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """Logged-in clients of both branches, a reviewer, an administrator."""
    branch("central")
    branch("b02", central=False)
    make_user("staff-a", "staff", "central")
    make_user("staff-b", "staff", "b02")
    make_user("reviewer", "reviewer", None)
    make_user("admin", "admin", None)
    return {name: logged_in(app, name) for name in ("staff-a", "staff-b", "reviewer", "admin")}


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def published_document(code: str = "b02", title: str = "Ескі қолжазба") -> Document:
    """A finished, published document of branch ``code``: PDF, one page with its own PDF."""
    home = db.session.scalar(select(Branch).where(Branch.code == code))
    pdf = files.keep_stream(io.BytesIO(_pdf()), "document_pdf", "d.pdf", "application/pdf")
    document = Document(
        title=title, authors=[], doc_type="book", langs="kaz", page_count=1, pdf_file=pdf
    )
    job = ScanJob(document=document, langs="kaz", status="done", branch_id=home.id)
    db.session.add_all([document, job])
    db.session.flush()
    source = files.keep_stream(io.BytesIO(f"scan {document.id}".encode()), "scan", "p1.png")
    page_pdf = files.keep_stream(io.BytesIO(_pdf()), "page_pdf", "p1.pdf", "application/pdf")
    db.session.add(
        Page(job=job, document_id=document.id, seq=1, source_file=source, pdf_file=page_pdf,
             state="done", text="мәтін")
    )  # fmt: skip
    document.status = "published"
    db.session.commit()
    return document


def old_record_xml(external_id: str = "PD-1850") -> bytes:
    """MARCXML of a book whose only author died in 1900: public domain by the dates."""
    record = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    record.add_field(pymarc.Field(tag="001", data=external_id))
    record.add_field(field("100", "1 ", a="Ескі, Автор,", d="1850-1900"))
    record.add_field(field("245", "10", a="Ескі кітап"))
    return marcxml(record)


def import_record(client: FlaskClient, data: bytes) -> CatalogueRecord:
    response = client.post(
        "/staff/records/import",
        data={"fmt": "marcxml", "flavour": "marc21", "encoding": "",
              "file": (io.BytesIO(data), "records.xml")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    return db.session.scalar(
        select(CatalogueRecord).where(CatalogueRecord.external_id == "PD-1850")
    )


def pdf_status(document_id: int) -> int:
    response = current_app.test_client().get(f"/documents/{document_id}/pdf")
    response.close()
    return response.status_code


def fresh(document: Document) -> Document:
    db.session.expire_all()
    return db.session.get(Document, document.id)


# --- rights decided by catalogue data ------------------------------------------------------------


def test_staff_of_another_branch_cannot_attach_a_document_to_their_record(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    """The penetration test: staff A's record with 100 $d 1850-1900 on branch B's document."""
    document = published_document()
    assert pdf_status(document.id) == 404
    record = import_record(people["staff-a"], old_record_xml())
    response = people["staff-a"].post(
        f"/staff/records/{record.id}/documents", data={"document_id": document.id}
    )
    assert response.status_code == 403
    assert fresh(document).record_id is None
    assert pdf_status(document.id) == 404


def test_catalogue_dates_only_propose_the_public_domain(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    """Even the document's own staff cannot open it with a record's death dates."""
    document = published_document()
    record = import_record(people["staff-b"], old_record_xml())
    response = people["staff-b"].post(
        f"/staff/records/{record.id}/documents", data={"document_id": document.id}
    )
    assert response.status_code == 302
    document = fresh(document)
    assert document.record_id == record.id
    assert document.access == "not_public"
    assert "waiting for an administrator" in document.access_reason
    assert pdf_status(document.id) == 404
    proposal = rights.status_of(document.id).proposal
    assert "died in 1900" in proposal
    # The administrator's rights screen shows the proposal and the button to confirm it.
    page = people["admin"].get(f"/admin/rights/documents/{document.id}").get_data(as_text=True)
    assert 'id="rights-proposal"' in page and "died in 1900" in page
    assert 'id="confirm-public-domain"' in page
    # ... and the rights dashboard lists what waits for confirmation.
    page = people["admin"].get("/admin/rights/").get_data(as_text=True)
    assert 'id="public-domain-proposals"' in page and f"{document.id}. Ескі кітап" in page


def test_an_administrator_confirms_the_proposal_and_it_is_audited(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    record = CatalogueRecord(
        title="Ескі кітап", agents=[RecordAgent(name="Ескі, Автор", role="aut", dates="1850-1900")]
    )
    db.session.add(record)
    db.session.commit()
    people["staff-b"].post(
        f"/staff/records/{record.id}/documents", data={"document_id": document.id}
    )
    # Staff may not confirm; the route is for administrators.
    assert (
        people["staff-b"].post(f"/admin/rights/documents/{document.id}/confirm").status_code == 403
    )
    assert fresh(document).access == "not_public"
    response = people["admin"].post(f"/admin/rights/documents/{document.id}/confirm")
    assert response.status_code == 302
    document = fresh(document)
    assert document.access == "online"
    assert document.rights_uri == rights.PUBLIC_DOMAIN_MARK
    assert "Confirmed: Public domain: the author died in 1900" in document.access_reason
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "document.rights_confirm")
    )
    assert event is not None and event.username == "admin"
    assert "died in 1900" in event.details["proposal"]
    # The link changed a published document's description: it waits for approval, then opens.
    assert document.status == "reviewed"
    assert pdf_status(document.id) == 404
    people["reviewer"].post(f"/staff/review/documents/{document.id}/approve")
    assert fresh(document).status == "published"
    assert pdf_status(document.id) == 200
    # Nothing to confirm any more: a clear message, nothing changed.
    response = people["admin"].post(f"/admin/rights/documents/{document.id}/confirm")
    assert response.status_code == 302


# --- own branch only -----------------------------------------------------------------------------


def test_collections_of_another_branch_are_refused(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    theirs = Collection(slug="b02-books", title="B02 books", branch="b02")
    db.session.add(theirs)
    db.session.commit()
    document.collection_id, document.collection_position = theirs.id, 1
    db.session.commit()
    staff_a = people["staff-a"]
    edit = {"slug": "b02-books", "title": "Taken over", "branch": "central"}
    assert staff_a.post(f"/staff/collections/{theirs.id}/edit", data=edit).status_code == 403
    assert staff_a.post(f"/staff/collections/{theirs.id}/order", data={}).status_code == 403
    remove = f"/staff/collections/{theirs.id}/documents/{document.id}/remove"
    assert staff_a.post(remove).status_code == 403
    add = f"/staff/collections/{theirs.id}/documents"
    assert staff_a.post(add, data={"document_id": document.id}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Collection, theirs.id).title == "B02 books"
    assert fresh(document).collection_id == theirs.id
    page = staff_a.get(f"/staff/collections/{theirs.id}").get_data(as_text=True)
    assert 'id="other-branch"' in page and remove not in page and f'action="{add}"' not in page
    # Nor may staff name another branch as the owner of a collection of theirs.
    response = staff_a.post(
        "/staff/collections/new", data={"slug": "mine", "title": "Mine", "branch": "b02"}
    )
    assert response.status_code == 400
    assert "another branch keeps its own collections" in response.get_data(as_text=True)
    # Their own staff may.
    assert people["staff-b"].post(remove).status_code == 302
    assert fresh(document).collection_id is None


def test_removing_from_a_collection_that_does_not_exist_is_404(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    mine = Collection(slug="b02", title="B02", branch="b02")
    db.session.add(mine)
    db.session.commit()
    document.collection_id = mine.id
    db.session.commit()
    response = people["staff-b"].post(f"/staff/collections/999/documents/{document.id}/remove")
    assert response.status_code == 404
    # Nor a document that is not in the collection.
    other = published_document(title="Басқа")
    response = people["staff-b"].post(f"/staff/collections/{mine.id}/documents/{other.id}/remove")
    assert response.status_code == 404
    assert fresh(document).collection_id == mine.id


def test_records_of_another_branchs_documents_are_theirs(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    record = CatalogueRecord(title="B02 record")
    db.session.add(record)
    db.session.commit()
    assert (
        people["staff-b"]
        .post(f"/staff/records/{record.id}/documents", data={"document_id": document.id})
        .status_code
        == 302
    )
    staff_a = people["staff-a"]
    form = {"doc_type": "book", "title": "Renamed by another branch"}
    assert staff_a.post(f"/staff/records/{record.id}/edit", data=form).status_code == 403
    assert staff_a.post(f"/staff/records/{record.id}/delete").status_code == 403
    detach = f"/staff/records/{record.id}/documents/{document.id}/detach"
    assert staff_a.post(detach).status_code == 403
    assert fresh(document).record_id == record.id
    assert db.session.get(CatalogueRecord, record.id).title == "B02 record"
    # The record's page shows them no button that would answer 403, and says why.
    page = staff_a.get(f"/staff/records/{record.id}").get_data(as_text=True)
    assert 'id="other-branch"' in page and detach not in page
    assert f"/staff/records/{record.id}/edit" not in page
    page = people["staff-b"].get(f"/staff/records/{record.id}").get_data(as_text=True)
    assert 'id="other-branch"' not in page and detach in page


def test_import_leaves_other_branches_records_alone(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    record = CatalogueRecord(title="B02 record", external_id="PD-1850")
    db.session.add(record)
    db.session.commit()
    document.record_id = record.id
    db.session.commit()
    response = people["staff-a"].post(
        "/staff/records/import",
        data={"fmt": "marcxml", "flavour": "marc21", "encoding": "",
              "file": (io.BytesIO(old_record_xml()), "records.xml")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 200
    assert "describes another branch's documents" in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(CatalogueRecord, record.id).title == "B02 record"
    assert db.session.get(CatalogueRecord, record.id).agents == []


# --- published documents: changes wait for review -----------------------------------------------


def test_a_published_documents_new_description_waits_for_approval(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    rights.set_mark(document.id, "library_owned", "written by the library's staff")
    record = CatalogueRecord(title="Бірінші атау")
    db.session.add(record)
    db.session.commit()
    document.record_id = record.id
    db.session.commit()
    assert pdf_status(document.id) == 200
    form = {"doc_type": "book", "title": "Екінші атау"}
    response = people["staff-b"].post(f"/staff/records/{record.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    document = fresh(document)
    assert document.title == "Екінші атау"
    assert document.status == "reviewed"  # checked by staff, waiting for a reviewer
    assert pdf_status(document.id) == 404
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "document.changed_after_publication")
    )
    assert event is not None and event.username == "staff-b"
    # OAI-PMH tells harvesters it is gone for now.
    oai = app.test_client().get(
        "/oai?verb=GetRecord&metadataPrefix=oai_dc"
        f"&identifier=oai:mura.local:document/{document.id}"
    )
    assert b'status="deleted"' in oai.data
    # A reviewer approves: public again, with the new description.
    people["reviewer"].post(f"/staff/review/documents/{document.id}/approve")
    assert fresh(document).status == "published"
    assert pdf_status(document.id) == 200
    # An administrator's own change needs no second approval.
    form["title"] = "Үшінші атау"
    people["admin"].post(f"/staff/records/{record.id}/edit", data=form)
    assert fresh(document).status == "published"


# --- one read rule ------------------------------------------------------------------------------


def test_staff_read_every_branchs_documents_the_same_way(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    document = published_document()
    page = db.session.scalar(select(Page).where(Page.document_id == document.id))
    staff_a = people["staff-a"]
    for url in (f"/staff/pages/{page.id}/pdf", f"/documents/{document.id}/pdf"):
        response = staff_a.get(url)
        response.close()
        assert response.status_code == 200, url
    # The job page offers them nothing to change (retry, OCR again are the branch's).
    job_page = f"/staff/jobs/{page.job_id}"
    assert 'class="reocr"' not in staff_a.get(job_page).get_data(as_text=True)
    assert 'class="reocr"' in people["staff-b"].get(job_page).get_data(as_text=True)
    # ... and the rule is the service's, for every role.
    from mura.app.modules.administration import permissions
    from mura.app.modules.administration.accounts import get_user

    assert permissions.can_read(get_user("staff-a"), document)
    assert not permissions.can_edit(get_user("staff-a"), document)
    assert permissions.can_edit(get_user("staff-b"), document)
    assert permissions.can_edit(get_user("admin"), document)
    assert not permissions.can_edit(get_user("reviewer"), document)


# --- route × role × branch ----------------------------------------------------------------------


def _state_changing_rules(app: Flask) -> list:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.methods & STATE_CHANGING
            and any(rule.rule == p or rule.rule.startswith(p + "/") for p in PREFIXES)
        ),
        key=lambda rule: rule.rule,
    )


def _world(app: Flask) -> dict[str, object]:
    """Objects of branch "b02" for every URL argument (and a form body for the routes)."""
    document = published_document()
    record = CatalogueRecord(title="B02 record")
    collection = Collection(slug="b02-books", title="B02 books", branch="b02")
    db.session.add_all([record, collection])
    db.session.commit()
    document.record_id, document.collection_id, document.collection_position = (
        record.id, collection.id, 1,
    )  # fmt: skip
    db.session.commit()
    job = db.session.scalar(select(ScanJob).where(ScanJob.document_id == document.id))
    return {
        "document_id": document.id,
        "job_id": job.id,
        "page_id": job.pages[0].id,
        "record_id": record.id,
        "collection_id": collection.id,
        "request_id": 1,
        "user_id": 1,
        "branch_id": 1,
        "contract_id": 1,
        "holder_id": 1,
        "lang": "kk",
    }


def _snapshot(values: dict[str, object]) -> tuple:
    """What the refused requests must leave as it was: the b02 objects' state."""
    db.session.expire_all()
    document = db.session.get(Document, values["document_id"])
    page = db.session.get(Page, values["page_id"])
    return (
        document.status, document.record_id, document.collection_id, document.title,
        document.access, page.text_corrected, page.state,
        db.session.get(CatalogueRecord, values["record_id"]).title,
        db.session.get(Collection, values["collection_id"]).title,
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
    )  # fmt: skip


def _expected(who: str, endpoint: str, path: str, app: Flask) -> str:
    """``login``, ``forbidden`` or ``allowed`` for ``who`` on a state-changing route."""
    if who == "anonymous":
        return "login"
    if who == "admin":
        return "allowed"
    if path.startswith("/admin"):
        return "forbidden"
    declared = getattr(app.view_functions[endpoint], "_mura_roles", None)
    if declared is not None and (
        who.split("-")[0] not in declared or endpoint not in DECLARED_AND_BRANCH_BOUND
    ):
        return "allowed" if who.split("-")[0] in declared else "forbidden"
    if who == "reviewer":
        return "forbidden"
    if who == "staff-a" and endpoint not in NOT_BRANCH_BOUND:
        return "forbidden"  # another branch's object
    if endpoint in NOT_FOR_PUBLISHED:
        return "forbidden"
    return "allowed"


def test_every_state_changing_route_refuses_another_branchs_staff(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a view's own bug is a 500, not an access leak
    values = _world(app)
    rules = _state_changing_rules(app)
    assert len(rules) >= 30  # the walk really walks (40 POST routes at the time of writing)
    clients = {"anonymous": app.test_client(), **people}
    body = {"document_id": str(values["document_id"]), "pages": "1", "text": "x"}
    wrong, walked = [], 0
    # Staff of the other branch, readers and anonymous visitors first: nothing they send may
    # change the world the owners and the administrator then act on.
    before = _snapshot(values)
    for who in ("anonymous", "reviewer", "staff-a", "staff-b", "admin"):
        if who == "staff-b":
            assert _snapshot(values) == before  # the refused requests changed nothing
        for rule in rules:
            missing = set(rule.arguments) - set(values)
            assert not missing, f"{rule.rule}: give {missing} a value of branch b02 in _world()"
            url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
            for method in sorted(rule.methods & STATE_CHANGING):
                response = clients[who].open(url, method=method, data=body)
                response.close()
                walked += 1
                location = response.headers.get("Location", "")
                outcome = (
                    "login"
                    if response.status_code == 401
                    or (response.status_code == 302 and "/login" in location)
                    else "forbidden"
                    if response.status_code == 403
                    else "allowed"
                )
                want = _expected(who, rule.endpoint, url, app)
                if outcome != want or response.status_code >= 500:
                    wrong.append(f"{who:>9} {method} {url} → {response.status_code}, want {want}")
    assert wrong == [], "\n" + "\n".join(wrong)
    assert walked == 5 * sum(len(r.methods & STATE_CHANGING) for r in rules)
