"""Approval says what the public will see, and why, before and after (issue 16 item 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import ScanJob
from mura.app.modules.administration.accounts import get_user
from tests.auth_helpers import branch, logged_in, make_user
from tests.conftest import make_app
from tests.synthetic import ingest_pages, run_job


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """Review required and no rights by default: what a library that installed Mura has."""
    application = make_app(tmp_path / "home", REVIEW_REQUIRED=True, DEFAULT_ACCESS="none")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    branch("central")
    make_user("staff-a", "staff", "central")
    make_user("reviewer", "reviewer", None)
    make_user("admin", "admin", None)
    return {name: logged_in(app, name) for name in ("staff-a", "reviewer", "admin")}


def _checked_document(tmp_path: Path) -> tuple[int, int]:
    job = ingest_pages(tmp_path / "scans", "Outlook book", 1, user=get_user("staff-a"))
    run_job(job)
    return job.document_id, job.id


def test_a_document_that_stays_hidden_says_so_before_and_at_approval(
    app: Flask, people: dict[str, FlaskClient], tmp_path: Path
) -> None:
    document_id, job_id = _checked_document(tmp_path)
    staff, reviewer = people["staff-a"], people["reviewer"]
    job_page = staff.get(f"/staff/jobs/{job_id}").get_data(as_text=True)
    assert 'id="public-outlook"' in job_page and 'data-access="not_public"' in job_page
    assert "stays hidden after approval" in job_page
    assert "Link it to its catalogue record" in job_page
    staff.post(f"/staff/review/documents/{document_id}/submit")

    # (English only: the pushed app context keeps one locale for every request of the test.)
    queue = reviewer.get("/staff/review/").get_data(as_text=True)
    assert "stays hidden" in queue  # the reviewer sees it before approving
    approved = reviewer.post(
        f"/staff/review/documents/{document_id}/approve", follow_redirects=True
    ).get_data(as_text=True)
    assert "Approved and published" not in approved
    assert "Approved, but the public will not see it at all" in approved
    assert app.test_client().get(f"/documents/{document_id}").status_code == 404


def test_an_open_document_says_it_is_online(
    app: Flask, people: dict[str, FlaskClient], tmp_path: Path
) -> None:
    from mura.app.modules.rights import rights

    document_id, job_id = _checked_document(tmp_path)
    rights.set_mark(document_id, "library_owned", "Our own edition", actor=get_user("admin"))
    db.session.commit()
    staff, reviewer = people["staff-a"], people["reviewer"]
    assert 'data-access="online"' in staff.get(f"/staff/jobs/{job_id}").get_data(as_text=True)
    staff.post(f"/staff/review/documents/{document_id}/submit")
    queue = reviewer.get("/staff/review/").get_data(as_text=True)
    assert "stays hidden" not in queue
    approved = reviewer.post(
        f"/staff/review/documents/{document_id}/approve", follow_redirects=True
    ).get_data(as_text=True)
    assert "Approved and published: the public can read it online." in approved
    assert db.session.scalar(select(ScanJob.id).where(ScanJob.id == job_id)) == job_id
