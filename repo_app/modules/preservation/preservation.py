"""Preservation export and import: documents as BagIt bags (RFC 8493) that outlive Mura.

A bag holds, per document, everything needed to read it without Mura and to restore it into
another installation::

    bag-info.txt, bagit.txt, manifest-sha256.txt, tagmanifest-sha256.txt
    data/collection.json                       (a collection export: the collection's fields)
    data/documents/<id>/document.pdf           the searchable PDF
    data/documents/<id>/scans/0001.png         the uploaded files, unchanged (one per file)
    data/documents/<id>/pages/0001.pdf|.hocr|.txt   each page's PDF, word boxes and OCR text
    data/documents/<id>/pages/0001.alto.xml    each page's ALTO 4 (made from its hOCR)
    data/documents/<id>/metadata/dc.xml        simple Dublin Core (oai_dc)
    data/documents/<id>/metadata/marc.xml      MARC 21 (MARCXML)
    data/documents/<id>/metadata/rusmarc.mrc   RUSMARC (ISO 2709, UTF-8), as IRBIS imports it
    data/documents/<id>/metadata/mets.xml      METS: the files, their checksums, the page order
    data/documents/<id>/metadata/mura.json     Mura's own description, read back by the import:
                                               the document, its pages, its catalogue record
                                               (every field, agents, subjects) and rights mark

Every file copied out of the store is re-hashed on the way: a bag never carries an object that
failed its fixity. The bag is built in a hidden folder beside the target and renamed into place,
so a half-written bag is never visible under the target name. Bags are BagIt 1.0 (RFC 8493):
``bagit`` writes 0.97, so ``bagit.txt`` is rewritten and the tag manifest made again.

The import validates the whole bag (``bagit``: every payload file against
``manifest-sha256.txt``) and checks that each file's SHA-256 is the one Mura recorded before
anything is written. It restores the catalogue record (matched by its id in the library system
when the installation has it already) and the rights mark, so the access decided in the new
installation is the bag's; where it is not (a contract, which a bag does not carry, opened the
document), the report says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import fields as fields_of
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import bagit
from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from mura.app.core.files import get_store
from mura.app.extensions import db
from mura.app.models import Collection, CollectionItem, Document, Page, ScanJob, StoredFile
from mura.app.models.base import utcnow
from mura.app.models.record import CatalogueRecord
from mura.app.models.rights import DocumentRights
from mura.app.modules.digitization.articles import export_regions, regions_of, restore_regions
from mura.app.modules.preservation import alto
from mura.storage import StoreError
from mura.workers.pipeline.hocr import point_image_bytes

log = logging.getLogger(__name__)

#: Written into every mura.json; the import refuses a format it does not know.
FORMAT = "mura-bag/1"
#: Extensions of stored files by MIME type (the store keeps no names).
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "image/jp2": ".jp2",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "application/pdf": ".pdf",
}
#: Page fields carried over as they are.
PAGE_FIELDS = (
    "seq", "frame", "state", "attempts", "error_code", "error_reason", "worker", "langs", "text",
    "text_corrected", "corrected_by", "flags", "mean_confidence", "word_count", "width_pt",
    "height_pt", "dpi", "rotation", "skew_deg", "timings", "warnings",
)  # fmt: skip
PAGE_DATES = ("queued_at", "started_at", "finished_at", "corrected_at")
DOCUMENT_FIELDS = (
    "title", "authors", "doc_type", "langs", "year", "part_label", "collection_position",
    "page_count", "access", "access_reason", "access_download", "access_print", "rights_uri",
    "status", "review_comment", "skip_review",
)  # fmt: skip
COLLECTION_FIELDS = ("slug", "title", "description", "title_kk", "title_ru", "title_en", "branch")
#: A page's files in mura.json, and the Page column each one goes to.
ROLES = (
    ("scan", "source_file_id"),
    ("pdf", "pdf_file_id"),
    ("hocr", "hocr_file_id"),
    ("text", "text_file_id"),
)
#: What ``bagit.txt`` says: RFC 8493 (``bagit`` itself writes 0.97).
BAGIT_VERSION = "1.0"
#: Catalogue record columns that mura.json does not carry (the new installation sets them).
RECORD_SKIPPED = ("id", "search_text", "created_at", "updated_at")
METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
_CHUNK = 1024 * 1024
#: METS file groups: USE, and which bag paths belong (FULLTEXT: ALTO, as DFG-Viewer and
#: Kitodo look for it).
METS_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("master", lambda p: p.startswith("scans/")),
    ("pdf", lambda p: p.startswith("pages/") and p.endswith(".pdf")),
    ("hocr", lambda p: p.endswith(".hocr")),
    ("text", lambda p: p.endswith(".txt")),
    ("FULLTEXT", lambda p: p.endswith(".alto.xml")),
    ("document", lambda p: p == "document.pdf"),
)


class PreservationError(Exception):
    """An export or import that cannot be done; ``str()`` says why, for people."""


@dataclass
class ExportReport:
    """What an export wrote."""

    path: Path
    documents: list[int] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "path": str(self.path),
            "documents": self.documents,
            "files": self.files,
            "bytes": self.bytes,
        }


@dataclass
class ImportReport:
    """What an import restored: old document id -> new document id."""

    documents: dict[int, int] = field(default_factory=dict)
    files: int = 0
    collection: str | None = None
    #: Catalogue records: old id in the bag -> id here (made or matched).
    records: dict[int, int] = field(default_factory=dict)
    #: Documents whose access here is not the bag's (old id -> "online -> not_public: why").
    access_differs: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready (keys as strings, as JSON has them)."""
        return {
            "documents": {str(k): v for k, v in self.documents.items()},
            "files": self.files,
            "collection": self.collection,
            "records": {str(k): v for k, v in self.records.items()},
            "access_differs": {str(k): v for k, v in self.access_differs.items()},
        }


