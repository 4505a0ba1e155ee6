"""Ingest: uploaded page images become a document, a scan job and one queued task per page.

Every uploaded file is kept unchanged in the store before anything else is decided about it, so a
bad file loses nothing: a file that cannot be read becomes one page that fails with its reason,
and the other pages of the job go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from mura.app.core import files
from mura.app.core.languages import parse_langs
from mura.app.extensions import db
from mura.app.models import DOC_TYPES, Collection, CollectionItem, Document, Page, ScanJob, User
from mura.app.models.base import utcnow
from mura.app.modules.administration import audit
from mura.app.modules.digitization import jobs
from mura.storage import StoreError


class IngestError(ValueError):
    """The request cannot become a job; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Upload:
    """One uploaded file: its display name and a readable binary stream."""

    name: str
    stream: BinaryIO


@dataclass
class DocumentFields:
    """What staff say about the document they upload."""

    title: str
    doc_type: str
    authors: list[str] = field(default_factory=list)
    langs: str = ""
    #: Deprecated: one collection's slug (code written before :attr:`collections`).
    collection: str | None = None
    year: int | None = None
    #: Slugs of every collection the document goes in.
    collections: list[str] = field(default_factory=list)

    def collection_slugs(self) -> list[str]:
        """Every collection named, once each, in the order given."""
        return list(dict.fromkeys(s for s in [self.collection, *self.collections] if s))


def check_fields(fields: DocumentFields) -> DocumentFields:
    """Validate and normalise the document fields, or raise :class:`IngestError`."""
    title = " ".join(fields.title.split())
    if not title:
        raise IngestError(_("A title is required."), "title")
    if fields.doc_type not in DOC_TYPES:
        raise IngestError(_("Unknown document type “%(type)s”.", type=fields.doc_type), "doc_type")
    try:
        langs = parse_langs(fields.langs or current_app.config["DEFAULT_LANGS"])
    except ValueError as exc:
        raise IngestError(str(exc), "langs") from exc
    slugs = fields.collection_slugs()
    for slug in slugs:
        if not _collection(slug):
            raise IngestError(_("No collection “%(slug)s”.", slug=slug), "collection")
    authors = [" ".join(a.split()) for a in fields.authors if a.strip()]
    return DocumentFields(
        title, fields.doc_type, authors, langs, year=fields.year, collections=slugs
    )


def ingest(
    uploads: Sequence[Upload],
    fields: DocumentFields,
    options: dict | None = None,
    user: User | None = None,
    *,
    refuse_unusable: bool = False,
) -> ScanJob:
    """Create the document, its scan job and pages; OCR tasks are sent after the commit.

    ``user`` is who uploads: the job records them and their branch, and the audit log the upload.
    With ``refuse_unusable`` (the upload form), a file that cannot be a page at all (empty,
    not an image or PDF, truncated) refuses the whole upload with the reason of each such file,
    and nothing is created: staff choose again rather than find failed pages later. Without it
    (``mura ingest``, bulk work) such a file becomes a page that fails with its reason.
    """
    if not uploads:
        raise IngestError(_("Choose at least one page image."), "files")
    fields = check_fields(fields)
    document = Document(
        title=fields.title,
        authors=fields.authors,
        doc_type=fields.doc_type,
        langs=fields.langs,
        year=fields.year,
        status="scanned",  # the workflow starts here (modules/digitization/workflow.py)
    )
    for slug in fields.collections:
        document.memberships.append(_at_end(_collection(slug)))  # type: ignore[arg-type]
    job = ScanJob(document=document, langs=fields.langs, options=options or {}, status="queued")
    if user is not None:
        job.created_by_id, job.branch_id = user.id, user.branch_id
    db.session.add_all([document, job])
    db.session.flush()  # ids for the pages
    pages = _pages_of(uploads, job, document)
    unusable = _unusable(pages) if refuse_unusable else []
    if unusable:
        db.session.rollback()
        raise IngestError(
            _(
                "Not accepted, nothing was saved: %(files)s. Remove or replace these files.",
                files="; ".join(unusable),
            ),
            "files",
        )
    if len(pages) > current_app.config["MAX_PAGES_PER_JOB"]:
        db.session.rollback()
        raise IngestError(
            _(
                "%(n)d pages is more than one job may hold (%(max)d); split the upload.",
                n=len(pages),
                max=current_app.config["MAX_PAGES_PER_JOB"],
            ),
            "files",
        )
    db.session.add_all(pages)
    db.session.flush()
    for page in pages:
        if page.state == "queued":
            jobs.enqueue_page(page)
    audit.record(
        "job.upload",
        "scan_job",
        job.id,
        actor=user,
        document_id=document.id,
        title=document.title,
        pages=len(pages),
        files=len(uploads),
    )
    db.session.commit()
    jobs.advance_job(job.id)  # a job whose every file was unreadable ends here
    return job


def _pages_of(uploads: Sequence[Upload], job: ScanJob, document: Document) -> list[Page]:
    from mura.workers.pipeline.inputs import inspect_upload

    pages: list[Page] = []
    now = utcnow()
    for upload in uploads:
        try:
            stored = files.keep_stream(upload.stream, "scan", upload.name)
        except StoreError as exc:  # disk full, store unreachable: say so, keep nothing
            db.session.rollback()
            raise IngestError(
                _("The file could not be stored (%(reason)s); nothing was kept.", reason=exc),
                "files",
            ) from exc
        info = inspect_upload(files.local_path(stored))
        stored.mime = info.mime
        for frame in range(info.pages):
            page = Page(
                job=job,
                document_id=document.id,
                seq=len(pages) + 1,
                source_file=stored,
                frame=frame,
                state="queued",
                queued_at=now,
            )
            if info.error_code:
                page.state = "failed"
                page.error_code = info.error_code
                page.error_reason = info.error_reason
                page.finished_at = now
            pages.append(page)
    return pages


def _unusable(pages: Sequence[Page]) -> list[str]:
    """``name (why)`` of each uploaded file that cannot be a page, once per file."""
    from mura.app.modules.digitization.job_status import failure_label

    seen: dict[str, str] = {}
    for page in pages:
        if page.state == "failed" and page.error_code:
            name = page.source_file.original_name or "?"
            seen.setdefault(name, f"{name} ({failure_label(page.error_code)})")
    return list(seen.values())


def _at_end(collection: Collection) -> CollectionItem:
    """A membership at the end of ``collection``'s order."""
    last = db.session.scalar(
        db.select(db.func.max(CollectionItem.position)).where(
            CollectionItem.collection_id == collection.id
        )
    )
    return CollectionItem(collection=collection, position=(last or 0) + 1)


def _collection(slug: str) -> Collection | None:
    return db.session.scalar(db.select(Collection).where(Collection.slug == slug))
