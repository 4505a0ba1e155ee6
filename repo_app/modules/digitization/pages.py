"""Fix a document's pages: add, replace (rescan), reorder and remove pages of a finished job.

"Page 3 is missing, rescan it" used to need a new upload of the whole book. Here the pages of
the document's newest scan job are changed in place and only what changed is OCRed again: an
added or replaced page is queued for OCR (``ocr_page``), every other page keeps its OCR text
and its hand correction. The job then goes through its usual stages once more (the PDF is
assembled from the page PDFs in the new order, the search index takes the new pages), so the
reader, the IIIF manifest and search follow the new numbering; the tasks are the upload's own
(they take ids, are sent after the commit and claim their rows, so a duplicate does nothing).

Rules:

- only staff of the document's branch and administrators change its pages
  (:func:`mura.app.modules.administration.permissions.can_edit`);
- only a job that is finished (``done`` or ``failed``) is changed: a job under way would mix
  old and new pages;
- an article's pages are clippings of its issue (``modules/digitization/articles.py``), not
  scans: they are changed on the clipping screen, never here;
- a page an article was clipped from is neither replaced nor removed: the article's region
  would point at another image, or at nothing;
- a published document whose pages changed waits for approval again
  (:func:`mura.app.modules.digitization.workflow.hold_for_review`), as after a record edit;
- files are checked as on the upload form: an unusable file refuses the whole change and
  nothing is kept;
- every change is in the audit log (``page.add``, ``page.replace``, ``page.move``,
  ``page.remove``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import ARTICLE_TYPES, ArticleRegion, Document, Page, ScanJob, StoredFile, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import audit, permissions
from mura.app.modules.digitization import jobs, workflow
from mura.app.modules.digitization.ingest import Upload
from mura.storage import StoreError

#: Job states in which its pages may be changed.
EDITABLE_STATES = ("done", "failed")
#: Values a page's OCR fields go back to when its image changes (replace).
_OCR_FIELDS = (
    "text", "text_corrected", "corrected_at", "corrected_by", "flags", "mean_confidence",
    "word_count", "width_pt", "height_pt", "dpi", "rotation", "skew_deg", "timings", "warnings",
    "pdf_file_id", "hocr_file_id", "text_file_id", "error_code", "error_reason", "started_at",
    "finished_at", "lease_until", "worker", "langs",
)  # fmt: skip


class PageEditError(ValueError):
    """The change cannot be made; ``message`` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PageEditDenied(PageEditError):
    """The user may not change this document (another branch's, or a reviewer)."""


@dataclass(frozen=True)
class PageChange:
    """What a change did: the pages queued for OCR and whether the document left the public."""

    job_id: int
    queued: int
    held_for_review: bool


def editable_job(page_or_job: Page | ScanJob, user: User | None) -> ScanJob:
    """The job whose pages ``user`` wants to change, if the change is allowed now.

    Raises:
        PageEditDenied: The user may not change the document.
        PageEditError: The job is under way, is not the document's newest, or the document is
            an article (its pages are clippings).
    """
    job = page_or_job.job if isinstance(page_or_job, Page) else page_or_job
    document = job.document
    if not permissions.can_edit(user, document):
        raise PageEditDenied(_("Only staff of the document's branch may change its pages."))
    if document.doc_type in ARTICLE_TYPES:
        raise PageEditError(
            _("An article's pages are clippings of its issue: change them on the clipping screen.")
        )
    latest = workflow.latest_job(document)
    if latest is None or latest.id != job.id:
        raise PageEditError(_("Only the pages of the document's newest scan job can be changed."))
    if job.status not in EDITABLE_STATES:
        raise PageEditError(
            _("The job is still being processed; change its pages when it is finished.")
        )
    return job