# --- export --------------------------------------------------------------------------------------


def documents_of_collection(slug: str) -> list[int]:
    """Ids of a collection's documents, in the collection's order."""
    collection = db.session.scalar(select(Collection).where(Collection.slug == slug))
    if collection is None:
        raise PreservationError(f"no collection {slug!r}")
    return list(
        db.session.scalars(
            select(CollectionItem.document_id)
            .where(CollectionItem.collection_id == collection.id)
            .order_by(
                CollectionItem.position.is_(None),
                CollectionItem.position,
                CollectionItem.document_id,
            )
        )
    )


def export_bag(
    document_ids: Iterable[int], target: Path, *, collection: str | None = None
) -> ExportReport:
    """Write the documents as one BagIt bag at ``target`` (which must not exist, or be empty).

    Args:
        document_ids: The documents to export.
        target: The bag's folder.
        collection: Slug of the collection being exported (its fields go in collection.json).

    Raises:
        PreservationError: A document is missing, a stored file failed its fixity check, or
            the target is not empty.
    """
    ids = list(document_ids)
    if not ids:
        raise PreservationError("nothing to export: no documents")
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PreservationError(f"{target} exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    report = ExportReport(target)
    try:
        if collection:
            _write_json(staging / "collection.json", _collection_fields(collection))
        for document_id in ids:
            document = db.session.get(Document, document_id)
            if document is None:
                raise PreservationError(f"no document {document_id}")
            files, size = _export_document(document, staging / "documents" / str(document.id))
            report.documents.append(document.id)
            report.files += files
            report.bytes += size
        bagit.make_bag(str(staging), _bag_info(ids, collection), checksums=["sha256"])
        _declare_bagit_1_0(staging)
        if target.exists():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _declare_bagit_1_0(bag_dir: Path) -> None:
    """Say BagIt 1.0 (RFC 8493) in ``bagit.txt`` and make the tag manifest again.

    ``bagit`` writes "0.97"; what Mura writes is already 1.0 (UTF-8 tag files, SHA-256, no
    duplicate manifest entries, no names that need percent-encoding), so only the declaration
    and the tag manifest's checksum of ``bagit.txt`` change.
    """
    (bag_dir / "bagit.txt").write_text(
        f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )
    bagit.Bag(str(bag_dir)).save()


def _bag_info(ids: list[int], collection: str | None) -> dict[str, str]:
    what = f"collection {collection}" if collection else f"{len(ids)} document(s)"
    return {
        "Source-Organization": "Mura digitization workbench",
        "External-Description": f"Mura preservation export: {what}",
        "External-Identifier": " ".join(f"mura:document:{i}" for i in ids)[:1000],
        "Bagging-Date": datetime.now(UTC).date().isoformat(),
        "Mura-Format": FORMAT,
    }


def _collection_fields(slug: str) -> dict:
    row = db.session.scalar(select(Collection).where(Collection.slug == slug))
    if row is None:
        raise PreservationError(f"no collection {slug!r}")
    return {name: getattr(row, name) for name in COLLECTION_FIELDS}


def _export_document(document: Document, folder: Path) -> tuple[int, int]:
    """Write one document's files and metadata; returns (files, bytes)."""
    pages = list(
        db.session.scalars(select(Page).where(Page.document_id == document.id).order_by(Page.seq))
    )
    files: dict[str, dict] = {}  # bag-relative path -> file facts
    scans: dict[int, str] = {}  # stored file id -> path (a multi-page TIFF is one file)
    page_rows = []
    for page in pages:
        row = {name: getattr(page, name) for name in PAGE_FIELDS}
        row.update({name: _iso(getattr(page, name)) for name in PAGE_DATES})
        row["files"] = {}
        if page.source_file_id not in scans:
            scan = page.source_file
            scans[scan.id] = f"scans/{len(scans) + 1:04d}{EXTENSIONS.get(scan.mime, '.bin')}"
            files[scans[scan.id]] = _copy_out(scan, folder / scans[scan.id])
        row["files"]["scan"] = scans[page.source_file_id]
        for role, column, ext in (
            ("pdf", Page.pdf_file_id, ".pdf"),
            ("hocr", Page.hocr_file_id, ".hocr"),
            ("text", Page.text_file_id, ".txt"),
        ):
            file_id = getattr(page, column.key)
            if file_id is not None:
                name = f"pages/{page.seq:04d}{ext}"
                files[name] = _copy_out(db.session.get(StoredFile, file_id), folder / name)
                row["files"][role] = name
        if "hocr" in row["files"]:
            # The hOCR names the scan as the bag holds it (and its frame), and ALTO is made
            # from it: both are the bag's own files, hashed as written.
            image = "../" + row["files"]["scan"]  # from pages/, where hOCR and ALTO are
            hocr = folder / row["files"]["hocr"]
            files[row["files"]["hocr"]] = _point_hocr(hocr, image, page.frame)
            name = f"pages/{page.seq:04d}.alto.xml"
            try:
                files[name] = _write_alto(hocr, folder / name, image, page)
                row["files"]["alto"] = name
            except alto.AltoError as exc:  # the hOCR itself is in the bag, as it is
                log.warning("document %s page %s: no ALTO: %s", document.id, page.seq, exc)
        page_rows.append(row)
    if document.pdf_file_id is not None:
        from mura.app.modules.catalogue import pdf_stamp

        # The PDF says what the catalogue says now, even if its re-stamp is still queued.
        try:
            pdf_file = pdf_stamp.restamp(document.id) or document.pdf_file
        except Exception as exc:  # a damaged PDF: the copy below names it (fixity)
            db.session.rollback()
            log.warning("document %s: PDF not re-stamped before export: %s", document.id, exc)
            pdf_file = document.pdf_file
        files["document.pdf"] = _copy_out(pdf_file, folder / "document.pdf")
    description = _describe(document, pages, page_rows, files)
    _write_json(folder / "metadata" / "mura.json", description)
    _write_metadata(document, folder / "metadata", page_rows, files)
    return len(files), sum(f["size"] for f in files.values())


def _point_hocr(path: Path, image: str, frame: int) -> dict:
    """Make a copied-out hOCR name the scan as the bag holds it; its facts as written."""
    data = point_image_bytes(path.read_bytes(), image, frame)
    path.write_bytes(data)
    return _facts_of_written(path, data, "text/vnd.hocr+html", "page_hocr")


def _write_alto(hocr: Path, out: Path, image: str, page: Page) -> dict:
    """Write a page's ALTO 4, made from its hOCR in the bag; its facts as written."""
    data = alto.alto_from_hocr(hocr.read_bytes(), alto.AltoPage(
        seq=page.seq,
        image_name=image,
        processed_at=page.finished_at,
        langs=page.langs or (page.job.langs if page.job else ""),
    ))  # fmt: skip
    out.write_bytes(data)
    return _facts_of_written(out, data, alto.MIME, "page_alto")


def _facts_of_written(path: Path, data: bytes, mime: str, kind: str) -> dict:
    """What mura.json says of a file the export wrote (not copied from the store)."""
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mime": mime,
        "kind": kind,
        "original_name": path.name,
    }


