"""The document workflow with review required (the product default): scanned → OCR done →
reviewed → published, or returned with a comment.

Documents are real uploads of tiny synthetic pages (tests/synthetic.py), OCR'd, assembled and
indexed by the real tasks run in this process; the tasks the web requests send after their
commit (re-indexing) are caught at the broker's door and run here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import AuditEvent, Document, ScanJob
from mura.app.modules.digitization import workflow
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest
from mura.app.modules.discovery import discovery
from mura.workers import tasks
from tests.auth_helpers import branch, english, logged_in, make_user
from tests.conftest import make_app
from tests.synthetic import ingest_pages, render_pages, run_job


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app with review required, as a library runs it (the other tests turn it off)."""
    application = make_app(tmp_path / "home", REVIEW_REQUIRED=True)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple]]:
    """Tasks sent after a commit, caught instead of reaching the (worker-less) broker."""
    caught: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        "mura.app.core.queue.send_now", lambda name, *args: caught.append((name, args))
    )
    return caught


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """Logged-in clients: staff of "central" (where the documents are made), staff of "b02",
    a reviewer and an administrator."""
    branch("central")
    branch("b02", central=False)
    make_user("staff-a", "staff", "central")
    make_user("staff-b", "staff", "b02")
    make_user("reviewer", "reviewer", None)
    make_user("admin", "admin", None)
    return {name: logged_in(app, name) for name in ("staff-a", "staff-b", "reviewer", "admin")}


def scanned(app: Flask, tmp_path: Path, title: str = "Workflow book", pages: int = 2) -> int:
    """Upload synthetic pages as staff of "central" and run the real OCR tasks in-process."""
    from mura.app.modules.administration.accounts import get_user

    folder = tmp_path / f"scans-{title.replace(' ', '-')}"
    job = ingest_pages(folder, title, pages, user=get_user("staff-a"))
    assert job.document.status == "scanned"
    run_job(job)
    return job.document_id


def run_sent(sent: list[tuple[str, tuple]]) -> None:
    """Run the caught re-indexing tasks, as the worker's ``index`` queue would."""
    while sent:
        name, args = sent.pop(0)
        if name == "mura.workers.tasks.reindex_document":
            tasks.reindex_document.run(*args)


def status(document_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Document, document_id).status


def job_of(document_id: int) -> int:
    return db.session.scalar(select(ScanJob.id).where(ScanJob.document_id == document_id))


def actions(document_id: int) -> list[tuple[str, str]]:
    """(action, user name) of the document's workflow events, oldest first."""
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.username)
        .where(AuditEvent.object_type == "document", AuditEvent.object_id == str(document_id))
        .where(AuditEvent.action.in_(("document.ocr_done", "document.submit",
                                       "document.publish", "document.return")))
        .order_by(AuditEvent.id)
    )  # fmt: skip
    return [tuple(row) for row in rows]


def publicly_found(app: Flask, document_id: int, word: str = "Mura") -> list[int]:
    """Page numbers of ``document_id`` the public search finds for ``word``."""
    hits = discovery.search(word, per_page=50).hits
    return [p for hit in hits if hit.document_id == document_id for p in hit.pages]


def oai_headers(app: Flask) -> str:
    response = english(app.test_client()).get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc")
    return response.get_data(as_text=True)


def post(client: FlaskClient, url: str, **data: str):
    return client.post(url, data=data)


# --- the whole way ---------------------------------------------------------------------------


