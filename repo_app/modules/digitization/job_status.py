"""How a scan job is reported: to the job page, the JSON API and ``mura jobs --json``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import ScanJob
from mura.app.modules.digitization.jobs import page_counts

#: Why a page failed, in the reader's words (the job page, the upload form's refusals).
FAILURE_LABELS = {
    "empty_file": _l("Empty file"),
    "not_an_image": _l("Not an image"),
    "truncated_image": _l("Truncated image"),
    "unsupported_format": _l("Unsupported file format"),
    "too_large": _l("File too large"),
    "too_complex": _l("Page too complex"),
    "too_small": _l("Image too small"),
    "ocr_failed": _l("OCR failed"),
    "ocr_timeout": _l("OCR took too long"),
    "bad_language": _l("Language not installed"),
}


def failure_label(code: str) -> str:
    """A failure code in the reader's words (the code itself when it has none)."""
    return str(FAILURE_LABELS.get(code, code))


#: A job's stored error (English, as logged and in ``mura jobs --json``) in the reader's words.
JOB_ERRORS = {
    "No page could be processed.": _l("No page could be processed."),
}


def job_error(error: str) -> str:
    """A job's error in the reader's words (as stored when it has no translation)."""
    return str(JOB_ERRORS.get(error, error))


#: The job states shown outside: the stages after OCR count as `running`.
PUBLIC_STATUS = {
    "queued": "queued",
    "running": "running",
    "assembling": "running",
    "indexing": "running",
    "done": "done",
    "failed": "failed",
}


def describe_job(job: ScanJob) -> dict[str, Any]:
    """The job as one JSON-ready object (the fields of ``mura ingest --json`` and more)."""
    counts = page_counts(job.id)
    total = sum(counts.values())
    document = job.document
    pdf = document.pdf_file if job.status == "done" else None
    return {
        "job_id": job.id,
        "document_id": document.id,
        "title": document.title,
        "status": PUBLIC_STATUS[job.status],
        "stage": job.status,
        "langs": job.langs,
        "pages": total,
        "pages_total": total,
        "pages_done": counts["done"],
        "pages_failed": counts["failed"],
        "pages_running": counts["running"],
        "pages_queued": counts["queued"],
        "pdf_path": str(files.local_path(pdf)) if pdf else None,
        "error": job.error,
        "failures": [
            {"page": p.seq, "code": p.error_code, "reason": p.error_reason}
            for p in job.pages
            if p.state == "failed"
        ],
        "pages_flagged": sum(1 for p in job.pages if p.flags),
        "flagged": [
            {"page": p.seq, "flags": p.flags, "confidence": p.mean_confidence}
            for p in job.pages
            if p.flags
        ],
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def parse_page_list(value: str, last: int) -> list[int]:
    """``"1, 3-5"`` → ``[1, 3, 4, 5]``; ValueError on anything else or outside 1..last."""
    seqs: set[int] = set()
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        start, dash, end = part.partition("-")
        if not start.isdigit() or (dash and not end.isdigit()):
            raise ValueError(part)
        first, final = int(start), int(end or start)
        if not 1 <= first <= final <= last:
            raise ValueError(part)
        seqs.update(range(first, final + 1))
    return sorted(seqs)


def recent_jobs(limit: int = 100) -> list[ScanJob]:
    """Newest jobs first."""
    return list(db.session.scalars(db.select(ScanJob).order_by(ScanJob.id.desc()).limit(limit)))
