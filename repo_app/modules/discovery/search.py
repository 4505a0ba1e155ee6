"""The search index as the app uses it: this process's engine, what goes into it, rebuilds.

Only public documents are fed to the index. A reader's search request is :mod:`.discovery`.

The engine itself lives in :mod:`mura.app.search` (the only module that imports an engine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import Document, Page, ScanJob
from mura.app.modules.rights import visibility
from mura.app.search import DocumentEntry, PageEntry, SearchEngine, open_engine
from mura.app.search.engine import open_index
from mura.app.search.rebuild import RebuildReport, rebuild


def get_engine() -> SearchEngine:
    """This process's engine (opened once; it refreshes its searcher itself)."""
    engine = current_app.extensions.get("mura_search")
    if engine is None:
        engine = open_engine(
            current_app.config["SEARCH_ENGINE"], Path(current_app.config["INDEX_DIR"]), load_texts
        )
        current_app.extensions["mura_search"] = engine
    return engine


def load_texts(page_ids: Sequence[int]) -> dict[int, str]:
    """Page texts by page id: the page-text store the index reads snippets from."""
    rows = db.session.execute(
        select(Page.id, Page.text, Page.text_corrected).where(Page.id.in_(list(page_ids)))
    )
    return {
        page_id: corrected if corrected is not None else (text or "")
        for page_id, text, corrected in rows
    }


def document_pages(document_id: int, first: int = 1, count: int | None = None) -> list[Page]:
    """The pages of the document's latest finished job, in order; ``count`` from ``first`` on."""
    job_id = db.session.scalar(
        select(ScanJob.id)
        .where(ScanJob.document_id == document_id, ScanJob.status.in_(("indexing", "done")))
        .order_by(ScanJob.id.desc())
        .limit(1)
    )
    if job_id is None:
        return []
    pages = select(Page).where(Page.job_id == job_id, Page.seq >= first).order_by(Page.seq)
    return list(db.session.scalars(pages if count is None else pages.limit(count)))


def document_entry(document: Document) -> DocumentEntry:
    """What the index keeps of a document: its text's fields and every facet's values.

    The facets come from the document and its catalogue record (authors and subjects as
    catalogued, the host item an article comes from, its date), so the search page counts,
    filters and sorts from the index alone. Whatever changes them re-indexes the document
    (:func:`index_document`: publication, rights, collections, the record and its link).
    """
    record = document.record
    year = document.year
    source = ""
    when = None
    creators: list[str] | None = None
    subjects: list[str] = []
    if record is not None:
        year = year or record.host_year or (record.host_date.year if record.host_date else None)
        source = (record.host_title or "").strip()
        when = record.host_date
        creators = [agent.name for agent in record.creators if agent.name.strip()] or None
        subjects = [subject.term for subject in record.subjects if subject.term.strip()]
    return DocumentEntry(
        document_id=document.id,
        title=document.title,
        authors=list(document.authors or []),
        doc_type=document.doc_type,
        languages=document.languages,
        collection=tuple(c.slug for c in document.collections),
        year=year,
        source=source,
        creators=creators,
        subjects=tuple(subjects),
        sort_date=when,
    )


def index_document(document_id: int) -> int:
    """(Re)index every page of a public document, or remove it; returns pages indexed."""
    document = db.session.get(Document, document_id)
    engine = get_engine()
    if document is None or not visibility.is_public(document):
        engine.remove_document(document_id)
        return 0
    pages = [
        PageEntry(page_id=p.id, seq=p.seq, text=p.best_text)
        for p in document_pages(document_id)
        if p.state == "done"
    ]
    engine.index_document(document_entry(document), pages)
    return len(pages)


# --- rebuilding the index (`mura reindex`) -------------------------------------------------------


def public_document_ids() -> list[int]:
    """Ids of every document the public may see: what a rebuilt index holds."""
    query = select(Document.id).where(visibility.public_condition()).order_by(Document.id)
    return list(db.session.scalars(query))


def index_source(document_id: int) -> tuple[DocumentEntry, list[PageEntry]] | None:
    """A public document's index entry and done pages, as ``index_document`` writes them.

    Returns:
        ``None`` when the document is gone or not public (it must not be in the index).
    """
    document = db.session.get(Document, document_id)
    if document is None or not visibility.is_public(document):
        return None
    pages = [
        PageEntry(page_id=p.id, seq=p.seq, text=p.best_text)
        for p in document_pages(document_id)
        if p.state == "done"
    ]
    return document_entry(document), pages


def rebuild_index(
    kind: str | None = None, progress: Callable[[int], None] | None = None
) -> RebuildReport:
    """Rebuild the index of ``kind`` (default: the configured engine) into a new folder.

    Readers keep searching the old index, and the indexing queue keeps writing to it, until the
    new one is complete; then every process switches to it (:mod:`mura.app.search.rebuild`).

    Args:
        kind: Engine kind; ``MURA_SEARCH_ENGINE`` when not given.
        progress: Called with 1 after each document.

    Raises:
        RebuildRunningError: When a rebuild of that kind already runs.
    """
    kind = kind or current_app.config["SEARCH_ENGINE"]
    ids = public_document_ids()

    def source(document_id: int) -> tuple[DocumentEntry, list[PageEntry]] | None:
        item = index_source(document_id)
        db.session.expire_all()  # keep the session small over a whole collection
        return item

    return rebuild(
        kind,
        Path(current_app.config["INDEX_DIR"]),
        lambda folder: open_index(kind, folder, load_texts),
        ids,
        source,
        progress=progress,
    )