def _record_fields(record: CatalogueRecord | None) -> dict | None:
    """Everything of a catalogue record the import needs to make it again (mura.json)."""
    if record is None:
        return None
    fields = {
        column.key: getattr(record, column.key)
        for column in CatalogueRecord.__table__.columns
        if column.key not in RECORD_SKIPPED
    }
    fields["host_date"] = record.host_date.isoformat() if record.host_date else None
    return {
        "id": record.id,
        **fields,
        "agents": [
            {
                "kind": a.kind,
                "name": a.name,
                "role": a.role,
                "dates": a.dates,
                "authority_id": a.authority_id,
            }  # fmt: skip
            for a in record.agents
        ],
        "subjects": [
            {"kind": s.kind, "term": s.term, "scheme": s.scheme, "authority_id": s.authority_id}
            for s in record.subjects
        ],
    }


def _describe(document: Document, pages: list[Page], page_rows: list[dict], files: dict) -> dict:
    job = db.session.scalar(
        select(ScanJob).where(ScanJob.document_id == document.id).order_by(ScanJob.id.desc())
    )
    mark = db.session.scalar(
        select(DocumentRights).where(DocumentRights.document_id == document.id)
    )
    return {
        "format": FORMAT,
        "exported_at": _iso(utcnow()),
        "document": {
            "id": document.id,
            **{name: getattr(document, name) for name in DOCUMENT_FIELDS},
            "collection": _collection_of(document),  # the first, for older readers
            "collections": [
                {**_collection_of_item(item), "position": item.position}
                for item in document.memberships
            ],
            "rights_mark": {"mark": mark.mark, "reason": mark.reason} if mark else None,
            "record_id": document.record_id,
            "record": _record_fields(document.record),
            "created_at": _iso(document.created_at),
        },
        "job": {
            "langs": job.langs if job else document.langs,
            "options": (job.options or {}) if job else {},
            "status": job.status if job else "done",
        },
        "pdf": "document.pdf" if "document.pdf" in files else None,
        "pages": page_rows,
        "files": files,
        # An article clipped from an issue: where each of its pages was cut (docs/workflow.md).
        **({"regions": regions} if (regions := export_regions(document.id)) else {}),
    }


