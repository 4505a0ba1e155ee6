"""The end of a job's or a document's life: discard a failed job, withdraw, restore, delete.

=========================  ==========================================  ============================
action                     what happens                                who
=========================  ==========================================  ============================
:func:`discard_job`        a failed (or partly failed) job, its pages  staff of the job's branch,
                           and files are gone; its document too when   administrators
                           it has no other job
:func:`withdraw_document`  off the public site (search, reader, IIIF,  administrators
                           OAI tombstone, report); kept
:func:`restore_document`   back to the state it was withdrawn from     administrators
:func:`delete_document`    gone with its pages and files; the public   administrators; staff for
                           URL answers 410 Gone, OAI keeps a           their branch's documents
                           tombstone (when it was ever public)         that were never public
=========================  ==========================================  ============================

Why staff may delete only what the public never saw: a harvested or cited record disappearing
is an administrator's decision; a bad upload that nobody outside the branch saw is the branch's
own mess to clear. Every action is audited with its reason. Stored objects are removed only
after the commit (a rollback loses nothing) and only when no row refers to their content any
more: the store is content-addressed, two uploads of one scan share one object.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select, update

from mura.app.core import files
from mura.app.core.queue import enqueue_after_commit
from mura.app.extensions import db
from mura.app.models import (
    ArticleRegion,
    AuditEvent,
    Collection,
    Contract,
    CopyRequest,
    Document,
    DocumentRights,
    OaiTombstone,
    Page,
    ScanJob,
    StoredFile,
    User,
)
from mura.app.modules.administration import audit, permissions
from mura.app.modules.digitization import workflow
from mura.app.modules.rights import visibility

log = logging.getLogger(__name__)

#: Longest reason kept (audit event and OAI tombstone).
MAX_REASON = 2000
#: Columns that refer to a stored file: an object is removed only when none of them does.
FILE_COLUMNS = (
    Page.source_file_id,
    Page.pdf_file_id,
    Page.hocr_file_id,
    Page.text_file_id,
    Document.pdf_file_id,
    Collection.cover_file_id,
    Contract.scan_file_id,
)


class LifecycleError(Exception):
    """An action the rules do not allow now; ``reason`` is shown to the user as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Removed:
    """What an action removed, for the message staff see and for the tests."""

    pages: int
    files: int
    document_removed: bool


# --- who may ---------------------------------------------------------------------------------


def may_discard(user: User | None, job: ScanJob) -> bool:
    """Staff of the job's branch (and administrators), for a job that is discardable."""
    if user is None or user.role not in ("admin", "staff"):
        return False  # reviewers change nothing but their decisions
    return discardable(job) and permissions.can_edit(user, job.document)


def may_withdraw(user: User | None, document: Document) -> bool:
    """Administrators, for a document not withdrawn yet."""
    return user is not None and user.is_admin and document.status != "withdrawn"


def may_restore(user: User | None, document: Document) -> bool:
    """Administrators, for a withdrawn document."""
    return user is not None and user.is_admin and document.status == "withdrawn"


def may_delete(user: User | None, document: Document) -> bool:
    """Administrators any document; staff their branch's documents the public never saw."""
    if user is None:
        return False
    if user.is_admin:
        return True
    return (
        user.role == "staff"
        and permissions.can_edit(user, document)
        and document.status not in ("published", "withdrawn")
        and not ever_public(document.id)
    )


def ever_public(document_id: int) -> bool:
    """Whether harvesters were ever told about it (it has an OAI tombstone or is listed now)."""
    document = db.session.get(Document, document_id)
    if document is not None and visibility.is_listed(document):
        return True
    return _tombstone_of(document_id) is not None


def was_deleted(document_id: int) -> bool:
    """A public URL of a document that was public and is deleted answers 410, not 404."""
    return db.session.get(Document, document_id) is None and _tombstone_of(document_id) is not None


def missing_status(document_id: int) -> int:
    """What a public URL of a document the reader may not see answers: 410 if deleted, else 404."""
    return 410 if was_deleted(document_id) else 404


# --- discard a failed job ----------------------------------------------------------------------


def discardable(job: ScanJob) -> bool:
    """A job that ended (not under way) with its whole output failed, or some pages failed."""
    if job.status == "failed":
        return True
    return job.status == "done" and any(page.state == "failed" for page in job.pages)


