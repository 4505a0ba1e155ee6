"""Celery tasks: each takes ids, claims its row, calls the pipeline, records the outcome.

Tasks are idempotent: a second delivery finds the row already claimed or finished and returns.
Only transient errors are retried; a bad page fails that page with its reason.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from mura.app.core import files, task_names
from mura.app.extensions import db
from mura.app.models import Document, Page, ScanJob
from mura.app.modules.catalogue import metadata
from mura.app.modules.digitization import articles, jobs, workflow
from mura.app.modules.digitization.quality import page_flags
from mura.app.modules.discovery import search as search_service
from mura.storage import StoreError
from mura.workers.pipeline.clipping import derive as derive_clipping
from mura.workers.pipeline.errors import PageError, TransientError
from mura.workers.pipeline.page import PageOptions, PageResult, process_page
from mura.workers.pipeline.pdf import assemble_pdf as build_document_pdf
from mura.workers.pipeline.pdf import placeholder_page

log = logging.getLogger(__name__)

#: Errors worth another try: disk full, database gone for a moment, a killed tool.
TRANSIENT = (TransientError, StoreError, OperationalError, OSError)
RETRY_DELAYS = (5, 30, 120)


@contextmanager
def work_folder(prefix: str) -> Iterator[Path]:
    """A scratch folder under MURA_HOME/work, removed afterwards whatever happens."""
    root = Path(current_app.config["WORK_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _retry_delay(attempt: int) -> int:
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1] if attempt else RETRY_DELAYS[0]


@shared_task(bind=True, acks_late=True, max_retries=None, name=task_names.OCR_PAGE)
def ocr_page(self, page_id: int) -> str:
    """OCR one page into its single-page PDF, text and word boxes."""
    try:
        if not _with_db(jobs.claim_page, page_id):
            return "not claimed"
        job_id, attempts, frame, source, options = _with_db(_page_work, page_id)
        # An article's page is derived from its issue page's OCR, not OCRed (docs/workflow.md).
        clip = _with_db(articles.clipping_work, page_id)
    except OperationalError as exc:
        # The database stayed away: send the task again. (A claim already made expires with
        # its lease and the sweeper sends the page again.)
        raise self.retry(countdown=RETRY_DELAYS[1], exc=exc) from exc
    try:
        with work_folder(f"page-{page_id}-") as work:
            if clip is not None:
                result = derive_clipping(clip, work, options.timeout_s)
            else:
                result = process_page(source, frame, work, options)
            _record_page(page_id, result, options.langs)
    except PageError as exc:
        _rollback()
        _with_db(jobs.fail_page, page_id, exc.code, exc.reason)
    except TRANSIENT as exc:
        _rollback()
        log.warning("page %s: transient error: %s", page_id, exc)
        if _with_db(jobs.release_page, page_id, f"{type(exc).__name__}: {exc}"):
            raise self.retry(countdown=_retry_delay(attempts), exc=exc) from exc
    except Exception as exc:
        # A bug must not stall the whole job: this page fails with the reason, the rest go on.
        _rollback()
        log.exception("page %s: unexpected error", page_id)
        reason = f"Internal error: {type(exc).__name__}: {exc}"
        _with_db(jobs.fail_page, page_id, "internal_error", reason)
    _with_db(jobs.advance_job, job_id)
    return "processed"


def _page_work(page_id: int) -> tuple[int, int, int, Path, PageOptions]:
    """What the pipeline needs of a claimed page, as plain data (the session may be lost)."""
    page = db.session.get(Page, page_id)
    job = page.job
    options = PageOptions(
        langs=page.langs or job.langs,
        timeout_s=current_app.config["OCR_TIMEOUT_S"],
        **(job.options or {}),
    )
    return job.id, page.attempts, page.frame, files.local_path(page.source_file), options


#: Seconds to wait between tries of a bookkeeping write while the database is away: a
#: PostgreSQL restart or fail-over takes seconds, and a page given up here would stay claimed
#: ("running") until its lease expires (PAGE_LEASE_S, ten minutes by default).
DB_WAITS = (0.5, 1, 2, 4, 8, 15, 30)


def _rollback() -> None:
    """Roll back; on a connection the database cut, just drop the session."""
    try:
        db.session.rollback()
    except OperationalError:
        with suppress(Exception):
            db.session.remove()


def _with_db(call, *args: object):
    """Run a database call of the task's bookkeeping, waiting for a lost database to come back.

    Raises:
        OperationalError: The database did not come back within about a minute.
    """
    for wait in (*DB_WAITS, None):
        try:
            return call(*args)
        except OperationalError as exc:
            with suppress(Exception):  # the connection is gone: a fresh session next time
                db.session.remove()
            if wait is None:
                raise
            log.warning("database unavailable (%s); trying again in %s s", exc.orig, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _record_page(page_id: int, result: PageResult, langs: str) -> None:
    pdf = files.keep_file(result.pdf, "page_pdf", mime="application/pdf")
    hocr = files.keep_file(result.hocr, "page_hocr", mime="text/vnd.hocr+html")
    text = files.keep_file(result.text_path, "page_text", mime="text/plain")
    db.session.flush()
    recorded = jobs.finish_page(
        page_id,
        {
            "state": "done",
            "error_code": None,
            "error_reason": None,
            "text": result.text,
            "mean_confidence": result.mean_confidence,
            "word_count": result.word_count,
            "width_pt": result.width_pt,
            "height_pt": result.height_pt,
            "dpi": result.dpi,
            "rotation": result.rotation,
            "skew_deg": result.skew_deg,
            "timings": result.timings,
            "warnings": result.warnings,
            # A page kept with its own text was not read by OCR: nothing to rescan or check.
            "flags": page_flags(result.text, langs, result.mean_confidence) if result.ocred else [],
            "pdf_file_id": pdf.id,
            "hocr_file_id": hocr.id,
            "text_file_id": text.id,
        },
    )
    if not recorded:
        log.info("page %s: lease lost to another worker; result dropped", page_id)
        db.session.rollback()
        return
    db.session.commit()


@shared_task(bind=True, acks_late=True, max_retries=None, name=task_names.ASSEMBLE_PDF)
def assemble_pdf(self, job_id: int) -> str:
    """Join the job's page PDFs into the document's searchable PDF."""
    if not jobs.claim_stage(job_id, "assembling"):
        return "not claimed"
    job = db.session.get(ScanJob, job_id)
    try:
        with work_folder(f"job-{job_id}-") as work:
            pdf_path = _build_pdf(job, work)
            stored = files.keep_file(pdf_path, "document_pdf", mime="application/pdf")
            db.session.flush()
            document = job.document
            document.pdf_file_id = stored.id
            document.page_count = len(job.pages)
            # OCR done: the document enters review, or is published
            # (modules/digitization/workflow.py).
            workflow.ocr_finished(document)
            db.session.commit()
    except TRANSIENT as exc:
        db.session.rollback()
        jobs.release_stage(job_id)
        log.warning("job %s: assembly error, will retry: %s", job_id, exc)
        raise self.retry(
            countdown=_retry_delay(job.stage_attempts), exc=exc, max_retries=3
        ) from exc
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s: assembly failed", job_id)
        jobs.fail_stage(job_id, "assembling", f"PDF assembly failed: {type(exc).__name__}: {exc}")
        return "failed"
    jobs.finish_stage(job_id, "assembling", "indexing")
    _restamp_if_described_meanwhile(job.document_id)
    return "assembled"


def _restamp_if_described_meanwhile(document_id: int) -> None:
    """Re-stamp the PDF just assembled if its description changed meanwhile.

    A record linked while the PDF was being assembled sent no re-stamp (there was no PDF yet):
    compare now, cheaply (the PDF's Info only), and re-stamp if the catalogue moved on.
    """
    from mura.app.modules.catalogue import pdf_stamp

    try:
        pdf_stamp.restamp(document_id)
    except Exception:  # the PDF is kept; the next change of the description re-stamps it
        db.session.rollback()
        log.exception("document %s: re-stamp after assembly failed", document_id)


def _build_pdf(job: ScanJob, work: Path) -> Path:
    page_pdfs: list[Path] = []
    for page in job.pages:
        if page.state == "done" and page.pdf_file is not None:
            page_pdfs.append(files.local_path(page.pdf_file))
        else:
            reason = page.error_reason or "not processed"
            page_pdfs.append(placeholder_page(work / f"failed-{page.seq:05d}.pdf", reason))
    document: Document = job.document
    meta = metadata.document_meta(document)  # from the catalogue record when there is one
    return build_document_pdf(page_pdfs, work / "document.pdf", meta)


@shared_task(bind=True, acks_late=True, max_retries=None, name=task_names.INDEX_JOB)
def index_job(self, job_id: int) -> str:
    """Put the pages of a finished job's document into the search index."""
    if not jobs.claim_stage(job_id, "indexing"):
        return "not claimed"
    job = db.session.get(ScanJob, job_id)
    try:
        search_service.index_document(job.document_id)
    except Exception as exc:
        jobs.release_stage(job_id)
        log.warning("job %s: indexing error, will retry: %s", job_id, exc)
        if job.stage_attempts >= current_app.config["PAGE_MAX_ATTEMPTS"]:
            jobs.fail_stage(job_id, "indexing", f"Indexing failed: {type(exc).__name__}: {exc}")
            return "failed"
        raise self.retry(countdown=_retry_delay(job.stage_attempts), exc=exc) from exc
    jobs.finish_stage(job_id, "indexing", "done")
    # An issue OCRed again: its clipped articles take the new words (docs/workflow.md).
    for article_id in articles.articles_of(job.document_id):
        articles.rederive(article_id)
    return "indexed"


@shared_task(bind=True, acks_late=True, max_retries=5, name=task_names.REINDEX_DOCUMENT)
def reindex_document(self, document_id: int) -> str:
    """Re-index one document (after a text correction or a change of its record or rights)."""
    try:
        search_service.index_document(document_id)
    except Exception as exc:
        raise self.retry(countdown=_retry_delay(self.request.retries + 1), exc=exc) from exc
    return "indexed"


@shared_task(bind=True, acks_late=True, max_retries=5, name=task_names.RESTAMP_PDF)
def restamp_pdf(self, document_id: int) -> str:
    """Write the catalogue's description into the document's PDF (metadata only, no re-OCR).

    Idempotent: a PDF that already says what the catalogue says is left alone.
    """
    from mura.app.modules.catalogue import pdf_stamp

    try:
        stored = pdf_stamp.restamp(document_id)
    except TRANSIENT as exc:
        db.session.rollback()
        raise self.retry(countdown=_retry_delay(self.request.retries + 1), exc=exc) from exc
    return "restamped" if stored is not None else "unchanged"


@shared_task(name=task_names.SWEEP)
def sweep() -> dict[str, int]:
    """Periodic: send again what a broker lost (``digitization.jobs.sweep``)."""
    from mura.app.modules.administration import mail

    report = jobs.sweep()
    report["mail_resent"] = mail.resend_lost()
    if any(report.values()):
        log.info("sweep: %s", report)
    return report


@shared_task(acks_late=True, name=task_names.CHECK_RIGHTS)
def check_rights(today: str | None = None) -> dict:
    """Periodic: expire ended contracts and decide every document's access again.

    Args:
        today: ISO date to decide for (tests move the clock); default: today in the library's
            time zone. Idempotent: a second run the same day changes nothing.
    """
    from datetime import date

    from mura.app.modules.discovery import copy_requests
    from mura.app.modules.rights.check import run_rights_check

    report = run_rights_check(date.fromisoformat(today) if today else None)
    # Requests whose copy became public meanwhile (approved, a contract signed) are answered,
    # and their readers mailed, even if nobody looks at them (docs/discovery.md).
    report["copy_requests_published"] = copy_requests.refresh_open()
    return report


@shared_task(name=task_names.FIXITY_CHECK)
def fixity_check() -> dict:
    """Periodic: re-hash the stored files that are due (``preservation.fixity``)."""
    from mura.app.modules.preservation import fixity

    try:
        report = fixity.check(due_only=True, limit=current_app.config["FIXITY_BATCH_FILES"])
    except fixity.FixityRunning:
        return {"skipped": "a fixity check is already running"}
    summary = report.as_dict()
    summary["problems"] = len(report.problems)
    return summary


@shared_task(bind=True, acks_late=True, max_retries=8, name=task_names.SEND_MAIL)
def send_mail(self, mail_id: int) -> str:
    """Send one kept message through SMTP (``administration.mail.deliver``).

    Idempotent: the row is claimed first, so a second delivery of the task sends nothing. An
    SMTP server that is away or says "try later" (4xx) is tried again with a growing delay
    (about two hours in all); after the last try the message is marked failed.
    """
    from mura.app.modules.administration import mail

    try:
        return mail.deliver(mail_id)
    except mail.TransientMailError as exc:
        if self.request.retries >= self.max_retries:
            mail.release(
                mail_id, f"gave up after {self.request.retries + 1} tries: {exc}", final=True
            )
            return "failed"
        raise self.retry(countdown=min(30 * 2**self.request.retries, 1800), exc=exc) from exc
