"""Catalogue records and collections: saving, importing, linking documents, figures, withdrawal.

A document linked to a record takes its title, authors, type, languages and year from the
record (:func:`derive_document`), so the PDF metadata and the search index, which read the
document, follow the catalogue. Any change to a record or to a document's collection moves the
document's ``updated_at``, which is its OAI-PMH datestamp.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import BinaryIO
from urllib.parse import urlsplit

from blinker import Namespace
from flask import Flask
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from mura.app.core.import_tally import ImportTally
from mura.app.core.languages import to_marc, to_tesseract
from mura.app.extensions import db
from mura.app.models import (
    CatalogueRecord,
    Collection,
    CollectionItem,
    Document,
    OaiTombstone,
    RecordAgent,
    RecordSubject,
    StoredFile,
    User,
)
from mura.app.models.base import utcnow
from mura.app.models.record import CREATOR_ROLES
from mura.app.modules.catalogue.marc_import import (
    AgentData,
    EncodingSeen,
    MarcError,
    RecordData,
    encodings_seen,
    map_record,
    normalise_isbn,
    read_records,
)
from mura.app.modules.rights import visibility

log = logging.getLogger(__name__)

#: MARC language codes (ISO 639-2/B) whose Tesseract code differs.
#: The attributes of a record that a form or an import may set.
RECORD_FIELDS = (
    "doc_type", "title", "subtitle", "part", "responsibility", "edition", "place", "publisher",
    "year", "isbn", "issn", "extent", "illustrations", "dimensions", "series", "host_title",
    "host_year", "host_issue", "host_date", "host_pages", "languages", "local_lore", "branch",
    "notes", "external_id", "external_url",
)  # fmt: skip
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
#: What an imported record without the field has: a re-import clears what the catalogue dropped.
_IMPORT_DEFAULTS: dict[str, object] = {
    "host_title": "", "host_year": None, "host_issue": "", "host_date": None, "host_pages": "",
}  # fmt: skip


# --- saving records ----------------------------------------------------------------------------


def save_record(record: CatalogueRecord | None, data: RecordData) -> tuple[CatalogueRecord, bool]:
    """Create a record, or update ``record``, from ``data``; returns it and whether it changed.

    Agents and subjects are replaced as a whole. Linked documents are derived again and their
    datestamps moved when anything changed. Nothing is committed.
    """
    if record is None:
        record = CatalogueRecord(title="")
        db.session.add(record)
    before = _snapshot(record)
    for name, value in data.fields.items():
        if name in RECORD_FIELDS:
            setattr(record, name, _clip(name, value))
    if data.flavour:
        record.source_format = data.flavour
    if data.source_marc:
        record.source_marc = data.source_marc
    agents = [(a.kind, a.name, a.role, a.dates, a.authority_id) for a in data.agents if a.name]
    if agents != [(a.kind, a.name, a.role, a.dates, a.authority_id) for a in record.agents]:
        record.agents = [
            RecordAgent(position=i, **_clip_row(RecordAgent, asdict(a)))
            for i, a in enumerate(a for a in data.agents if a.name)
        ]
    subjects = [(s.kind, s.term, s.scheme, s.authority_id) for s in data.subjects if s.term]
    if subjects != [(s.kind, s.term, s.scheme, s.authority_id) for s in record.subjects]:
        record.subjects = [
            RecordSubject(position=i, **_clip_row(RecordSubject, asdict(s)))
            for i, s in enumerate(s for s in data.subjects if s.term)
        ]
    record.search_text = _search_text(record)
    changed = _snapshot(record) != before
    if changed and record.id is not None:
        record.updated_at = utcnow()
        for document in record.documents:
            derive_document(document)
            document.updated_at = utcnow()
    return record, changed


def delete_record(record_id: int) -> bool:
    """Delete a record that no document uses; False if documents still link to it."""
    record = db.session.get(CatalogueRecord, record_id)
    if record is None or record.documents:
        return False
    db.session.delete(record)
    db.session.commit()
    return True


def find_match(external_id: str | None, isbn: str) -> CatalogueRecord | None:
    """The record an imported one updates: same external id, else the only one with its ISBN.

    An ISBN match is refused when both records have different external ids: the volumes of a
    set often share the set's ISBN and are still different records.
    """
    if external_id:
        found = db.session.scalar(
            select(CatalogueRecord).where(CatalogueRecord.external_id == external_id)
        )
        if found is not None:
            return found
    if not isbn:
        return None
    candidates = db.session.scalars(
        select(CatalogueRecord).where(CatalogueRecord.isbn == isbn).limit(2)
    ).all()
    if len(candidates) != 1:
        return None
    found = candidates[0]
    if external_id and found.external_id and found.external_id != external_id:
        return None
    return found


def search_records(query: str, limit: int = 20) -> list[CatalogueRecord]:
    """Records whose title, names, ISBN or catalogue id contain ``query`` (the staff picker)."""
    words = _fold(query).split()
    stmt = select(CatalogueRecord).order_by(CatalogueRecord.updated_at.desc()).limit(limit)
    isbn = normalise_isbn(query)
    conditions = [CatalogueRecord.search_text.contains(w, autoescape=True) for w in words]
    if isbn:
        stmt = stmt.where(or_(CatalogueRecord.isbn == isbn, *conditions))
    elif conditions:
        stmt = stmt.where(*conditions)
    return list(db.session.scalars(stmt))


def record_summary(record: CatalogueRecord) -> dict:
    """What the picker shows and fills the upload form with."""
    return {
        "id": record.id,
        "title": record.full_title,
        "authors": [a.name for a in record.creators] or [a.name for a in record.agents],
        "doc_type": record.doc_type,
        "year": record.year or record.host_year,
        "langs": tesseract_langs(record.languages),
        "host": record.host_citation,
        "isbn": record.isbn,
        "external_id": record.external_id,
        "documents": len(record.documents),
    }


# --- import ------------------------------------------------------------------------------------


@dataclass
class ImportProblem:
    """A record that was not imported: its 1-based position in the file and why."""

    position: int
    reason: str
    offset: int | None = None
    external_id: str | None = None


@dataclass
class ImportReport(ImportTally):
    """What an import did; ``record_ids`` lists the records created or updated, in file order."""

    problems: list[ImportProblem] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)
    encodings: list[EncodingSeen] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready form (the CLI's ``--json``)."""
        return {
            **self.counts(),
            "record_ids": self.record_ids,
            "encodings": [asdict(e) for e in self.encodings],
        }


