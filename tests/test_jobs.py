"""Page claims, job completion and the sweeper: the database decides, the broker only carries.

These run in-process against SQLite and the embedded broker folder (no worker), and count the
task messages the broker really received.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from mura.app.extensions import db
from mura.app.models import Page, ScanJob
from mura.app.models.base import utcnow
from mura.app.modules.digitization import jobs
from mura.app.modules.digitization.ingest import DocumentFields, Upload, ingest


def _messages(app: Flask, task: str) -> int:
    folder = Path(app.config["HOME"]) / "broker" / "queue"
    return sum(task.encode() in f.read_bytes() for f in folder.iterdir() if f.is_file())


def _job(app: Flask, corpus: Path, n: int = 2) -> ScanJob:
    data = (corpus / "p01_book.png").read_bytes()
    uploads = [Upload(f"{i}.png", io.BytesIO(data)) for i in range(n)]
    return ingest(uploads, DocumentFields("Test", "book", [], "kaz"))


def test_ingest_sends_one_task_per_page_after_commit(app: Flask, corpus: Path) -> None:
    job = _job(app, corpus, 3)
    assert [p.state for p in job.pages] == ["queued"] * 3
    assert _messages(app, jobs.OCR_TASK) == 3


def test_a_page_is_claimed_once(app: Flask, corpus: Path) -> None:
    page_id = _job(app, corpus).pages[0].id
    assert jobs.claim_page(page_id)
    assert not jobs.claim_page(page_id)  # a duplicate delivery leaves at once
    page = db.session.get(Page, page_id)
    assert (page.state, page.attempts) == ("running", 1)
    assert page.job.status == "running"


def test_a_claim_cut_off_half_way_leaves_the_page_claimable(
    app: Flask, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away between the page's and the job's update (a restart)."""
    page_id = _job(app, corpus).pages[0].id
    execute, calls = db.session.execute, []

    def cut_off(statement, *args, **kwargs):
        calls.append(statement)
        if len(calls) == 2:
            raise OperationalError("UPDATE", {}, Exception("terminating connection"))
        return execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", cut_off)
    with pytest.raises(OperationalError):
        jobs.claim_page(page_id)
    db.session.rollback()
    monkeypatch.undo()
    assert jobs.claim_page(page_id)  # the task's retry takes it at once, not in 10 minutes
    page = db.session.get(Page, page_id)
    assert (page.state, page.attempts, page.job.status) == ("running", 1, "running")


def test_an_expired_lease_can_be_claimed_again(app: Flask, corpus: Path) -> None:
    page_id = _job(app, corpus).pages[0].id
    assert jobs.claim_page(page_id)
    db.session.execute(
        db.update(Page)
        .where(Page.id == page_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert jobs.claim_page(page_id)
    assert db.session.get(Page, page_id).attempts == 2


def test_sweeper_resends_expired_pages_and_fails_after_max_attempts(
    app: Flask, corpus: Path
) -> None:
    job = _job(app, corpus, 2)
    first, second = (p.id for p in job.pages)
    for page_id in (first, second):
        jobs.claim_page(page_id)
    past = utcnow() - timedelta(seconds=5)
    db.session.execute(db.update(Page).values(lease_until=past))
    db.session.execute(
        db.update(Page).where(Page.id == second).values(attempts=app.config["PAGE_MAX_ATTEMPTS"])
    )
    db.session.commit()
    before = _messages(app, jobs.OCR_TASK)
    report = jobs.sweep()
    assert report["pages_resent"] == 1 and report["pages_failed"] == 1
    assert _messages(app, jobs.OCR_TASK) == before + 1
    failed = db.session.get(Page, second)
    assert failed.state == "failed" and failed.error_code == "worker_lost"
    assert "stopped" in failed.error_reason


def test_sweeper_resends_queued_pages_only_when_nothing_runs(app: Flask, corpus: Path) -> None:
    job = _job(app, corpus, 2)
    old = utcnow() - timedelta(seconds=app.config["QUEUED_RESEND_S"] + 5)
    db.session.execute(db.update(Page).values(queued_at=old))
    db.session.commit()
    jobs.claim_page(job.pages[0].id)  # one page runs: the other's message is just waiting
    assert jobs.sweep()["pages_resent"] == 0
    db.session.execute(db.update(Page).values(state="queued", queued_at=old, lease_until=None))
    db.session.commit()
    assert jobs.sweep()["pages_resent"] == 2


def test_pages_of_a_dead_local_process_are_reclaimed(app: Flask, corpus: Path) -> None:
    page_id = _job(app, corpus, 1).pages[0].id
    jobs.claim_page(page_id)
    dead = subprocess.Popen(["true"])
    dead.wait()
    db.session.execute(
        db.update(Page)
        .where(Page.id == page_id)
        .values(worker=f"{socket.gethostname()}:{dead.pid}")
    )
    db.session.commit()
    assert jobs.sweep()["pages_resent"] == 1
    # Our own (live) process keeps its lease.
    db.session.execute(
        db.update(Page)
        .where(Page.id == page_id)
        .values(
            worker=f"{socket.gethostname()}:{os.getpid()}", lease_until=utcnow() + timedelta(60)
        )
    )
    db.session.commit()
    assert jobs.sweep()["pages_resent"] == 0


def test_job_moves_to_assembly_exactly_once(app: Flask, corpus: Path) -> None:
    job = _job(app, corpus, 2)
    for page in job.pages:
        jobs.claim_page(page.id)
    jobs.finish_page(job.pages[0].id, {"state": "done"})
    jobs.fail_page(job.pages[1].id, "ocr_failed", "Tesseract failed")
    db.session.commit()
    jobs.advance_job(job.id)
    jobs.advance_job(job.id)
    assert db.session.get(ScanJob, job.id).status == "assembling"
    assert _messages(app, jobs.ASSEMBLE_TASK) == 1


def test_a_job_whose_every_page_failed_fails(app: Flask) -> None:
    uploads = [Upload("a.png", io.BytesIO(b"")), Upload("b.tif", io.BytesIO(b"garbage"))]
    job = ingest(uploads, DocumentFields("Broken", "book", [], "kaz"))
    db.session.refresh(job)
    assert job.status == "failed"
    assert job.error
    assert _messages(app, jobs.OCR_TASK) == 0


def test_retry_requeues_failed_pages_but_not_unreadable_files(app: Flask, corpus: Path) -> None:
    data = (corpus / "p01_book.png").read_bytes()
    job = ingest(
        [Upload("a.png", io.BytesIO(data)), Upload("b.png", io.BytesIO(b""))],
        DocumentFields("Retry", "book", [], "kaz"),
    )
    page = job.pages[0]
    jobs.claim_page(page.id)
    jobs.fail_page(page.id, "ocr_timeout", "Tesseract took too long")
    jobs.advance_job(job.id)
    assert db.session.get(ScanJob, job.id).status == "failed"
    assert jobs.retry_failed_pages(job.id) == 1
    db.session.refresh(page)
    assert page.state == "queued" and page.attempts == 0
    assert db.session.get(ScanJob, job.id).status == "running"
