"""What the administrators' dashboard shows: work under way, failures, progress against plan.

Pages "digitized" in a period follow the report's definition (docs/report.md): done pages of
documents whose first finished job finished in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from mura.app.extensions import db
from mura.app.models import SOURCE_TYPES, Contract, CopyRequest, Document, Page, ScanJob
from mura.app.modules.administration import reports
from mura.app.modules.rights import visibility

#: Job states of work under way.
RUNNING_STATES = ("queued", "running", "assembling", "indexing")
#: Contracts ending within this many days are listed.
ENDING_SOON_DAYS = 60
#: Copy requests still waiting for the library.
OPEN_REQUESTS = ("new", "accepted", "scanning")


@dataclass
class Progress:
    """An actual figure against its plan (``planned`` None when no plan is set)."""

    actual: int
    planned: int | None

    @property
    def percent(self) -> int | None:
        """How much of the plan is done, in whole percent."""
        if not self.planned:
            return None
        return round(100 * self.actual / self.planned)


def _page_counts(job_ids: list[int]) -> dict[int, dict[str, int]]:
    """Pages per state of each job, in one grouped query."""
    counts: dict[int, dict[str, int]] = {
        i: {"queued": 0, "running": 0, "done": 0, "failed": 0} for i in job_ids
    }
    if job_ids:
        query = (
            select(Page.job_id, Page.state, func.count())
            .where(Page.job_id.in_(job_ids))
            .group_by(Page.job_id, Page.state)
        )
        for job_id, state, n in db.session.execute(query):
            counts[job_id][state] = n
    return counts


def _summary(job: ScanJob, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "title": job.document.title,
        "status": job.status,
        "branch": job.branch,
        "pages_total": sum(counts.values()),
        "pages_done": counts["done"],
        "pages_failed": counts["failed"],
        "error": job.error,
    }


def running_jobs(limit: int = 50) -> list[dict[str, Any]]:
    """Jobs under way, oldest first, with their page counts for the progress bars."""
    jobs = list(
        db.session.scalars(
            select(ScanJob)
            .where(ScanJob.status.in_(RUNNING_STATES))
            .order_by(ScanJob.created_at, ScanJob.id)
            .limit(limit)
        )
    )
    counts = _page_counts([j.id for j in jobs])
    return [_summary(j, counts[j.id]) for j in jobs]


def failures(limit: int = 20) -> list[dict[str, Any]]:
    """Failed jobs and finished jobs with failed pages, newest first, with the reasons."""
    with_failed_pages = select(Page.job_id).where(Page.state == "failed")
    jobs = list(
        db.session.scalars(
            select(ScanJob)
            .where(
                or_(
                    ScanJob.status == "failed",
                    (ScanJob.status == "done") & ScanJob.id.in_(with_failed_pages),
                )
            )
            .order_by(ScanJob.id.desc())
            .limit(limit)
        )
    )
    counts = _page_counts([j.id for j in jobs])
    reasons = _failure_reasons([j.id for j in jobs])
    out = []
    for job in jobs:
        row = _summary(job, counts[job.id])
        row["reasons"] = reasons.get(job.id, [])
        out.append(row)
    return out


def _failure_reasons(job_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """The distinct reasons pages of each job failed, with how many pages each.

    A reason is the page's failure code where it has one (the screen names it in the reader's
    language), else the stored text.
    """
    out: dict[int, list[tuple[str, int]]] = {}
    if not job_ids:
        return out
    query = (
        select(Page.job_id, func.coalesce(Page.error_code, Page.error_reason, ""), func.count())
        .where(Page.job_id.in_(job_ids), Page.state == "failed")
        .group_by(Page.job_id, func.coalesce(Page.error_code, Page.error_reason, ""))
    )
    for job_id, reason, n in db.session.execute(query):
        out.setdefault(job_id, []).append((reason, n))
    return out


def pages_between(start: datetime, end: datetime) -> int:
    """Pages of the documents digitized in ``[start, end)`` (the report's definition)."""
    dig = reports.digitized_documents().subquery("digitized")
    done = reports.digitized_pages().subquery("page_counts")
    query = (
        select(func.coalesce(func.sum(done.c.pages), 0))
        .select_from(dig)
        .join(done, done.c.document_id == dig.c.document_id)
        .join(Document, Document.id == dig.c.document_id)
        .where(dig.c.digitized_at >= start, dig.c.digitized_at < end)
        .where(Document.doc_type.not_in(SOURCE_TYPES))  # issues: their articles count
    )
    return int(db.session.scalar(query) or 0)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of a month and of the next, local time, as UTC."""
    zone = reports.report_timezone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def pages_per_month(year: int) -> list[int]:
    """Pages digitized in each month of ``year`` (twelve small aggregates)."""
    return [pages_between(*month_bounds(year, m)) for m in range(1, 13)]


def local_today() -> date:
    """Today in the library's time zone."""
    return datetime.now(reports.report_timezone()).date()


def contracts_ending_soon(today: date, days: int = ENDING_SOON_DAYS) -> list[Contract]:
    """Active contracts whose term ends within ``days`` days, soonest first."""
    from mura.app.modules.rights.contracts import contracts_ending

    return contracts_ending(today, days)


def open_requests(limit: int = 10) -> tuple[dict[str, int], list[CopyRequest]]:
    """Readers' copy requests waiting for the library: counts by status, and the oldest."""
    counts = dict.fromkeys(OPEN_REQUESTS, 0)
    query = (
        select(CopyRequest.status, func.count())
        .where(CopyRequest.status.in_(OPEN_REQUESTS))
        .group_by(CopyRequest.status)
    )
    for status, n in db.session.execute(query):
        counts[status] = n
    oldest = list(
        db.session.scalars(
            select(CopyRequest)
            .where(CopyRequest.status.in_(OPEN_REQUESTS))
            .order_by(CopyRequest.created_at)
            .limit(limit)
        )
    )
    return counts, oldest


def search_index_outdated() -> bool:
    """Whether the search index was made by another analysis version than this Mura's.

    Searches still work (an index made before common grams answers phrases by positions), but
    miss what the new analysis adds until ``mura reindex`` rebuilds it.
    """
    from mura.app.modules.discovery import search as search_service

    return search_service.get_engine().needs_rebuild


def search_engine_advice() -> dict[str, int] | None:
    """The published pages and the advised limit, when Whoosh serves more than it does quickly.

    None on tantivy, or below ``SEARCH_ADVICE_PAGES``.
    """
    if current_app.config["SEARCH_ENGINE"] != "whoosh":
        return None
    pages = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Document.page_count), 0)).where(
                visibility.public_condition()
            )
        )
    )
    limit = int(current_app.config["SEARCH_ADVICE_PAGES"])
    return {"pages": pages, "limit": limit} if pages > limit else None