def is_web_address(url: str) -> bool:
    r"""True for an http(s) address with a host: the only links Mura publishes.

    A catalogue link is shown to every reader as a link; ``javascript:`` (or ``data:``, or any
    other scheme) there would run on Mura's pages when clicked (issue 18). Spaces and control
    characters are refused too: browsers drop them inside a scheme (``java\tscript:``).
    """
    if re.search(r"[\x00-\x20\x7f]", url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def import_marc(
    data: bytes,
    *,
    fmt: str = "auto",
    flavour: str = "auto",
    encoding: str | None = None,
    local_lore: bool = False,
    branch: str = "",
    url_template: str = "",
    may_update: Callable[[CatalogueRecord], bool] | None = None,
    changed_by: User | None = None,
) -> ImportReport:
    """Import a file of MARC records; re-import updates (external id, then ISBN), never duplicates.

    Args:
        data: The file's bytes (ISO 2709 or MARCXML).
        fmt: ``auto``, ``iso2709`` or ``marcxml``.
        flavour: ``auto``, ``unimarc`` (also RUSMARC, KAZMARC) or ``marc21``.
        encoding: Force the encoding of ISO 2709 records (``cp1251``, ``utf-8``, ``marc-8``).
        local_lore: Mark every record as local lore (a file from the local-lore department).
        branch: The holding branch, when the records do not say.
        url_template: Link to the record in the library's OPAC, ``{id}`` is the external id;
            an http(s) address (:func:`is_web_address`), else ``ValueError``.
        may_update: Whether an existing record may be changed (the web import passes the
            user's rule, ``services.permissions``); a record it refuses is reported, not changed.
        changed_by: Who imports: their published documents whose description changes wait for
            approval again (:func:`mura.app.modules.digitization.workflow.hold_for_review`).
    """
    from flask_babel import gettext as _

    from mura.app.modules.digitization import workflow

    if url_template and not is_web_address(url_template):
        raise ValueError(f"not an http(s) address: {url_template[:100]!r}")
    report = ImportReport()
    touched: set[int] = set()
    try:
        raws = list(read_records(data, fmt, encoding))
    except MarcError as exc:
        report.problems.append(ImportProblem(0, str(exc)))
        return report
    report.encodings = encodings_seen(raws)
    for raw in raws:
        if raw.record is None:
            report.problems.append(ImportProblem(raw.position, raw.error, raw.offset))
            continue
        try:
            mapped = map_record(raw.record, flavour)
        except MarcError as exc:
            external_id = raw.record["001"].data if raw.record["001"] else None
            report.problems.append(ImportProblem(raw.position, str(exc), raw.offset, external_id))
            continue
        except Exception as exc:  # a mapping bug must not lose the rest of the file
            log.exception("record %s: mapping failed", raw.position)
            report.problems.append(
                ImportProblem(raw.position, f"cannot map: {type(exc).__name__}: {exc}", raw.offset)
            )
            continue
        existing = find_match(mapped.fields.get("external_id"), mapped.fields.get("isbn", ""))
        if existing is not None and may_update is not None and not may_update(existing):
            message = _(
                "Matches record %(id)d, which describes another branch's documents: not changed.",
                id=existing.id,
            )
            report.problems.append(
                ImportProblem(raw.position, message, raw.offset, mapped.fields.get("external_id"))
            )
            continue
        _keep_local_choices(mapped, existing, local_lore, branch, url_template)
        record, changed = save_record(existing, mapped)
        db.session.flush()
        if existing is None:
            report.created += 1
        elif changed:
            report.updated += 1
            touched.update(d.id for d in record.documents)
        else:
            report.unchanged += 1
        report.record_ids.append(record.id)
    workflow.hold_for_review(sorted(touched), changed_by, "catalogue import")
    db.session.commit()
    after_documents_changed(touched)
    return report


def _keep_local_choices(
    mapped: RecordData,
    existing: CatalogueRecord | None,
    local_lore: bool,
    branch: str,
    url_template: str,
) -> None:
    """What staff set in Mura survives a re-import that does not say otherwise."""
    fields = mapped.fields
    for name, empty in _IMPORT_DEFAULTS.items():
        fields.setdefault(name, empty)
    fields["local_lore"] = bool(
        local_lore or fields.get("local_lore") or (existing and existing.local_lore)
    )
    fields["branch"] = fields.get("branch") or branch or (existing.branch if existing else "")
    external_id = fields.get("external_id")
    if url_template and external_id:
        fields["external_url"] = url_template.replace("{id}", str(external_id))
    elif existing is not None:
        fields["external_url"] = existing.external_url
    if existing is not None and not external_id:
        fields["external_id"] = existing.external_id


# --- documents ---------------------------------------------------------------------------------


def derive_document(document: Document) -> bool:
    """Copy the record's description onto its document; True if anything changed."""
    record = document.record
    if record is None:
        return False
    title = record.full_title
    if document.part_label:
        title = f"{title.rstrip('. ')}. {document.part_label}"
    values = {
        "title": _clip_to(Document, "title", title),
        "authors": [a.name for a in record.creators] or [a.name for a in record.agents],
        "doc_type": record.doc_type,
        "year": record.year or record.host_year or document.year,
    }
    if record.languages:
        values["langs"] = tesseract_langs(record.languages)
    changed = False
    for name, value in values.items():
        if getattr(document, name) != value:
            setattr(document, name, value)
            changed = True
    return changed


def link_document(document_id: int, record_id: int | None, part_label: str | None = None) -> bool:
    """Attach a document to a record (or detach it with ``None``) and commit.

    Returns False when the document or record does not exist.
    """
    document = db.session.get(Document, document_id)
    if document is None:
        return False
    if record_id is not None and db.session.get(CatalogueRecord, record_id) is None:
        return False
    document.record_id = record_id
    if part_label is not None:
        document.part_label = part_label.strip() or None
    db.session.flush()
    db.session.refresh(document, ["record"])
    derive_document(document)
    document.updated_at = utcnow()
    db.session.commit()
    after_documents_changed([document.id])
    return True


def record_for_upload(
    title: str, authors: Sequence[str], doc_type: str, langs: str, year: int | None
) -> CatalogueRecord:
    """A new record from the upload form's fields (the catalogue can enrich it later)."""
    data = RecordData(
        flavour="",
        fields={
            "title": title,
            "doc_type": doc_type,
            "year": year,
            "languages": marc_languages(langs),
        },
        agents=[AgentData("person", name, "aut") for name in authors if name.strip()],
    )
    record, _ = save_record(None, data)
    return record


def attach_upload(document_id: int, record_id: int | None, new_record: bool) -> int | None:
    """After an upload: link its document to the chosen record, or to a new one made from it."""
    if record_id:
        return record_id if link_document(document_id, record_id) else None
    if not new_record:
        return None
    document = db.session.get(Document, document_id)
    if document is None:
        return None
    record = record_for_upload(
        document.title, document.authors, document.doc_type, document.langs, document.year
    )
    db.session.flush()
    link_document(document_id, record.id)
    return record.id


#: Sent with ``document_ids`` after their catalogue description changed (committed), before
#: they are indexed again; the rights service decides their access again on it.
documents_described = Namespace().signal("documents-described")


def after_documents_changed(document_ids: Iterable[int]) -> None:
    """Bring the search index up to date for documents whose description changed (committed)."""
    from mura.app.modules.discovery import search as search_service

    # A new record, or new author dates, may change what the rights allow (docs/rights.md):
    # the rights service listens (rights.init_app) and withdraws what is no longer public;
    # the loop below re-indexes. A signal, so the catalogue does not import the rights.
    document_ids = sorted(set(document_ids))
    documents_described.send(document_ids=document_ids)
    for document_id in document_ids:
        try:
            search_service.index_document(document_id)
        except Exception:  # the description is saved; the index catches up at the next change
            log.exception("document %s: re-indexing after a catalogue change failed", document_id)


def tesseract_langs(languages: Iterable[str]) -> str:
    """MARC language codes as a Tesseract language string ("kaz", "rus" -> "kaz+rus")."""
    return "+".join(dict.fromkeys(to_tesseract(c) for c in languages if c))


def marc_languages(langs: str) -> list[str]:
    """A Tesseract language string as MARC language codes ("kaz+rus" -> ["kaz", "rus"])."""
    codes = [c for c in langs.split("+") if c and c not in ("osd", "equ")]
    return list(dict.fromkeys(to_marc(c) for c in codes))


# --- collections -------------------------------------------------------------------------------


@dataclass
class CollectionFigures:
    """How much a collection holds."""

    documents: int
    pages: int
    bytes: int

    @property
    def megabytes(self) -> float:
        """Size of the documents' PDFs in MB (10^6 bytes), one decimal."""
        return round(self.bytes / 1_000_000, 1)


def collection_figures(collection_id: int, public_only: bool = True) -> CollectionFigures:
    """Documents, pages and PDF size of a collection (public documents only, by default)."""
    stmt = (
        select(
            func.count(Document.id),
            func.coalesce(func.sum(Document.page_count), 0),
            func.coalesce(func.sum(StoredFile.size), 0),
        )
        .select_from(Document)
        .join(CollectionItem, CollectionItem.document_id == Document.id)
        .outerjoin(StoredFile, StoredFile.id == Document.pdf_file_id)
        .where(CollectionItem.collection_id == collection_id)
    )
    if public_only:
        stmt = stmt.where(visibility.listed_condition())
    documents, pages, size = db.session.execute(stmt).one()
    return CollectionFigures(int(documents), int(pages), int(size))


def collection_documents(
    collection_id: int,
    public_only: bool = True,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[Document]:
    """The collection's documents in their set order (unordered ones last, oldest first).

    ``offset`` and ``limit`` give one page of them (the public collection page).
    """
    stmt = (
        select(Document)
        .join(CollectionItem, CollectionItem.document_id == Document.id)
        .where(CollectionItem.collection_id == collection_id)
        .order_by(
            CollectionItem.position.is_(None),
            CollectionItem.position,
            Document.id,
        )
    )
    if public_only:
        stmt = stmt.where(visibility.listed_condition())
    return list(db.session.scalars(stmt.offset(offset).limit(limit)))


def _items(collection_id: int) -> list[CollectionItem]:
    """The collection's membership rows in its order (unordered ones last, oldest first)."""
    return list(
        db.session.scalars(
            select(CollectionItem)
            .where(CollectionItem.collection_id == collection_id)
            .order_by(
                CollectionItem.position.is_(None),
                CollectionItem.position,
                CollectionItem.document_id,
            )
        )
    )


def reorder_collection(collection_id: int, document_ids: Sequence[int]) -> None:
    """Put the collection's documents in the given order; others keep theirs, after them.

    Only this collection's positions change: the same document keeps its place in another.
    """
    items = {item.document_id: item for item in _items(collection_id)}
    ordered = [items[i] for i in dict.fromkeys(document_ids) if i in items]
    rest = [item for item in items.values() if item not in ordered]
    for position, item in enumerate([*ordered, *rest], start=1):
        item.position = position
    db.session.commit()


def add_to_collection(document_id: int, collection_id: int) -> bool:
    """Put a document into a collection, at its end; it stays in its other collections.

    Returns False if the document or the collection is missing. Adding it again changes
    nothing. The document joins an OAI set, so its datestamp moves.
    """
    document = db.session.get(Document, document_id)
    if document is None or db.session.get(Collection, collection_id) is None:
        return False
    if all(item.collection_id != collection_id for item in document.memberships):
        last = db.session.scalar(
            select(func.max(CollectionItem.position)).where(
                CollectionItem.collection_id == collection_id
            )
        )
        document.memberships.append(
            CollectionItem(collection_id=collection_id, position=(last or 0) + 1)
        )
        document.updated_at = utcnow()
    db.session.commit()
    after_documents_changed([document_id])
    return True


def remove_from_collection(document_id: int, collection_id: int) -> bool:
    """Take a document out of one collection; its other collections keep it.

    Returns False if the document is not in that collection. Its OAI sets change, so its
    datestamp moves.
    """
    document = db.session.get(Document, document_id)
    item = db.session.get(CollectionItem, (collection_id, document_id))
    if document is None or item is None:
        return False
    document.memberships.remove(item)
    document.updated_at = utcnow()
    db.session.commit()
    after_documents_changed([document_id])
    return True


def set_document_collections(document_id: int, collection_ids: Sequence[int]) -> bool:
    """Make a document's collections exactly ``collection_ids`` (new ones at their end).

    Returns False if the document or one of the collections is missing (nothing changes).
    """
    document = db.session.get(Document, document_id)
    wanted = list(dict.fromkeys(collection_ids))
    if document is None or any(db.session.get(Collection, c) is None for c in wanted):
        return False
    current = {item.collection_id for item in document.memberships}
    for item in [i for i in document.memberships if i.collection_id not in wanted]:
        document.memberships.remove(item)
    for collection_id in wanted:
        if collection_id not in current:
            last = db.session.scalar(
                select(func.max(CollectionItem.position)).where(
                    CollectionItem.collection_id == collection_id
                )
            )
            document.memberships.append(
                CollectionItem(collection_id=collection_id, position=(last or 0) + 1)
            )
    if current != set(wanted):
        document.updated_at = utcnow()
    db.session.commit()
    after_documents_changed([document_id])
    return True


def set_document_collection(document_id: int, collection_id: int | None) -> bool:
    """Deprecated: add a document to one collection (None: out of every collection).

    It no longer moves the document out of its other collections (:func:`add_to_collection`).
    """
    if collection_id is None:
        return set_document_collections(document_id, [])
    return add_to_collection(document_id, collection_id)


def reindex_members(collection_id: int) -> int:
    """Queue the re-indexing of a collection's public documents, sent when the session commits.

    The search index keeps each document's collection slugs (its facet and filter): when a
    collection's slug changes, its documents' entries must follow. Queued, not done here: a
    collection may hold thousands of documents. Returns how many were queued.
    """
    from mura.app.core import task_names
    from mura.app.core.queue import enqueue_after_commit

    ids = [document.id for document in collection_documents(collection_id, public_only=True)]
    for document_id in ids:
        enqueue_after_commit(task_names.REINDEX_DOCUMENT, document_id)
    return len(ids)


def check_slug(slug: str) -> bool:
    """Slugs are URL parts and OAI setSpecs: lower-case Latin letters, digits, ``._-``."""
    return bool(SLUG.match(slug))


def save_cover(collection: Collection, stream: BinaryIO, name: str) -> None:
    """Keep an uploaded cover image (checked to be an image) and use it for ``collection``."""
    from PIL import Image, UnidentifiedImageError

    from mura.app.core import files

    try:
        with Image.open(stream) as image:
            image.verify()
            mime = Image.MIME.get(image.format or "", "")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not an image: {exc}") from exc
    if mime not in ("image/jpeg", "image/png", "image/webp", "image/gif"):
        raise ValueError(f"cover must be JPEG, PNG, WebP or GIF, not {mime or 'unknown'}")
    stream.seek(0)
    collection.cover_file = files.keep_stream(stream, "cover", name, mime)


# --- withdrawal --------------------------------------------------------------------------------


def set_spec(collection: Collection | None) -> str | None:
    """The OAI setSpec of a collection: its slug, or ``c<id>`` for a slug OAI cannot carry."""
    if collection is None:
        return None
    return collection.slug if check_slug(collection.slug) else f"c{collection.id}"


def set_specs(document: Document) -> list[str]:
    """The OAI setSpecs of every collection of a document (a record is in each of its sets)."""
    return [spec for spec in map(set_spec, document.collections) if spec]


def tombstone_specs(specs: Sequence[str]) -> str | None:
    """The setSpecs kept on a tombstone: ``" a b "`` (padded, so one is found by `` a ``)."""
    return f" {' '.join(specs)} " if specs else None


def tombstone_spec_list(value: str | None) -> list[str]:
    """The setSpecs of a tombstone, whether written one bare or several padded."""
    return (value or "").split()


def withdraw_document(document_id: int, reason: str) -> OaiTombstone:
    """Tell harvesters a document that was public no longer is (OAI status "deleted") and commit.

    Call it when a public document stops being public: unpublished, rights withdrawn, deleted.
    It does not decide visibility (``services.visibility`` does): a document that is public
    again is harvested as a live record whatever its tombstone says. It also takes the document
    out of the search index.
    """
    from mura.app.modules.discovery import search as search_service

    document = db.session.get(Document, document_id)
    tombstone = _tombstone(document_id, document, reason)
    db.session.commit()
    try:
        search_service.get_engine().remove_document(document_id)
    except Exception:  # the tombstone is what harvesters need; the index is rebuilt from rows
        log.exception("document %s: removing it from the search index failed", document_id)
    return tombstone


def tombstone_document(document_id: int, reason: str) -> OaiTombstone:
    """Like :func:`withdraw_document`, inside the caller's transaction (nothing is committed).

    The search index is left to the caller (a re-index task after the commit).
    """
    return _tombstone(document_id, db.session.get(Document, document_id), reason)


def _tombstone(document_id: int, document: Document | None, reason: str) -> OaiTombstone:
    tombstone = db.session.scalar(
        select(OaiTombstone).where(OaiTombstone.document_id == document_id)
    )
    if tombstone is None:
        tombstone = OaiTombstone(document_id=document_id)
        db.session.add(tombstone)
    if document is not None:
        tombstone.set_spec = tombstone_specs(set_specs(document))
    tombstone.withdrawn_at = utcnow()
    tombstone.reason = reason
    return tombstone


def _tombstone_deleted_documents(
    session: Session, flush_context: object, instances: object
) -> None:
    """A public document deleted through the ORM gets its tombstone in the same transaction."""
    deleted = [obj for obj in session.deleted if isinstance(obj, Document)]
    if not deleted:
        return
    with session.no_autoflush:
        for document in deleted:
            if visibility.is_listed(document):
                _tombstone(document.id, document, "deleted")


def init_app(app: Flask) -> None:
    """Write tombstones for deleted public documents (once per process)."""
    from flask_sqlalchemy.session import Session as session_class

    if not event.contains(session_class, "before_flush", _tombstone_deleted_documents):
        event.listen(session_class, "before_flush", _tombstone_deleted_documents)


# --- helpers -----------------------------------------------------------------------------------


def _snapshot(record: CatalogueRecord) -> tuple:
    return (
        tuple(getattr(record, name) for name in RECORD_FIELDS),
        tuple((a.kind, a.name, a.role, a.dates, a.authority_id) for a in record.agents),
        tuple((s.kind, s.term, s.scheme, s.authority_id) for s in record.subjects),
    )


def _clip(name: str, value: object) -> object:
    return _clip_to(CatalogueRecord, name, value)


def _clip_to(model: type, name: str, value: object) -> object:
    """Cut a string to its column's length: a catalogue's overlong note must not fail an import."""
    if isinstance(value, str):
        length = getattr(model.__table__.c[name].type, "length", None)
        if length and len(value) > length:
            return value[: length - 1] + "…"
    return value


def _clip_row(model: type, values: dict) -> dict:
    return {name: _clip_to(model, name, value) for name, value in values.items()}


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


def _search_text(record: CatalogueRecord) -> str:
    parts = [
        record.title,
        record.subtitle,
        record.part,
        record.responsibility,
        record.host_title,
        record.isbn,
        record.external_id or "",
        str(record.year or ""),
        *(a.name for a in record.agents),
    ]
    return _fold(" ".join(p for p in parts if p))


__all__ = [
    "CREATOR_ROLES",
    "CollectionFigures",
    "ImportProblem",
    "ImportReport",
    "after_documents_changed",
    "attach_upload",
    "collection_documents",
    "collection_figures",
    "derive_document",
    "find_match",
    "import_marc",
    "link_document",
    "reindex_members",
    "save_record",
    "search_records",
    "withdraw_document",
]