def test_upload_is_checked_approved_and_only_then_public(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], sent: list
) -> None:
    document_id = scanned(app, tmp_path)
    assert status(document_id) == "ocr_done"
    anonymous = english(app.test_client())

    # OCR done: staff see it in their queue and on the job page; the public sees nothing.
    assert anonymous.get(f"/documents/{document_id}").status_code == 404
    assert anonymous.get(f"/read/{document_id}").status_code == 404
    assert publicly_found(app, document_id) == []
    assert "Workflow book" not in anonymous.get("/search?q=Mura").get_data(as_text=True)
    assert "noRecordsMatch" in oai_headers(app)
    queue = people["staff-a"].get("/staff/review/").get_data(as_text=True)
    assert 'id="to-check"' in queue and "Workflow book" in queue
    job_page = people["staff-a"].get(f"/staff/jobs/{job_of(document_id)}").get_data(as_text=True)
    assert 'id="wf-submit"' in job_page and "OCR done, to be checked" in job_page
    assert 'id="wf-approve"' not in job_page
    # Staff read it before it is public (that is how they check it).
    assert people["staff-a"].get(f"/documents/{document_id}").status_code == 200

    # Staff checked it: sent for approval, still not public.
    response = post(people["staff-a"], f"/staff/review/documents/{document_id}/submit")
    assert response.status_code == 302
    assert status(document_id) == "reviewed"
    assert anonymous.get(f"/documents/{document_id}").status_code == 404
    run_sent(sent)
    assert publicly_found(app, document_id) == []

    # The reviewer sees it waiting, with the button, and approves: published and searchable.
    queue = people["reviewer"].get("/staff/review/").get_data(as_text=True)
    assert 'id="to-approve"' in queue and "Workflow book" in queue
    job_page = people["reviewer"].get(f"/staff/jobs/{job_of(document_id)}").get_data(as_text=True)
    assert 'id="wf-approve"' in job_page and 'id="wf-submit"' not in job_page
    response = post(people["reviewer"], f"/staff/review/documents/{document_id}/approve")
    assert response.status_code == 302
    assert status(document_id) == "published"
    assert ("mura.workers.tasks.reindex_document", (document_id,)) in sent
    run_sent(sent)
    assert anonymous.get(f"/documents/{document_id}").status_code == 200
    assert publicly_found(app, document_id, "page") == [1, 2]
    assert "Workflow book" in anonymous.get("/search?q=Mura").get_data(as_text=True)
    assert "noRecordsMatch" not in oai_headers(app)

    document = db.session.get(Document, document_id)
    assert document.checked_by.username == "staff-a"
    assert document.published_by.username == "reviewer"
    assert actions(document_id) == [
        ("document.ocr_done", ""),
        ("document.submit", "staff-a"),
        ("document.publish", "reviewer"),
    ]


def test_returned_with_comment_then_sent_again(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], sent: list
) -> None:
    document_id = scanned(app, tmp_path)
    post(people["staff-a"], f"/staff/review/documents/{document_id}/submit")

    # A return needs a comment.
    response = post(
        people["reviewer"], f"/staff/review/documents/{document_id}/return", comment=" "
    )
    assert response.status_code == 302
    assert status(document_id) == "reviewed"
    assert "a comment is required" in people["reviewer"].get("/staff/review/").get_data(
        as_text=True
    )

    comment = "Page 2: the date is misread, correct it"
    post(people["reviewer"], f"/staff/review/documents/{document_id}/return", comment=comment)
    assert status(document_id) == "returned"
    document = db.session.get(Document, document_id)
    assert document.review_comment == comment and document.returned_by.username == "reviewer"

    # Staff of the branch see it returned, with the comment, in their queue and on the job page.
    queue = people["staff-a"].get("/staff/review/").get_data(as_text=True)
    assert 'id="returned"' in queue and "the date is misread" in queue
    job_page = people["staff-a"].get(f"/staff/jobs/{job_of(document_id)}").get_data(as_text=True)
    assert 'id="review-comment"' in job_page and "the date is misread" in job_page
    assert "returned to staff" in job_page

    post(people["staff-a"], f"/staff/review/documents/{document_id}/submit")
    assert status(document_id) == "reviewed"
    post(people["reviewer"], f"/staff/review/documents/{document_id}/approve")
    assert status(document_id) == "published"
    assert [a for a, _ in actions(document_id)] == [
        "document.ocr_done", "document.submit", "document.return",
        "document.submit", "document.publish",
    ]  # fmt: skip
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(document_id)).order_by(AuditEvent.id)
    ).all()
    returned = next(e for e in events if e.action == "document.return")
    assert returned.details["comment"] == comment and returned.details["unpublished"] is False
    resubmitted = [e.details["resubmitted"] for e in events if e.action == "document.submit"]
    assert resubmitted == [False, True]


def test_who_may_do_what(app: Flask, tmp_path: Path, people: dict[str, FlaskClient]) -> None:
    document_id = scanned(app, tmp_path)
    submit = f"/staff/review/documents/{document_id}/submit"
    approve = f"/staff/review/documents/{document_id}/approve"
    back = f"/staff/review/documents/{document_id}/return"

    # Staff of another branch do not check this branch's documents; reviewers do not either.
    assert post(people["staff-b"], submit).status_code == 403
    assert post(people["reviewer"], submit).status_code == 403
    assert status(document_id) == "ocr_done"
    # Staff do not approve nor return, not even their own branch's.
    post(people["staff-a"], submit)
    assert post(people["staff-a"], approve).status_code == 403
    assert post(people["staff-a"], back, comment="no").status_code == 403
    assert post(people["staff-b"], approve).status_code == 403
    assert status(document_id) == "reviewed"
    # Administrators may do everything.
    assert post(people["admin"], back, comment="Check the title").status_code == 302
    assert post(people["admin"], submit).status_code == 302
    assert post(people["admin"], approve).status_code == 302
    assert status(document_id) == "published"