def add_pages(
    job_id: int, uploads: Sequence[Upload], position: int | None, user: User | None
) -> PageChange:
    """Insert the pages of ``uploads`` before page ``position`` (None or past the end: at the end).

    Only the new pages are OCRed; the others keep their number order, OCR and corrections.
    """
    job = _job(job_id)
    editable_job(job, user)
    if not uploads:
        raise PageEditError(_("Choose at least one page image."))
    _claim(job)
    pages = list(job.pages)
    at = len(pages) + 1 if position is None else min(max(position, 1), len(pages) + 1)
    new_pages = [_new_page(job, stored, frame) for stored, frame in _checked_frames(uploads)]
    limit = current_app.config["MAX_PAGES_PER_JOB"]
    if len(pages) + len(new_pages) > limit:
        db.session.rollback()
        raise PageEditError(
            _(
                "%(n)d pages is more than one job may hold (%(max)d); split the upload.",
                n=len(pages) + len(new_pages),
                max=limit,
            )
        )
    _renumber(job, [*pages[: at - 1], *new_pages, *pages[at - 1 :]])
    for page in new_pages:
        jobs.enqueue_page(page)
    audit.record(
        "page.add", "scan_job", job.id, actor=user, document_id=job.document_id,
        position=at, pages=len(new_pages), files=len(uploads),
    )  # fmt: skip
    return _finish(job, user, len(new_pages), f"{len(new_pages)} page(s) added at {at}")


def replace_page(page_id: int, upload: Upload, user: User | None) -> PageChange:
    """Put a new scan in place of page ``page_id`` (same number) and OCR only that page.

    The page's hand correction is dropped: it corrected the old scan's text.
    """
    page = _page(page_id)
    job = editable_job(page, user)
    _refuse_if_clipped(page)
    _claim(job)
    frames = _checked_frames([upload])
    if len(frames) != 1:
        db.session.rollback()
        raise PageEditError(
            ngettext(
                "A page is replaced by one image: the file has %(num)d page.",
                "A page is replaced by one image: the file has %(num)d pages.",
                len(frames),
            )
        )
    stored, frame = frames[0]
    old_name = page.source_file.original_name
    for name in _OCR_FIELDS:
        setattr(page, name, None)
    page.source_file, page.frame = stored, frame
    page.state, page.attempts, page.queued_at = "queued", 0, utcnow()
    db.session.flush()
    jobs.enqueue_page(page)
    audit.record(
        "page.replace", "page", page.id, actor=user, document_id=job.document_id,
        seq=page.seq, old_file=old_name, new_file=stored.original_name,
    )  # fmt: skip
    return _finish(job, user, 1, f"page {page.seq} replaced")


def move_page(page_id: int, to: int, user: User | None) -> PageChange:
    """Give page ``page_id`` the number ``to`` (the pages between move by one); no OCR."""
    page = _page(page_id)
    job = editable_job(page, user)
    pages = [p for p in job.pages if p.id != page.id]
    to = min(max(to, 1), len(pages) + 1)
    if to == page.seq:
        raise PageEditError(_("The page is already at that place."))
    _claim(job)
    old = page.seq
    pages.insert(to - 1, page)
    _renumber(job, pages)
    audit.record(
        "page.move", "page", page.id, actor=user, document_id=job.document_id,
        old_seq=old, new_seq=to,
    )  # fmt: skip
    return _finish(job, user, 0, f"page {old} moved to {to}")


def remove_page(page_id: int, user: User | None) -> PageChange:
    """Remove page ``page_id``; the pages after it move up by one; no OCR.

    Its stored files stay in the store (they are content-addressed and may be shared; the
    fixity check and backups keep covering them).
    """
    page = _page(page_id)
    job = editable_job(page, user)
    _refuse_if_clipped(page)
    if len(job.pages) <= 1:
        raise PageEditError(_("A document keeps at least one page; replace this one instead."))
    _claim(job)
    seq, name = page.seq, page.source_file.original_name
    pages = [p for p in job.pages if p.id != page.id]
    job.pages.remove(page)  # delete-orphan: the row goes with the flush
    db.session.flush()
    _renumber(job, pages)
    audit.record(
        "page.remove", "page", page_id, actor=user, document_id=job.document_id,
        seq=seq, file=name,
    )  # fmt: skip
    return _finish(job, user, 0, f"page {seq} removed")


# --- helpers -------------------------------------------------------------------------------------