def discard_job(job: ScanJob, user: User | None, reason: str = "") -> Removed:
    """Remove a failed job, its pages and their files; its document too if nothing else is left.

    Raises:
        LifecycleError: the job is under way or succeeded, its document is public (withdraw
            or delete the document instead), or articles were clipped from its pages.
    """
    if not discardable(job):
        raise LifecycleError(
            _("Only a failed job, or a finished one with failed pages, can be discarded.")
        )
    document = job.document
    if visibility.is_listed(document):
        raise LifecycleError(
            _("The document is on the public site: withdraw or delete the document instead.")
        )
    page_ids = [page.id for page in job.pages]
    _refuse_clipped_pages(page_ids)
    others = db.session.scalar(
        select(func.count())
        .select_from(ScanJob)
        .where(ScanJob.document_id == document.id, ScanJob.id != job.id)
    )
    file_ids = _page_file_ids(page_ids)
    audit.record(
        "job.discard", "scan_job", job.id, actor=user, document=document.id,
        title=document.title, status=job.status, pages=len(page_ids),
        document_removed=not others, reason=_clip(reason),
    )  # fmt: skip
    db.session.delete(job)  # its pages go with it (ScanJob.pages cascade)
    db.session.flush()
    if not others:
        file_ids.append(document.pdf_file_id)
        _delete_document_rows(document)
    else:
        document.page_count = _page_count(document.id)
    shas = _drop_unreferenced_files(file_ids)
    db.session.commit()
    removed = _remove_objects(shas)
    _forget_derived_images(page_ids)
    if not others:
        _out_of_index(document.id)
    return Removed(pages=len(page_ids), files=removed, document_removed=not others)


# --- withdraw, restore ---------------------------------------------------------------------------


def withdraw_document(document: Document, user: User, reason: str) -> None:
    """Take a document off the public site, keeping it (and its files) to be restored.

    Harvesters see it deleted (OAI tombstone) if it was public; it leaves the search index at
    once (not after a worker's turn: the withdrawal is usually urgent).
    """
    from mura.app.modules.catalogue import records

    if not may_withdraw(user, document):
        raise LifecycleError(_("Only an administrator can withdraw a document."))
    reason = _required_reason(reason)
    was_listed, previous = visibility.is_listed(document), document.status
    document.status = "withdrawn"
    audit.record(
        "document.withdraw", "document", document.id, actor=user,
        reason=reason, previous_status=previous, was_public=was_listed,
    )  # fmt: skip
    db.session.commit()
    if was_listed:  # commits the tombstone, takes it out of the index
        records.withdraw_document(document.id, f"withdrawn: {reason}"[:MAX_REASON])
    else:
        _out_of_index(document.id)


def restore_document(document: Document, user: User) -> str:
    """Put a withdrawn document back in the state it was withdrawn from; returns that state.

    The state is read from the withdrawal's audit event (the one place it is kept); a
    document withdrawn before that (none) goes back to ``published``. A public document is
    harvested as a live record again whatever its tombstone says (catalogue/oai.py).
    """
    if not may_restore(user, document):
        raise LifecycleError(_("Only an administrator can restore a withdrawn document."))
    event = db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == "document.withdraw",
            AuditEvent.object_type == "document",
            AuditEvent.object_id == str(document.id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    previous = str((event.details or {}).get("previous_status", "")) if event else ""
    if previous not in workflow.STATE_LABELS or previous == "withdrawn":
        previous = "published"
    document.status = previous
    audit.record("document.restore", "document", document.id, actor=user, status=previous)
    enqueue_after_commit(workflow.REINDEX_TASK, document.id)  # in the search index again
    db.session.commit()
    return previous


# --- delete ------------------------------------------------------------------------------------


def delete_document(document: Document, user: User, reason: str) -> Removed:
    """Delete a document with its jobs, pages and files; audited, tombstoned if ever public.

    Raises:
        LifecycleError: not allowed for this user, no reason, or an issue whose articles
            still exist (they are cut from its pages: delete the articles first).
    """
    from mura.app.modules.catalogue import records

    if not may_delete(user, document):
        raise LifecycleError(
            _(
                "Only an administrator can delete this document: staff delete their own "
                "branch's documents that were never public."
            )
        )
    reason = _required_reason(reason)
    articles = db.session.scalar(
        select(func.count(func.distinct(ArticleRegion.article_id))).where(
            ArticleRegion.source_document_id == document.id,
            ArticleRegion.article_id != document.id,
        )
    )
    if articles:
        raise LifecycleError(
            ngettext(
                "%(num)d article was clipped from this document: delete it first.",
                "%(num)d articles were clipped from this document: delete them first.",
                articles,
            )
        )
    document_id = document.id
    was_public = ever_public(document_id)
    jobs = list(db.session.scalars(select(ScanJob).where(ScanJob.document_id == document_id)))
    page_ids = list(db.session.scalars(select(Page.id).where(Page.document_id == document_id)))
    file_ids = [*_page_file_ids(page_ids), document.pdf_file_id]
    audit.record(
        "document.delete", "document", document_id, actor=user, reason=reason,
        title=document.title, status=document.status, was_public=was_public,
        pages=len(page_ids), jobs=[job.id for job in jobs],
    )  # fmt: skip
    for job in jobs:
        db.session.delete(job)  # its pages go with it
    db.session.flush()
    _delete_document_rows(document)  # the before_flush hook tombstones a listed document
    if was_public:
        records.tombstone_document(document_id, f"deleted: {reason}"[:MAX_REASON])
    shas = _drop_unreferenced_files(file_ids)
    db.session.commit()
    removed = _remove_objects(shas)
    _forget_derived_images(page_ids)
    _out_of_index(document_id)
    return Removed(pages=len(page_ids), files=removed, document_removed=True)


# --- helpers -----------------------------------------------------------------------------------


def _required_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise LifecycleError(_("Give a reason: it is kept in the audit log."))
    return _clip(reason)


def _clip(reason: str) -> str:
    return (reason or "").strip()[:MAX_REASON]


def _tombstone_of(document_id: int) -> OaiTombstone | None:
    return db.session.scalar(select(OaiTombstone).where(OaiTombstone.document_id == document_id))


def _refuse_clipped_pages(page_ids: list[int]) -> None:
    if not page_ids:
        return
    n = db.session.scalar(
        select(func.count(func.distinct(ArticleRegion.article_id))).where(
            ArticleRegion.source_page_id.in_(page_ids)
        )
    )
    if n:
        raise LifecycleError(
            ngettext(
                "%(num)d article was clipped from these pages: delete it first.",
                "%(num)d articles were clipped from these pages: delete them first.",
                n,
            )
        )


def _page_file_ids(page_ids: list[int]) -> list[int | None]:
    if not page_ids:
        return []
    rows = db.session.execute(
        select(Page.source_file_id, Page.pdf_file_id, Page.hocr_file_id, Page.text_file_id).where(
            Page.id.in_(page_ids)
        )
    )
    return [file_id for row in rows for file_id in row]


def _page_count(document_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(func.distinct(Page.seq))).where(Page.document_id == document_id)
        )
        or 0
    )