def test_illegal_moves_say_why(app: Flask, tmp_path: Path, people: dict[str, FlaskClient]) -> None:
    from mura.app.modules.administration.accounts import get_user

    staff, reviewer = get_user("staff-a"), get_user("reviewer")
    document_id = scanned(app, tmp_path)
    document = db.session.get(Document, document_id)
    with pytest.raises(workflow.WorkflowError, match="sent for approval can be approved"):
        workflow.approve(document, reviewer)
    with pytest.raises(workflow.WorkflowError, match="It is now: OCR done, to be checked"):
        workflow.return_document(document, reviewer, "why")
    with pytest.raises(workflow.WorkflowError, match="Only a reviewer"):
        workflow.approve(document, staff)
    workflow.submit(document, staff)
    with pytest.raises(workflow.WorkflowError, match="OCR is done or that was returned"):
        workflow.submit(document, staff)
    with pytest.raises(workflow.WorkflowError, match="comment is required"):
        workflow.return_document(document, reviewer, "   ")
    workflow.approve(document, reviewer)
    with pytest.raises(workflow.WorkflowError, match="It is now: published"):
        workflow.approve(document, reviewer)
    with pytest.raises(workflow.WorkflowError, match="It is now: published"):
        workflow.submit(document, staff)

    # Through the web: the reason is shown, nothing changes.
    client = people["reviewer"]
    client.post(f"/staff/review/documents/{document_id}/approve")
    assert "It is now: published" in client.get("/staff/review/").get_data(as_text=True)
    assert status(document_id) == "published"

    # A document still being OCR'd cannot be checked yet.
    with render_pages(tmp_path / "more", 1)[0].open("rb") as scan:
        job = ingest(
            [Upload("1.png", scan)], DocumentFields("Still scanning", "book", [], "eng"), user=staff
        )
    with pytest.raises(workflow.WorkflowError, match="It is now: scanned, OCR under way"):
        workflow.submit(job.document, staff)


def test_two_decisions_at_once_only_one_wins(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    from sqlalchemy import update

    from mura.app.modules.administration.accounts import get_user

    document_id = scanned(app, tmp_path)
    document = db.session.get(Document, document_id)
    workflow.submit(document, get_user("staff-a"))
    assert document.status == "reviewed"  # what the second reviewer's screen was made from
    with db.engine.begin() as other:  # meanwhile the first reviewer returns it
        other.execute(update(Document).where(Document.id == document_id).values(status="returned"))
    with pytest.raises(workflow.WorkflowError, match="Someone else .* It is now: returned"):
        workflow.approve(document, get_user("reviewer"))
    assert status(document_id) == "returned"
    assert [a for a, _ in actions(document_id)] == ["document.ocr_done", "document.submit"]


def test_returning_a_published_document_withdraws_it(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], sent: list
) -> None:
    document_id = scanned(app, tmp_path)
    post(people["staff-a"], f"/staff/review/documents/{document_id}/submit")
    post(people["reviewer"], f"/staff/review/documents/{document_id}/approve")
    run_sent(sent)
    assert publicly_found(app, document_id, "page") == [1, 2]

    post(
        people["reviewer"],
        f"/staff/review/documents/{document_id}/return",
        comment="Rights of the illustrations unclear",
    )
    run_sent(sent)
    assert status(document_id) == "returned"
    assert english(app.test_client()).get(f"/documents/{document_id}").status_code == 404
    assert publicly_found(app, document_id, "page") == []
    assert 'status="deleted"' in oai_headers(app)  # harvesters are told
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.return"))
    assert event.details["unpublished"] is True


def test_ocr_again_keeps_a_published_document_published(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient], sent: list
) -> None:
    from mura.app.modules.digitization import jobs

    document_id = scanned(app, tmp_path)
    post(people["staff-a"], f"/staff/review/documents/{document_id}/submit")
    post(people["reviewer"], f"/staff/review/documents/{document_id}/approve")
    run_sent(sent)
    job_id = job_of(document_id)
    assert jobs.reocr(job_id, langs="eng+rus") == 2
    job = db.session.get(ScanJob, job_id)
    for page in job.pages:
        assert tasks.ocr_page.run(page.id) == "processed"
    assert tasks.assemble_pdf.run(job_id) == "assembled"
    assert tasks.index_job.run(job_id) == "indexed"
    assert status(document_id) == "published"
    assert publicly_found(app, document_id, "page") == [1, 2]