def _collection_of_item(item: CollectionItem) -> dict:
    return {name: getattr(item.collection, name) for name in COLLECTION_FIELDS}


def _collection_of(document: Document) -> dict | None:
    if document.collection is None:
        return None
    return {name: getattr(document.collection, name) for name in COLLECTION_FIELDS}


def _copy_out(row: StoredFile, dest: Path) -> dict:
    """Copy a stored object to ``dest``, re-hashing it; refuse an object that changed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with get_store().open(row.sha256) as src, open(dest, "wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except StoreError as exc:
        raise PreservationError(f"stored file {row.id} ({row.kind}) is missing: {exc}") from exc
    if digest.hexdigest() != row.sha256:
        raise PreservationError(
            f"stored file {row.id} ({row.kind}) failed its fixity check: its bytes no longer "
            f"hash to {row.sha256}; run `mura fixity` and restore it from a backup"
        )
    return {
        "sha256": row.sha256,
        "size": size,
        "mime": row.mime,
        "kind": row.kind,
        "original_name": row.original_name,
    }


def _write_metadata(document: Document, folder: Path, page_rows: list[dict], files: dict) -> None:
    from mura.app.modules.catalogue import metadata, oai

    folder.mkdir(parents=True, exist_ok=True)
    identifier = f"mura:document:{document.id}"
    dc = metadata.dublin_core(document)
    dc.setdefault("identifier", []).insert(0, identifier)
    root = etree.Element(f"{{{oai.OAI_DC_NS}}}dc", nsmap={"oai_dc": oai.OAI_DC_NS, "dc": oai.DC_NS})
    for name in metadata.DC_ELEMENTS:
        for value in dc.get(name, []):
            etree.SubElement(root, f"{{{oai.DC_NS}}}{name}").text = _xml_text(value)
    _write_xml(folder / "dc.xml", root)
    marc = metadata.marc21(document, identifier, host_identifier=lambda i: f"mura:document:{i}")
    (folder / "marc.xml").write_bytes(_marcxml(marc))
    rusmarc = metadata.unimarc(document, identifier, host_identifier=lambda i: f"mura:document:{i}")
    (folder / "rusmarc.mrc").write_bytes(rusmarc.as_marc())
    _write_xml(folder / "mets.xml", _mets(document, root, page_rows, files))


def _marcxml(record) -> bytes:
    import pymarc

    return pymarc.record_to_xml(record, namespace=True)


def _mets(document: Document, dc: etree._Element, pages: list[dict], files: dict) -> etree._Element:
    """A METS document: descriptive metadata (DC), the file groups, and the physical page order."""
    m = f"{{{METS_NS}}}"
    mets = etree.Element(
        m + "mets",
        nsmap={"mets": METS_NS, "xlink": XLINK_NS},
        OBJID=f"mura:document:{document.id}",
        LABEL=_xml_text(document.title)[:1000],
        TYPE=document.doc_type,
    )
    header = etree.SubElement(mets, m + "metsHdr", CREATEDATE=_iso(utcnow())[:19])
    agent = etree.SubElement(
        header, m + "agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE"
    )
    etree.SubElement(agent, m + "name").text = "Mura"
    wrap = etree.SubElement(
        etree.SubElement(mets, m + "dmdSec", ID="DMD1"), m + "mdWrap", MDTYPE="DC"
    )
    etree.SubElement(wrap, m + "xmlData").append(dc)
    file_sec = etree.SubElement(mets, m + "fileSec")
    ids: dict[str, str] = {}
    for use, belongs in METS_GROUPS:
        members = sorted(p for p in files if belongs(p))
        if not members:
            continue
        group = etree.SubElement(file_sec, m + "fileGrp", USE=use)
        for path in members:
            facts = files[path]
            ids[path] = f"F{len(ids) + 1}"
            entry = etree.SubElement(
                group, m + "file", ID=ids[path], MIMETYPE=facts["mime"],
                SIZE=str(facts["size"]), CHECKSUM=facts["sha256"], CHECKSUMTYPE="SHA-256",
            )  # fmt: skip
            etree.SubElement(
                entry, m + "FLocat", LOCTYPE="URL", **{f"{{{XLINK_NS}}}href": f"../{path}"}
            )
    struct = etree.SubElement(mets, m + "structMap", TYPE="physical")
    top = etree.SubElement(struct, m + "div", TYPE=document.doc_type, DMDID="DMD1")
    if "document.pdf" in ids:
        etree.SubElement(top, m + "fptr", FILEID=ids["document.pdf"])
    uses = Counter(page["files"].get("scan") for page in pages)
    for page in pages:
        div = etree.SubElement(
            top, m + "div", TYPE="page", ORDER=str(page["seq"]), ORDERLABEL=str(page["seq"])
        )
        for role, path in page["files"].items():
            fptr = etree.SubElement(div, m + "fptr")
            if role == "scan" and (uses[path] > 1 or page.get("frame")):
                # One frame of a multi-page TIFF (or page of a PDF), 1-based: BEGIN = END.
                frame = str((page.get("frame") or 0) + 1)
                etree.SubElement(fptr, m + "area", FILEID=ids[path], BEGIN=frame, END=frame)
            else:
                fptr.set("FILEID", ids[path])
    _host_areas(mets, top, document.id, ids)
    return mets


def _host_areas(mets: etree._Element, top: etree._Element, article_id: int, ids: dict) -> None:
    """Where a clipped article's pages are on its issue's page images: ``mets:area`` RECTs.

    The issue's images get a file group of their own (``USE="host"``): each names the image
    by the issue's id and page and by its SHA-256, the same bytes the issue's bag holds under
    ``scans/``. Each article page's ``div`` then points at its region of that image
    (``SHAPE="RECT"``, ``COORDS`` left,top,right,bottom in the stored image's pixels), as
    METS viewers (DFG-Viewer, Goobi) mark an article on a newspaper page.
    """
    regions = regions_of(article_id)
    if not regions:
        return
    m = f"{{{METS_NS}}}"
    group = etree.SubElement(mets.find(m + "fileSec"), m + "fileGrp", USE="host")
    host_ids: dict[int, str] = {}
    for region in regions:
        page = region.source_page
        if page.id in host_ids:
            continue
        scan = page.source_file
        host_ids[page.id] = f"F{len(ids) + len(host_ids) + 1}"
        entry = etree.SubElement(
            group, m + "file", ID=host_ids[page.id],
            MIMETYPE=scan.mime or "application/octet-stream", SIZE=str(scan.size),
            CHECKSUM=scan.sha256, CHECKSUMTYPE="SHA-256",
        )  # fmt: skip
        etree.SubElement(
            entry, m + "FLocat", LOCTYPE="OTHER", OTHERLOCTYPE="mura",
            **{f"{{{XLINK_NS}}}href": f"mura:document:{region.source_document_id}:page:{page.seq}"},
        )  # fmt: skip
    divs = {int(div.get("ORDER")): div for div in top.iterfind(m + "div")}
    for region in regions:
        div = divs.get(region.position)
        if div is None:
            continue
        x0, y0, x1, y1 = region.box
        area = etree.SubElement(
            etree.SubElement(div, m + "fptr"), m + "area", FILEID=host_ids[region.source_page_id],
            SHAPE="RECT", COORDS=f"{x0},{y0},{x1},{y1}",
        )  # fmt: skip
        if _frames_of(region.source_page) > 1:  # a frame of a multi-page TIFF, 1-based
            area.set("BEGIN", str(region.source_page.frame + 1))
            area.set("END", str(region.source_page.frame + 1))


def _frames_of(page: Page) -> int:
    """How many frames of the page's stored file are pages (re-OCR rows share a frame)."""
    return db.session.scalar(
        select(func.count(func.distinct(Page.frame))).where(
            Page.source_file_id == page.source_file_id
        )
    )


def _write_xml(path: Path, root: etree._Element) -> None:
    path.write_bytes(
        etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def _xml_text(value: str) -> str:
    """XML 1.0 cannot hold most control characters (OCR text and MARC may have them)."""
    return "".join(c for c in str(value) if c in "\t\n\r" or ord(c) >= 0x20)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- import --------------------------------------------------------------------------------------


def import_bag(path: Path) -> ImportReport:
    """Restore the documents of a bag written by :func:`export_bag`.

    The whole bag is validated first (every payload file against its SHA-256 manifest); then
    each document is restored in one transaction: its files into the store (their SHA-256
    checked against the recorded one), its rows, its rights mark; then its rights are decided
    and it is indexed. A document keeps its id when that id is free (stable public addresses
    in a fresh installation), else it gets a new one.

    Raises:
        PreservationError: Not a bag, a file changed or missing, or an unknown format.
    """
    path = Path(path)
    try:
        bag = bagit.Bag(str(path))
        bag.validate(processes=1)
    except bagit.BagError as exc:
        raise PreservationError(f"{path} is not a valid bag: {_bag_error(exc)}") from exc
    data = path / "data"
    report = ImportReport()
    # Every description is read and checked before anything is restored: a broken one refuses
    # the whole bag, as a changed file does, instead of a traceback half-way (issue 18).
    collection = (
        _read_json(data / "collection.json", dict) if (data / "collection.json").is_file() else None
    )
    descriptions = sorted(
        (data / "documents").glob("*/metadata/mura.json"), key=lambda p: _folder_id(p.parent.parent)
    )
    if not descriptions:
        raise PreservationError(
            f"{path} holds no Mura document (no data/documents/*/metadata/mura.json)"
        )
    loaded = [(d.parent.parent, _description(d)) for d in descriptions]
    if collection is not None:
        report.collection = _restore(
            data / "collection.json", _get_or_create_collection, collection
        ).slug
        db.session.commit()
    for folder, desc in loaded:
        old_id, new_id, files = _restore(
            folder / "metadata" / "mura.json", _import_document, folder, desc, report
        )
        report.documents[old_id] = new_id
        report.files += files
    for folder, desc in loaded:  # articles find their issues once every document is back
        if desc.get("regions"):
            article_id = report.documents[int(desc["document"]["id"])]
            _restore(
                folder / "metadata" / "mura.json",
                restore_regions,
                article_id,
                desc["regions"],
                report.documents,
            )
    return report


def _folder_id(folder: Path) -> int:
    if not folder.name.isdecimal() or len(folder.name) > 10:
        raise PreservationError(f"{folder}: not a document folder of a Mura bag (a number)")
    return int(folder.name)


def _read_json(path: Path, kind: type) -> Any:
    """A JSON file of the bag, which must hold a ``kind`` (an object, a list)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PreservationError(f"{path}: not readable JSON ({_short(exc)})") from exc
    if not isinstance(value, kind):
        raise PreservationError(f"{path}: holds {type(value).__name__}, not a JSON {kind.__name__}")
    return value


def _description(path: Path) -> dict:
    """A document's ``mura.json``, with the parts every restore reads checked for their kind."""
    desc = _read_json(path, dict)
    if desc.get("format") != FORMAT:
        raise PreservationError(f"{path.parent.parent}: unknown format {desc.get('format')!r}")
    shape = {"document": dict, "files": dict, "pages": list}
    for name, kind in shape.items():
        if not isinstance(desc.get(name), kind):
            raise PreservationError(f"{path}: {name!r} missing or not a JSON {kind.__name__}")
    document_id = desc["document"].get("id")
    if type(document_id) is not int or not 0 < document_id < 2**31:
        raise PreservationError(f"{path}: the document has no id (a number)")
    return desc


def _restore(path: Path, step: Callable[..., Any], *args: Any) -> Any:
    """Run one restore step; a description it cannot use is named, and its transaction undone."""
    try:
        return step(*args)
    except PreservationError:
        db.session.rollback()
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, SQLAlchemyError) as exc:
        db.session.rollback()
        raise PreservationError(
            f"{path}: not a description Mura can restore ({_short(exc)})"
        ) from exc


def _short(exc: BaseException) -> str:
    line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {line[:200]}" if line else type(exc).__name__


def _bag_error(exc: Exception) -> str:
    details = getattr(exc, "details", None) or []
    shown = "; ".join(str(d) for d in details[:5])
    return f"{exc}: {shown}" if shown else str(exc)


def _import_document(folder: Path, desc: dict, report: ImportReport) -> tuple[int, int, int]:
    if desc.get("format") != FORMAT:
        raise PreservationError(f"{folder}: unknown format {desc.get('format')!r}")
    from mura.app.modules.discovery import search as search_service
    from mura.app.modules.rights import rights

    fields = desc["document"]
    old_id = int(fields["id"])
    images = _master_names(desc)
    stored = {
        name: _keep(folder, name, facts, images.get(name))
        for name, facts in desc["files"].items()
        if facts.get("kind") != "page_alto"  # made from the hOCR whenever asked for
    }
    db.session.flush()  # ids for the pages
    document = Document(**{name: fields[name] for name in DOCUMENT_FIELDS if name in fields})
    if fields.get("record"):
        document.record = _restore_record(fields["record"], report)
    # Every collection of the document (a bag from before many-to-many names one).
    for entry in fields.get("collections") or (
        [fields["collection"]] if fields.get("collection") else []
    ):
        position = entry.get("position", fields.get("collection_position"))
        document.memberships.append(
            CollectionItem(collection=_get_or_create_collection(entry), position=position)
        )
    if db.session.get(Document, old_id) is None:
        document.id = old_id
    db.session.add(document)
    db.session.flush()
    job_facts = desc.get("job") or {}
    job = ScanJob(
        document=document,
        langs=job_facts.get("langs") or document.langs,
        options=job_facts.get("options") or {},
        status="done" if desc.get("pdf") else "failed",
        finished_at=utcnow(),
    )
    db.session.add(job)
    for row in desc["pages"]:
        page = Page(job=job, document_id=document.id)
        for name in PAGE_FIELDS:
            setattr(page, name, row.get(name))
        for name in PAGE_DATES:
            setattr(page, name, _parse_date(row.get(name)))
        page.attempts = row.get("attempts") or 0
        for role, attr in ROLES:
            if role in row["files"]:
                setattr(page, attr, stored[row["files"][role]].id)
        db.session.add(page)
    if desc.get("pdf"):
        document.pdf_file_id = stored[desc["pdf"]].id
    mark = fields.get("rights_mark")
    if mark:
        db.session.add(
            DocumentRights(
                document_id=document.id,
                mark=mark["mark"],
                reason=mark.get("reason") or "",
                set_by="import-bag",
            )  # fmt: skip
        )
    db.session.commit()
    _bump_sequence("documents")
    rights.refresh_rights([document.id], reindex=False)
    if fields.get("access") and document.access != fields["access"]:
        report.access_differs[old_id] = (
            f"{fields['access']} in the bag, {document.access} here: {document.access_reason}"
        )
    search_service.index_document(document.id)
    return old_id, document.id, len(stored)


def _restore_record(fields: dict, report: ImportReport) -> CatalogueRecord:
    """The document's catalogue record here: made from the bag's, or the one already here.

    A record the installation has already (same id in the library system, MARC 001) is
    used as it is: the catalogue here may be newer than the bag. Documents of one record in
    the bag share one record here.
    """
    from mura.app.modules.catalogue import records
    from mura.app.modules.catalogue.marc_import import AgentData, RecordData, SubjectData

    old_id = fields.get("id")
    if isinstance(old_id, int) and old_id in report.records:
        return db.session.get(CatalogueRecord, report.records[old_id])
    external_id = fields.get("external_id") or None
    existing = (
        db.session.scalar(select(CatalogueRecord).where(CatalogueRecord.external_id == external_id))
        if external_id
        else None
    )
    if existing is None:
        values = {name: fields[name] for name in records.RECORD_FIELDS if name in fields}
        values["external_id"] = external_id
        if values.get("host_date"):
            values["host_date"] = date.fromisoformat(values["host_date"])
        data = RecordData(
            flavour=fields.get("source_format") or "",
            fields=values,
            agents=[AgentData(**_only(a, AgentData)) for a in fields.get("agents") or []],
            subjects=[SubjectData(**_only(s, SubjectData)) for s in fields.get("subjects") or []],
            source_marc=fields.get("source_marc") or "",
        )
        existing, _ = records.save_record(None, data)
        db.session.flush()
    if isinstance(old_id, int):
        report.records[old_id] = existing.id
    return existing


def _only(values: dict, kind: type) -> dict:
    """The keys of ``values`` that the dataclass ``kind`` has (a newer bag may carry more)."""
    names = {f.name for f in fields_of(kind)}
    return {k: v for k, v in values.items() if k in names}


def _master_names(desc: dict) -> dict[str, tuple[str, int]]:
    """Each hOCR file of the bag -> (its scan's SHA-256, frame): what it names once restored."""
    found: dict[str, tuple[str, int]] = {}
    for row in desc["pages"]:
        names = row.get("files") or {}
        scan = desc["files"].get(names.get("scan"), {})
        if names.get("hocr") and scan.get("sha256"):
            found[names["hocr"]] = (scan["sha256"], int(row.get("frame") or 0))
    return found


def _keep(folder: Path, name: str, facts: dict, image: tuple[str, int] | None = None) -> StoredFile:
    """Put one bag file into the store, checking it is the file Mura recorded.

    An hOCR file (``image`` given) names the scan by its path in the bag; the stored copy
    names the stored master (its SHA-256) instead, as the worker's do.
    """
    source = (folder / name).resolve()
    if not source.is_relative_to(folder.resolve()) or not source.is_file():
        raise PreservationError(f"{folder}: {name!r} is not a file of this bag")
    if image is not None:
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != facts["sha256"]:
            raise PreservationError(
                f"{folder / name}: SHA-256 is not the recorded {facts['sha256']}"
            )
        obj = _put(io.BytesIO(point_image_bytes(data, *image)))
    else:
        with open(source, "rb") as stream:
            obj = _put(stream)
        if obj.sha256 != facts["sha256"]:
            raise PreservationError(
                f"{folder / name}: SHA-256 {obj.sha256} is not the recorded {facts['sha256']}"
            )
    row = StoredFile(
        sha256=obj.sha256,
        size=obj.size,
        kind=facts.get("kind") or "scan",
        mime=facts.get("mime") or "application/octet-stream",
        original_name=(facts.get("original_name") or "")[:500],
    )
    db.session.add(row)
    return row


def _put(stream: BinaryIO):
    return get_store().put_stream(stream)


def _get_or_create_collection(fields: dict) -> Collection:
    row = db.session.scalar(select(Collection).where(Collection.slug == fields["slug"]))
    if row is None:
        row = Collection(**{k: v for k, v in fields.items() if k in COLLECTION_FIELDS})
        db.session.add(row)
        db.session.flush()
    return row


def _bump_sequence(table: str) -> None:
    """After an explicit id, PostgreSQL's sequence must move past it (SQLite needs nothing)."""
    if db.engine.dialect.name != "postgresql":
        return
    top = db.session.scalar(select(func.max(Document.id))) or 1
    db.session.execute(
        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"), {"t": table, "v": top}
    )
    db.session.commit()


def _parse_date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