def _delete_document_rows(document: Document) -> None:
    """The document and what only it owns; copy requests keep their text (document emptied)."""
    document_id = document.id
    db.session.execute(delete(ArticleRegion).where(ArticleRegion.article_id == document_id))
    db.session.execute(delete(DocumentRights).where(DocumentRights.document_id == document_id))
    db.session.execute(
        update(CopyRequest).where(CopyRequest.document_id == document_id).values(document_id=None)
    )
    db.session.delete(document)  # memberships go with it (Document.memberships cascade)
    db.session.flush()


def _drop_unreferenced_files(file_ids: Iterable[int | None]) -> set[str]:
    """Delete the rows of these files that nothing refers to now; their addresses."""
    db.session.flush()
    wanted = {file_id for file_id in file_ids if file_id is not None}
    if not wanted:
        return set()
    used: set[int] = set()
    for column in FILE_COLUMNS:
        used.update(db.session.scalars(select(column).where(column.in_(wanted))))
    gone = wanted - used
    if not gone:
        return set()
    shas = set(db.session.scalars(select(StoredFile.sha256).where(StoredFile.id.in_(gone))))
    db.session.execute(delete(StoredFile).where(StoredFile.id.in_(gone)))
    return shas


def _remove_objects(shas: set[str]) -> int:
    """Remove the objects of these addresses that no row names any more (after the commit)."""
    if not shas:
        return 0
    kept = set(db.session.scalars(select(StoredFile.sha256).where(StoredFile.sha256.in_(shas))))
    store = files.get_store()
    removed = 0
    for sha in sorted(shas - kept):
        try:
            removed += store.delete(sha)
        except OSError:  # an orphan object costs space, not correctness: fixity ignores it
            log.exception("removing stored object %s failed", sha)
    return removed


def _forget_derived_images(page_ids: list[int]) -> None:
    """Remove the reader's and IIIF's cached images of these pages (``<page id>-<sha>``).

    They would never be served again (their pages are gone), but a document deleted for its
    rights must not stay on disk as images.
    """
    from mura.app.modules.discovery.reader import cache_root

    root = cache_root()
    for kind in ("pages", "iiif"):
        folder = root / kind
        if not folder.is_dir():
            continue
        for page_id in page_ids:
            for cached in folder.glob(f"{page_id}-*"):
                shutil.rmtree(cached, ignore_errors=True)


def _out_of_index(document_id: int) -> None:
    from mura.app.modules.discovery import search as search_service

    try:
        search_service.get_engine().remove_document(document_id)
    except Exception:  # the rows decide; `mura reindex` rebuilds the index from them
        log.exception("document %s: removing it from the search index failed", document_id)
