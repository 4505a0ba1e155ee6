"""The document's PDF says what the catalogue says: re-stamped when the description changes.

The assembled PDF's Info and XMP come from the catalogue record at assembly
(:func:`metadata.document_meta`). A record linked later, a corrected author, a new title or a
change of rights would otherwise leave the PDF (and the copy in a bag) with the upload's title,
no author and no rights statement. So:

- a session hook notices, in every flush, documents with a PDF whose title, authors, record,
  volume, type, languages, year, collection or rights statement change, and documents whose
  catalogue record (or its agents or subjects) changes, and queues ``restamp_pdf(document_id)``
  after the commit (``core.queue``; the ``pdf`` queue);
- :func:`restamp` (the task, and the bag export before it copies the PDF) compares what the
  PDF says with what it should say and, only when they differ, writes a copy with the new
  metadata (pages, text and images untouched: no re-OCR), keeps it in the store and points the
  document at it. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from mura.app.core import files, task_names
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import (
    CatalogueRecord,
    CollectionItem,
    Document,
    RecordAgent,
    RecordSubject,
    StoredFile,
)
from mura.app.modules.catalogue import metadata
from mura.workers.pipeline.pdf import restamp_pdf, stamp_in, stamp_of

log = logging.getLogger(__name__)

#: Document columns that the PDF's metadata is made from (``metadata.document_meta``).
WATCHED = (
    "title", "authors", "record_id", "part_label", "doc_type", "langs", "year", "rights_uri",
)  # fmt: skip
_PENDING = "mura_restamp"


def restamp(document_id: int) -> StoredFile | None:
    """Re-stamp the document's PDF if its metadata is not the catalogue's; commit.

    Returns:
        The new PDF's stored file, or None: no such document, no PDF, or nothing to change.
    """
    document = db.session.get(Document, document_id)
    if document is None or document.pdf_file is None:
        return None
    meta = metadata.document_meta(document)
    source = files.local_path(document.pdf_file)
    if stamp_in(source) == stamp_of(meta):
        return None
    root = Path(current_app.config["WORK_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"restamp-{document_id}-", dir=root))
    try:
        out = restamp_pdf(source, work / "document.pdf", meta)
        stored = files.keep_file(out, "document_pdf", mime="application/pdf")
        db.session.flush()
        document.pdf_file_id = stored.id
        db.session.commit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("document %s: PDF re-stamped (%s)", document_id, stored.sha256[:12])
    return stored


def restamp_all(document_ids: list[int] | None = None) -> dict:
    """Re-stamp every PDF (of ``document_ids``, or of every document) that needs it.

    For ``mura records restamp``: PDFs assembled before a change that sent no task (or whose
    task a broker lost) are brought up to the catalogue. One failure does not stop the rest.

    Returns:
        ``checked`` (how many PDFs), ``restamped`` (document ids), ``failed`` (id -> why).
    """
    query = select(Document.id).where(Document.pdf_file_id.is_not(None)).order_by(Document.id)
    if document_ids is not None:
        query = query.where(Document.id.in_(sorted(set(document_ids))))
    report: dict = {"checked": 0, "restamped": [], "failed": {}}
    for document_id in list(db.session.scalars(query)):
        report["checked"] += 1
        try:
            if restamp(document_id) is not None:
                report["restamped"].append(document_id)
        except Exception as exc:  # a damaged PDF: named, and `mura fixity` tells more
            db.session.rollback()
            report["failed"][document_id] = f"{type(exc).__name__}: {exc}"[:500]
    return report


def documents_to_restamp(session: Session) -> set[int]:
    """Ids of the documents with a PDF whose metadata this flush changes."""
    found: set[int] = set()
    record_ids: set[int] = set()
    documents_with_pdf: set[int] = set()
    for obj in list(session.dirty):
        if isinstance(obj, Document) and obj.pdf_file_id is not None and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in (*WATCHED, "memberships")):
                found.add(obj.id)
        elif isinstance(obj, CatalogueRecord) and obj.id is not None and session.is_modified(obj):
            record_ids.add(obj.id)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        # A collection names the source of a record-less document; a new membership has no
        # document id yet and is seen on its document's memberships (above).
        if isinstance(obj, CollectionItem) and obj.document_id is not None:
            documents_with_pdf.add(obj.document_id)
        if isinstance(obj, RecordAgent | RecordSubject):
            record_id = obj.record_id or (obj.record.id if obj.record is not None else None)
            if record_id is not None:
                record_ids.add(record_id)
    if documents_with_pdf:
        found.update(
            session.scalars(
                select(Document.id).where(
                    Document.id.in_(sorted(documents_with_pdf)), Document.pdf_file_id.is_not(None)
                )
            )
        )
    if record_ids:
        found.update(
            session.scalars(
                select(Document.id).where(
                    Document.record_id.in_(sorted(record_ids)), Document.pdf_file_id.is_not(None)
                )
            )
        )
    return found


def _before_flush(session: Session, flush_context: object, instances: object) -> None:
    with session.no_autoflush:
        ids = documents_to_restamp(session)
    pending: set[int] = session.info.setdefault(_PENDING, set())
    for document_id in sorted(ids - pending):
        enqueue_after_commit(task_names.RESTAMP_PDF, document_id)
        pending.add(document_id)


def _forget(session: Session, *args: object) -> None:
    session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    """Watch every session for changes the PDF's metadata is made from (once per process)."""
    from flask_sqlalchemy.session import Session as session_class

    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_commit", _forget)
        event.listen(session_class, "after_soft_rollback", _forget)