def _claim(job: ScanJob) -> None:
    """Take the finished job for this change with a conditional UPDATE, or refuse.

    Two people changing pages at once both pass :func:`editable_job`; the database lets only
    one move the job from finished to ``running`` (on PostgreSQL the second waits for the
    first's commit, then finds nothing to update), so their numberings never mix.
    """
    claimed = db.session.execute(
        update(ScanJob)
        .where(ScanJob.id == job.id, ScanJob.status.in_(EDITABLE_STATES))
        .values(status="running")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise PageEditError(
            _("The job is still being processed; change its pages when it is finished.")
        )


def _job(job_id: int) -> ScanJob:
    job = db.session.get(ScanJob, job_id)
    if job is None:
        raise LookupError(job_id)
    return job


def _page(page_id: int) -> Page:
    page = db.session.get(Page, page_id)
    if page is None:
        raise LookupError(page_id)
    return page


def _refuse_if_clipped(page: Page) -> None:
    """An article clipped from the page would lose its region: say which articles."""
    titles = db.session.scalars(
        select(Document.title)
        .join(ArticleRegion, ArticleRegion.article_id == Document.id)
        .where(ArticleRegion.source_page_id == page.id)
        .distinct()
        .order_by(Document.title)
        .limit(5)
    ).all()
    if titles:
        raise PageEditError(
            _(
                "Articles were clipped from page %(n)d (%(titles)s): delete or re-clip them "
                "first, then change the page.",
                n=page.seq,
                titles="; ".join(f"“{t}”" for t in titles),
            )
        )


def _checked_frames(uploads: Sequence[Upload]) -> list[tuple[StoredFile, int]]:
    """Keep each file in the store and list its pages, or refuse every file if one is unusable.

    The same check as the upload form (``ingest(..., refuse_unusable=True)``): the type is
    sniffed from the content, and a file that cannot be a page refuses the whole change.
    """
    from mura.app.modules.digitization.job_status import failure_label
    from mura.workers.pipeline.inputs import inspect_upload

    frames: list[tuple[StoredFile, int]] = []
    unusable: list[str] = []
    for upload in uploads:
        try:
            stored = files.keep_stream(upload.stream, "scan", upload.name)
        except StoreError as exc:
            db.session.rollback()
            raise PageEditError(
                _("The file could not be stored (%(reason)s); nothing was kept.", reason=exc)
            ) from exc
        info = inspect_upload(files.local_path(stored))
        stored.mime = info.mime
        if info.error_code:
            unusable.append(f"{upload.name} ({failure_label(info.error_code)})")
            continue
        frames.extend((stored, frame) for frame in range(info.pages))
    if unusable:
        db.session.rollback()
        raise PageEditError(
            _(
                "Not accepted, nothing was saved: %(files)s. Remove or replace these files.",
                files="; ".join(unusable),
            )
        )
    return frames


def _new_page(job: ScanJob, stored: StoredFile, frame: int) -> Page:
    # A placeholder number below every real one; _renumber gives the real one.
    page = Page(
        job=job,
        document_id=job.document_id,
        seq=-1_000_000 - len(job.pages),
        source_file=stored,
        frame=frame,
        state="queued",
        queued_at=utcnow(),
    )
    db.session.add(page)
    return page


def _renumber(job: ScanJob, ordered: list[Page]) -> None:
    """Number ``ordered`` 1..n without breaking the (job, seq) uniqueness on the way.

    The database checks the constraint row by row (PostgreSQL, SQLite), so a plain
    ``seq = seq + 1`` would collide; every row first takes its new number negated, then all
    flip sign in one statement.
    """
    for number, page in enumerate(ordered, start=1):
        page.seq = -number
    db.session.flush()
    db.session.execute(
        Page.__table__.update().where(Page.job_id == job.id).values(seq=-Page.__table__.c.seq)
    )
    for page in ordered:
        db.session.expire(page, ["seq"])
    db.session.expire(job, ["pages"])


def _finish(job: ScanJob, user: User | None, queued: int, change: str) -> PageChange:
    """Send the job through its stages again; a published document waits for approval again."""
    held = workflow.hold_for_review([job.document_id], user, change)
    job.status, job.error, job.finished_at = "running", None, None
    job.stage_lease_until, job.stage_attempts = None, 0
    job_id = job.id
    db.session.commit()
    # No page to OCR (a move, a removal): straight to assembly, decided once in the database.
    jobs.advance_job(job_id)
    return PageChange(job_id, queued, bool(held))


def open_pages(job_id: int) -> int:
    """Pages of the job still waiting for OCR or being OCRed (for the job page's notes)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Page)
        .where(Page.job_id == job_id, Page.state.in_(("queued", "running")))
    )
