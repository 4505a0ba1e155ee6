"""The state of scan jobs and their pages, kept in the database with conditional updates.

The broker may deliver a task twice (Redis after a crash) or lose it (the embedded transports when
a worker dies; see docs/design-notes.md). So a task first *claims* its row with a conditional
UPDATE and
leaves if nothing changed, completion is decided by counting pages in the database, and
:func:`sweep` sends again whatever was lost.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from mura.app.core import task_names
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import Page, ScanJob
from mura.app.models.base import utcnow

log = logging.getLogger(__name__)

OCR_TASK = task_names.OCR_PAGE
ASSEMBLE_TASK = task_names.ASSEMBLE_PDF
INDEX_TASK = task_names.INDEX_JOB
#: The stage task of each post-OCR job state.
STAGE_TASKS = {"assembling": ASSEMBLE_TASK, "indexing": INDEX_TASK}


def worker_host() -> str:
    """This worker's host name: ``MURA_WORKER_NAME`` (``mura worker --name``), else the machine's.

    Several worker "machines" may share one kernel (containers, network namespaces in the
    scale-out test); a name of their own keeps their pages apart on the job page.
    """
    return current_app.config.get("WORKER_NAME") or socket.gethostname()


def worker_id() -> str:
    """``host:pid`` of this process, recorded on what it claims."""
    return f"{worker_host()}:{os.getpid()}"


def enqueue_page(page: Page) -> None:
    """Send the page's OCR task after the current transaction commits."""
    enqueue_after_commit(OCR_TASK, page.id)


# --- pages ---------------------------------------------------------------------------------------