def test_without_review_a_document_is_published_when_its_ocr_is_done(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    app.config["REVIEW_REQUIRED"] = "false"  # as MURA_REVIEW_REQUIRED=false may arrive
    assert workflow.review_required() is False
    document_id = scanned(app, tmp_path)
    assert status(document_id) == "published"
    assert publicly_found(app, document_id, "page") == [1, 2]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.publish"))
    assert event.details == {"via": "worker", "review": False}
    app.config["REVIEW_REQUIRED"] = True
    assert workflow.review_required() is True


def test_staff_of_another_branch_cannot_change_this_branchs_job(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    document_id = scanned(app, tmp_path)
    job = db.session.get(ScanJob, job_of(document_id))
    page_id = job.pages[0].id
    other, own, reviewer = people["staff-b"], people["staff-a"], people["reviewer"]
    assert other.post(f"/staff/jobs/{job.id}/reocr", data={"pages": "1"}).status_code == 403
    assert other.post(f"/staff/pages/{page_id}/text", data={"text": "x"}).status_code == 403
    # Reading is fine: staff read every branch's documents (one rule, issue 18).
    response = other.get(f"/staff/pages/{page_id}/pdf")
    assert response.status_code == 200
    response.close()
    assert other.get(f"/staff/pages/{page_id}/text").status_code == 200
    db.session.expire_all()
    assert job.pages[0].text_corrected is None
    # Their own branch's staff, and reviewers reading the page they check, may.
    for client in (own, reviewer):
        response = client.get(f"/staff/pages/{page_id}/pdf")
        assert response.status_code == 200 and response.data[:5] == b"%PDF-"
        response.close()
    assert own.post(f"/staff/pages/{page_id}/text", data={"text": "Mura"}).status_code == 302
    assert own.post(f"/staff/jobs/{job.id}/reocr", data={"pages": "1"}).status_code == 302


def test_dashboard_counts_what_waits_for_whom(
    app: Flask, tmp_path: Path, people: dict[str, FlaskClient]
) -> None:
    from mura.app.modules.administration.accounts import get_user

    staff_a, staff_b, reviewer = (get_user(n) for n in ("staff-a", "staff-b", "reviewer"))
    first = scanned(app, tmp_path, "One", 1)
    second = scanned(app, tmp_path, "Two", 1)
    third = scanned(app, tmp_path, "Three", 1)
    fourth = scanned(app, tmp_path, "Four", 1)
    workflow.submit(db.session.get(Document, second), staff_a)
    workflow.submit(db.session.get(Document, third), staff_a)
    workflow.return_document(db.session.get(Document, third), reviewer, "Fix the title")
    workflow.submit(db.session.get(Document, fourth), staff_a)
    workflow.approve(db.session.get(Document, fourth), reviewer)
    # One more in branch b02.
    db.session.get(ScanJob, job_of(first)).branch_id = staff_b.branch_id
    db.session.commit()

    counts = workflow.queue_counts(staff_b)
    assert [q.branch.code for q in counts.branches] == ["b02", "central"]  # own branch first
    assert [(q.to_check, q.returned, q.to_approve) for q in counts.branches] == [
        (1, 0, 0),
        (0, 1, 1),
    ]
    assert (counts.to_check, counts.returned, counts.to_approve) == (1, 1, 1)
    assert [q.branch.code for q in workflow.queue_counts(staff_a).branches] == ["central", "b02"]

    page = people["admin"].get("/admin/reports/dashboard").get_data(as_text=True)
    table = page[page.index('id="review-counts"') :]
    assert re.search(
        r'id="review-total".*?to-check">1<.*?returned">1<.*?to-approve">1<', table, re.S
    )
    assert 'href="/staff/review/"' in page
    # The queue: staff of central see their returned one (not b02's to check); reviewers see
    # what waits for approval.
    queue = people["staff-a"].get("/staff/review/").get_data(as_text=True)
    assert "Fix the title" in queue and "Three" in queue and ">One<" not in queue
    queue = people["staff-b"].get("/staff/review/").get_data(as_text=True)
    assert ">One<" in queue and "Fix the title" not in queue
    queue = people["reviewer"].get("/staff/review/").get_data(as_text=True)
    assert ">Two<" in queue and 'id="to-check"' not in queue


def test_the_demo_publishes_its_samples_with_review_required(app: Flask) -> None:
    from mura.app.modules.digitization.demo import create_demo_accounts, create_sample

    create_demo_accounts()
    assert create_sample() > 0
    documents = db.session.scalars(select(Document)).all()
    assert documents and all(d.status == "scanned" and d.skip_review for d in documents)
    for document in documents:  # what the assembly task does when each OCR is done
        assert workflow.ocr_finished(document) == "published"
    db.session.commit()


def test_ingest_json_tells_the_document_status(app: Flask, tmp_path: Path) -> None:
    import json

    from mura.app.cli import cli

    [scan] = render_pages(tmp_path / "cli", 1)
    result = app.test_cli_runner().invoke(
        cli, ["ingest", str(scan), "--title", "From the CLI", "--type", "book", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["document_status"] == "scanned"