def claim_page(page_id: int) -> bool:
    """Take a page for OCR: ``queued``, or ``running`` with an expired lease, becomes ours.

    The page and its job change in one transaction: a connection lost half-way leaves the page
    unclaimed, so trying again (``mura.workers.tasks._with_db``) can claim it. Committed apart, a
    lost second statement left the page claimed by nobody until its lease ran out (10 minutes;
    seen when PostgreSQL restarted during a job).
    """
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["PAGE_LEASE_S"])
    job_id = db.session.execute(
        update(Page)
        .where(
            Page.id == page_id,
            or_(Page.state == "queued", and_(Page.state == "running", Page.lease_until < now)),
        )
        .values(
            state="running",
            attempts=Page.attempts + 1,
            lease_until=lease,
            started_at=now,
            worker=worker_id(),
        )
        .returning(Page.job_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if job_id is not None:
        db.session.execute(
            update(ScanJob)
            .where(ScanJob.id == job_id, ScanJob.status == "queued")
            .values(status="running")
        )
    db.session.commit()
    return job_id is not None


def finish_page(page_id: int, values: dict) -> bool:
    """Record a page's outcome, only if this worker still holds it (its lease may have gone)."""
    result = db.session.execute(
        update(Page)
        .where(Page.id == page_id, Page.state == "running", Page.worker == worker_id())
        .values(finished_at=utcnow(), lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def fail_page(page_id: int, code: str, reason: str) -> None:
    """The page cannot be processed: record why and commit."""
    finish_page(page_id, {"state": "failed", "error_code": code, "error_reason": reason})
    db.session.commit()


def release_page(page_id: int, reason: str) -> bool:
    """A transient error: put the page back in the queue, or fail it after the last attempt.

    Returns True when the page should be tried again.
    """
    page = db.session.get(Page, page_id)
    if page is None:
        return False
    if page.attempts >= current_app.config["PAGE_MAX_ATTEMPTS"]:
        fail_page(page_id, "too_many_attempts", f"Gave up after {page.attempts} attempts: {reason}")
        return False
    finish_page(page_id, {"state": "queued", "error_reason": reason, "queued_at": utcnow()})
    db.session.commit()
    return True


# --- jobs ----------------------------------------------------------------------------------------


def page_counts(job_id: int) -> dict[str, int]:
    """Pages of the job by state, every state present (zero when none)."""
    rows = db.session.execute(
        select(Page.state, func.count()).where(Page.job_id == job_id).group_by(Page.state)
    ).all()
    counts = {"queued": 0, "running": 0, "done": 0, "failed": 0}
    counts.update({state: n for state, n in rows})
    return counts


def advance_job(job_id: int) -> None:
    """When no page is left to OCR, move the job on to assembly (exactly once)."""
    counts = page_counts(job_id)
    if counts["queued"] or counts["running"]:
        return
    if counts["done"] == 0:
        _set_job_state(job_id, ("queued", "running"), "failed", error="No page could be processed.")
        return
    if _set_job_state(job_id, ("queued", "running"), "assembling"):
        enqueue_after_commit(ASSEMBLE_TASK, job_id)
        db.session.commit()


def _set_job_state(job_id: int, from_states: tuple[str, ...], to: str, **values: object) -> bool:
    if to in ("done", "failed"):
        values["finished_at"] = utcnow()
    result = db.session.execute(
        update(ScanJob)
        .where(ScanJob.id == job_id, ScanJob.status.in_(from_states))
        .values(status=to, stage_lease_until=None, stage_attempts=0, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)


def claim_stage(job_id: int, state: str) -> bool:
    """Take the job's current post-OCR stage (``assembling`` or ``indexing``) with a lease."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["PAGE_LEASE_S"])
    result = db.session.execute(
        update(ScanJob)
        .where(
            ScanJob.id == job_id,
            ScanJob.status == state,
            or_(ScanJob.stage_lease_until.is_(None), ScanJob.stage_lease_until < now),
        )
        .values(stage_lease_until=lease, stage_attempts=ScanJob.stage_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)


def finish_stage(job_id: int, state: str, next_state: str, **values: object) -> bool:
    """Leave stage ``state`` for ``next_state``; sends the next stage's task after commit."""
    moved = _set_job_state(job_id, (state,), next_state, **values)
    if moved and next_state in STAGE_TASKS:
        enqueue_after_commit(STAGE_TASKS[next_state], job_id)
        db.session.commit()
    return moved


def fail_stage(job_id: int, state: str, reason: str) -> None:
    """A stage failed for good: the job fails with the reason."""
    _set_job_state(job_id, (state,), "failed", error=reason)


def release_stage(job_id: int) -> None:
    """Give the stage's lease back so the sweeper or a retry can take it at once."""
    db.session.execute(update(ScanJob).where(ScanJob.id == job_id).values(stage_lease_until=None))
    db.session.commit()


def retry_failed_pages(job_id: int) -> int:
    """Queue the failed pages of a finished job again; the PDF is rebuilt when they are done."""
    job = db.session.get(ScanJob, job_id)
    if job is None:
        return 0
    seqs = [p.seq for p in job.pages if p.state == "failed" and p.error_code not in UNREADABLE]
    return reocr(job_id, seqs)


def reocr_options(clean: bool, ocr_text_pages: bool) -> dict | None:
    """Page options a re-OCR adds to the job's (None: the job's own stay as they are).

    Args:
        clean: Clean dark or noisy scans and read them in grayscale.
        ocr_text_pages: OCR PDF pages that have their own text too, instead of keeping them.
    """
    options: dict = {}
    if clean:
        options["clean"] = True
    if ocr_text_pages:
        options["keep_text"] = False
    return options or None


def reocr(
    job_id: int,
    seqs: list[int] | None = None,
    langs: str | None = None,
    options: dict | None = None,
) -> int:
    """OCR pages of a finished job again (all when ``seqs`` is None), maybe with other languages.

    The published PDF stays in place until the new one is assembled; a page's hand correction
    is kept (it wins in search over the new OCR text).
    """
    job = db.session.get(ScanJob, job_id)
    if job is None or job.status not in ("done", "failed"):
        return 0
    wanted = set(seqs) if seqs is not None else None
    pages = [
        p
        for p in job.pages
        if (wanted is None or p.seq in wanted) and p.error_code not in UNREADABLE
    ]
    for page in pages:
        page.state, page.attempts, page.error_code, page.error_reason = "queued", 0, None, None
        page.queued_at, page.lease_until, page.worker = utcnow(), None, None
        if langs:
            page.langs = langs if langs != job.langs else None
        enqueue_page(page)
    if options:
        job.options = {**(job.options or {}), **options}
    if pages:
        job.status, job.error, job.finished_at = "running", None, None
    db.session.commit()
    return len(pages)


#: Failures that a retry cannot mend: the uploaded file itself is unusable.
UNREADABLE = (
    "empty_file", "not_an_image", "truncated_image", "unsupported_format", "too_large",
    "too_complex", "too_small",
)  # fmt: skip


# --- the sweeper ---------------------------------------------------------------------------------


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Send again what the broker lost; fail pages that keep losing their worker.

    Runs at worker start and periodically (Celery beat). Safe to run anywhere, any number of
    times: every resend is guarded by the claims.
    """
    now = now or utcnow()
    report = {"pages_resent": 0, "pages_failed": 0, "stages_resent": 0, "jobs_advanced": 0}
    _reclaim_dead_local_workers()
    report.update(_resend_expired_pages(now))
    report["pages_resent"] += _resend_idle_queued(now)
    report["stages_resent"] = _resend_stalled_stages(now)
    report["jobs_advanced"] = _advance_finished_jobs()
    return report


def _reclaim_dead_local_workers() -> None:
    """Pages held by a process of this host that no longer exists get their lease expired."""
    host = worker_host()  # only our own host's pids can be checked
    rows = db.session.execute(
        select(Page.id, Page.worker).where(Page.state == "running", Page.worker.like(f"{host}:%"))
    ).all()
    dead = [page_id for page_id, worker in rows if not _pid_alive(int(worker.rsplit(":", 1)[1]))]
    if dead:
        db.session.execute(
            update(Page)
            .where(Page.id.in_(dead))
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _resend_expired_pages(now: datetime) -> dict[str, int]:
    expired = db.session.scalars(
        select(Page).where(Page.state == "running", Page.lease_until < now)
    ).all()
    resent = failed = 0
    for page in expired:
        if page.attempts >= current_app.config["PAGE_MAX_ATTEMPTS"]:
            page.state, page.error_code, page.finished_at = "failed", "worker_lost", now
            page.error_reason = (
                f"The worker processing this page stopped {page.attempts} times "
                "(crash, out of memory or a restart)."
            )
            failed += 1
        else:
            enqueue_page(page)
            resent += 1
    db.session.commit()
    return {"pages_resent": resent, "pages_failed": failed}


def _resend_idle_queued(now: datetime) -> int:
    """Queued pages are resent only while no page runs anywhere: then their message is lost.

    (Resending while workers are busy would fill the queue with duplicates of a long backlog.)
    """
    running = db.session.scalar(select(func.count()).where(Page.state == "running"))
    if running:
        return 0
    cutoff = now - timedelta(seconds=current_app.config["QUEUED_RESEND_S"])
    pages = db.session.scalars(
        select(Page).where(Page.state == "queued", Page.queued_at < cutoff)
    ).all()
    for page in pages:
        page.queued_at = now
        enqueue_page(page)
    db.session.commit()
    return len(pages)


def _resend_stalled_stages(now: datetime) -> int:
    cutoff = now - timedelta(seconds=current_app.config["QUEUED_RESEND_S"])
    jobs = db.session.scalars(
        select(ScanJob).where(
            ScanJob.status.in_(tuple(STAGE_TASKS)),
            or_(
                ScanJob.stage_lease_until < now,
                and_(ScanJob.stage_lease_until.is_(None), ScanJob.created_at < cutoff),
            ),
        )
    ).all()
    for job in jobs:
        if job.stage_attempts >= current_app.config["PAGE_MAX_ATTEMPTS"]:
            job.error = f"The {job.status} stage stopped {job.stage_attempts} times."
            job.status, job.finished_at = "failed", now
        else:
            enqueue_after_commit(STAGE_TASKS[job.status], job.id)
    db.session.commit()
    return len(jobs)


def _advance_finished_jobs() -> int:
    open_pages = select(Page.id).where(
        Page.job_id == ScanJob.id, Page.state.in_(("queued", "running"))
    )
    job_ids = db.session.scalars(
        select(ScanJob.id).where(ScanJob.status.in_(("queued", "running")), ~open_pages.exists())
    ).all()
    for job_id in job_ids:
        advance_job(job_id)
    return len(job_ids)
