"""Articles clipped from the pages of a newspaper or journal issue (or of a book).

An article is a document of one of ``ARTICLE_TYPES`` whose pages are clippings: rectangles of
its source's stored page images, in reading order, one article page per rectangle
(``models.ArticleRegion``). :func:`clip_article` checks the regions, cuts the clippings from
the masters without loss (``workers/pipeline/clipping.py``), keeps them in the store and makes
the article, its scan job and one page per clipping; the worker then derives each page from the
source page's OCR (:func:`clipping_work`, no second OCR of the words the region holds whole),
and the job is assembled and indexed like any other. The source stays as it was.

The issue's text reaches its articles by deriving them again (:func:`rederive`, ``mura
articles rederive``): after the issue is OCRed again, its articles take the new words. A
staff correction of the issue page's plain text has no word boxes, so it does not reach the
article by itself; correct the article's page instead.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import (
    ARTICLE_TYPES,
    ArticleRegion,
    CatalogueRecord,
    Document,
    Page,
    ScanJob,
    StoredFile,
    User,
)
from mura.app.models.base import utcnow
from mura.app.modules.administration import audit
from mura.app.modules.digitization import jobs
from mura.storage import StoreError
from mura.workers.pipeline.clipping import (
    ClippingError,
    ClippingWork,
    SourceGeometry,
    cut,
    gap_nearest,
    hocr_blocks,
    hocr_page_words,
    image_size,
    ocr_to_stored,
    select_words,
    stored_box,
)

#: ``PAGE:X,Y,W,H`` as typed on the command line.
_REGION_RE = re.compile(r"^\s*(\d+)\s*:\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*$")
#: At most this many regions make one article (a long article runs over a few pages).
MAX_REGIONS = 50


class ArticleError(ValueError):
    """The article cannot be clipped as asked; ``message`` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Region:
    """A rectangle of a source page: page number (1-based) and pixels of the stored image."""

    page: int
    x: int
    y: int
    w: int
    h: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1)."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)


@dataclass
class ArticleFields:
    """What staff say about the article."""

    title: str
    doc_type: str
    authors: list[str] = field(default_factory=list)
    record_id: int | None = None


@dataclass
class Clipped:
    """The article's scan job, and warnings for staff (overlaps with other articles)."""

    job: ScanJob
    warnings: list[str] = field(default_factory=list)


def parse_region(text: str) -> Region:
    """``PAGE:X,Y,W,H`` → :class:`Region`, or :class:`ArticleError` saying what is wrong."""
    match = _REGION_RE.match(text or "")
    if not match:
        raise ArticleError(
            _(
                "“%(region)s” is not a region: write PAGE:X,Y,W,H, e.g. 1:120,80,900,1400.",
                region=text,
            )
        )
    page, x, y, w, h = (int(v) for v in match.groups())
    return Region(page, x, y, w, h)


def source_page(document: Document, seq: int) -> Page | None:
    """The OCRed page ``seq`` of a document (its latest finished row)."""
    return db.session.scalar(
        select(Page)
        .where(Page.document_id == document.id, Page.seq == seq, Page.state == "done")
        .order_by(Page.id.desc())
        .limit(1)
    )


def check_region(document: Document, region: Region) -> tuple[Page, tuple[int, int]]:
    """The source page of a region and its image size, or :class:`ArticleError`."""
    page = source_page(document, region.page)
    if page is None:
        raise ArticleError(
            _(
                "Page %(page)d of document %(id)d does not exist or has no OCR yet.",
                page=region.page,
                id=document.id,
            )
        )
    try:
        width, height = image_size(files.local_path(page.source_file), page.frame)
    except ClippingError as exc:
        raise ArticleError(
            _("Page %(page)d cannot be clipped: %(reason)s", page=region.page, reason=_reason(exc))
        ) from exc
    if region.w <= 0 or region.h <= 0:
        raise ArticleError(
            _(
                "The region on page %(page)d is empty (width and height must be more than 0).",
                page=region.page,
            )
        )
    if region.x < 0 or region.y < 0 or region.x + region.w > width or region.y + region.h > height:
        raise ArticleError(
            _(
                "The region %(x)d,%(y)d,%(w)d,%(h)d lies outside page %(page)d "
                "(%(width)d × %(height)d pixels).",
                x=region.x,
                y=region.y,
                w=region.w,
                h=region.h,
                page=region.page,
                width=width,
                height=height,
            )
        )
    return page, (width, height)


def overlaps(page: Page, region: Region) -> list[int]:
    """Ids of the other articles with a region on ``page`` that overlaps ``region``."""
    rows = db.session.execute(
        select(
            ArticleRegion.article_id,
            ArticleRegion.x,
            ArticleRegion.y,
            ArticleRegion.w,
            ArticleRegion.h,
        ).where(ArticleRegion.source_page_id == page.id)
    )
    x0, y0, x1, y1 = region.box
    found = []
    for article_id, x, y, w, h in rows:
        if x < x1 and x0 < x + w and y < y1 and y0 < y + h and article_id not in found:
            found.append(article_id)
    return found


def clip_article(
    source_id: int, regions: list[Region], fields: ArticleFields, user: User | None = None
) -> Clipped:
    """Make an article from regions of a source document's pages; OCR-free tasks follow commit.

    Raises:
        ArticleError: The source, a region, the type, the title or the record is not right.
    """
    source = db.session.get(Document, source_id)
    if source is None:
        raise ArticleError(_("No document %(id)d.", id=source_id))
    if source.doc_type in ARTICLE_TYPES:
        raise ArticleError(_("Clip articles from an issue or a book, not from another article."))
    if fields.doc_type not in ARTICLE_TYPES:
        raise ArticleError(_("Unknown document type “%(type)s”.", type=fields.doc_type))
    title = " ".join(fields.title.split())
    if not title:
        raise ArticleError(_("A title is required."))
    if not regions:
        raise ArticleError(_("Give at least one region of a page."))
    if len(regions) > MAX_REGIONS:
        raise ArticleError(_("An article has at most %(n)d regions.", n=MAX_REGIONS))
    record = None
    if fields.record_id is not None:
        record = db.session.get(CatalogueRecord, fields.record_id)
        if record is None:
            raise ArticleError(_("No catalogue record %(id)d.", id=fields.record_id))
    checked = [(region, *check_region(source, region)) for region in regions]
    warnings = []
    for region, page, _unused in checked:
        for other in overlaps(page, region):
            warnings.append(
                _(
                    "The region on page %(page)d overlaps a region of article %(id)d.",
                    page=region.page,
                    id=other,
                )
            )
    authors = [" ".join(a.split()) for a in fields.authors if a.strip()]
    article = Document(
        title=title,
        authors=authors,
        doc_type=fields.doc_type,
        langs=source.langs,
        year=source.year,
        collection_id=source.collection_id,
        record=record,
        status="scanned",  # the workflow starts here (modules/digitization/workflow.py)
    )
    job = ScanJob(document=article, langs=source.langs, options={}, status="queued")
    if user is not None:
        job.created_by_id, job.branch_id = user.id, user.branch_id
    else:  # clipped in bulk (the CLI without --user): where the issue was scanned
        job.branch_id = checked[0][1].job.branch_id
    db.session.add_all([article, job])
    db.session.flush()
    now = utcnow()
    work = Path(tempfile.mkdtemp(prefix="clip-", dir=_work_root()))
    try:
        for position, (region, page, size) in enumerate(checked, start=1):
            geometry = geometry_of(page, size)
            try:
                piece = cut(
                    files.local_path(page.source_file),
                    page.frame,
                    region.box,
                    geometry.stored_dpi,
                    work / str(position),
                )
                stored = files.keep_file(
                    piece.path, "scan", f"article-{article.id}-{position}{piece.path.suffix}"
                )
            except ClippingError as exc:
                db.session.rollback()
                raise ArticleError(
                    _(
                        "Page %(page)d cannot be clipped: %(reason)s",
                        page=region.page,
                        reason=_reason(exc),
                    )
                ) from exc
            except StoreError as exc:
                db.session.rollback()
                raise ArticleError(
                    _("The file could not be stored (%(reason)s); nothing was kept.", reason=exc)
                ) from exc
            stored.mime = piece.mime
            if not piece.lossless:
                warnings.append(
                    _(
                        "jpegtran is not installed: the clipping of page %(page)d was encoded "
                        "again (JPEG quality 95).",
                        page=region.page,
                    )
                )
            clipping = Page(
                job=job,
                document_id=article.id,
                seq=position,
                source_file=stored,
                frame=0,
                state="queued",
                queued_at=now,
            )
            db.session.add(clipping)
            db.session.add(
                ArticleRegion(
                    article_id=article.id,
                    position=position,
                    source_document_id=source.id,
                    source_page_id=page.id,
                    x=region.x,
                    y=region.y,
                    w=region.w,
                    h=region.h,
                    clip_x=piece.origin[0],
                    clip_y=piece.origin[1],
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    db.session.flush()
    for clipping in job.pages:
        jobs.enqueue_page(clipping)
    audit.record(
        "article.clip",
        "document",
        article.id,
        actor=user,
        source_document_id=source.id,
        title=title,
        regions=[{"page": r.page, "x": r.x, "y": r.y, "w": r.w, "h": r.h} for r, _p, _s in checked],
    )
    db.session.commit()
    return Clipped(job, warnings)


def _reason(exc: ClippingError) -> str:
    """Why a page cannot be clipped, in the reader's language where the cause is known."""
    if exc.code == "clip_format":
        return _("articles can be clipped from PNG, JPEG or TIFF page images only")
    if exc.code == "clip_turned":
        return _("the scan is stored turned (EXIF orientation); clip from an upright scan")
    return exc.reason


def _work_root() -> Path:
    root = Path(current_app.config["WORK_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def geometry_of(page: Page, size_px: tuple[int, int]) -> SourceGeometry:
    """How the page's hOCR relates to its stored image (from what its OCR recorded)."""
    return SourceGeometry(
        size_px=size_px,
        width_pt=page.width_pt or size_px[0] * 72 / 300,
        height_pt=page.height_pt or size_px[1] * 72 / 300,
        dpi=page.dpi or 300.0,
        rotation=page.rotation or 0,
        skew_deg=page.skew_deg or 0.0,
    )


def region_of_page(page: Page) -> ArticleRegion | None:
    """The region an article's page was clipped from; None for an ordinary page."""
    return db.session.scalar(
        select(ArticleRegion).where(
            ArticleRegion.article_id == page.document_id, ArticleRegion.position == page.seq
        )
    )


def clipping_work(page_id: int) -> ClippingWork | None:
    """What the worker needs to derive a clipping page, as plain data; None for other pages."""
    page = db.session.get(Page, page_id)
    if page is None:
        return None
    region = region_of_page(page)
    if region is None:
        return None
    source = region.source_page
    hocr = db.session.get(StoredFile, source.hocr_file_id) if source.hocr_file_id else None
    return ClippingWork(
        clipping=files.local_path(page.source_file),
        origin=(region.clip_x, region.clip_y),
        region=region.box,
        source_hocr=files.local_path(hocr) if hocr is not None else None,
        geometry=geometry_of(source, (0, 0)),  # the size is read from the master by the worker
        langs=source.langs or source.job.langs,
        master=files.local_path(source.source_file),
        master_frame=source.frame,
    )


def regions_of(article_id: int) -> list[ArticleRegion]:
    """The article's regions in reading order."""
    return list(
        db.session.scalars(
            select(ArticleRegion)
            .where(ArticleRegion.article_id == article_id)
            .order_by(ArticleRegion.position)
        )
    )


def host_of(article_id: int) -> Document | None:
    """The issue (or book) an article was clipped from (that of its first region)."""
    regions = regions_of(article_id)
    return regions[0].source_document if regions else None


def articles_of(source_id: int) -> list[int]:
    """Ids of the articles clipped from a source document."""
    return list(
        db.session.scalars(
            select(ArticleRegion.article_id)
            .where(ArticleRegion.source_document_id == source_id)
            .distinct()
            .order_by(ArticleRegion.article_id)
        )
    )


def rederive(article_id: int) -> int:
    """Derive an article's pages again from its source's current OCR; returns pages queued."""
    job_id = db.session.scalar(
        select(ScanJob.id).where(ScanJob.document_id == article_id).order_by(ScanJob.id.desc())
    )
    return jobs.reocr(job_id) if job_id is not None else 0


@dataclass(frozen=True)
class HostLink:
    """Where an article was printed, for its metadata (MARC 21 773, UNIMARC 463, dc:source).

    Attributes:
        title: The issue's (or book's) title, e.g. "Дала жаңалықтары, 2024, № 12".
        year: Its year, when known.
        pages: The issue's page numbers the article spans, in reading order.
        document_id: The issue's document id.
    """

    title: str
    year: int | None
    pages: tuple[int, ...]
    document_id: int

    @property
    def pages_label(self) -> str:
        """The pages as cited: "P. 3" or "P. 3, 4" (the article's place in the issue)."""
        return "P. " + ", ".join(str(p) for p in self.pages)

    @property
    def citation(self) -> str:
        """ISBD-like: "Title. – 2024. – P. 3, 4"."""
        parts = [self.title.rstrip(". ")]
        if self.year:
            parts.append(str(self.year))
        parts.append(self.pages_label)
        return ". – ".join(parts)


def host_link(article_id: int) -> HostLink | None:
    """The host of a clipped article (the source of its first region); None for other documents."""
    regions = regions_of(article_id)
    if not regions:
        return None
    host = regions[0].source_document
    seqs: list[int] = []
    for region in regions:
        if region.source_document_id == host.id and region.source_page.seq not in seqs:
            seqs.append(region.source_page.seq)
    return HostLink(host.title, host.year, tuple(seqs), host.id)


# --- the clipping screen: what the OCR already knows of a page ------------------------------------

#: A proposal smaller than this share of the page (a page number, a stray mark) is not offered.
MIN_PROPOSAL_SHARE = 0.005


def _page_ocr(page: Page) -> tuple[SourceGeometry, bytes] | None:
    """The page's geometry and hOCR bytes, or None without OCR."""
    if page.hocr_file_id is None or page.state != "done":
        return None
    hocr = db.session.get(StoredFile, page.hocr_file_id)
    if hocr is None:
        return None
    size = image_size(files.local_path(page.source_file), page.frame)
    return geometry_of(page, size), files.local_path(hocr).read_bytes()


def selection_text(page: Page, region: Region) -> str:
    """The OCR text inside a region of a page, for the clipping screen's live text.

    As the article will get it, except the lines its edge cuts (read again only on saving).
    """
    ocr = _page_ocr(page)
    if ocr is None:
        return ""
    geometry, data = ocr
    found = select_words(
        hocr_page_words(data),
        region.box,
        (region.x, region.y),
        ocr_to_stored(geometry),
        (region.w, region.h),
    )
    lines: dict[int, list[str]] = {}
    for word in found.words:
        lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(lines[key]) for key in sorted(lines))


def proposals(page: Page) -> list[Region]:
    """Article candidates from the layout the OCR found, for staff to accept, resize or merge.

    Tesseract's text blocks, in the stored image's pixels, in its reading order.
    """
    ocr = _page_ocr(page)
    if ocr is None:
        return []
    geometry, data = ocr
    to_stored = ocr_to_stored(geometry)
    width, height = geometry.size_px
    found = []
    for block in hocr_blocks(data):
        x0, y0, x1, y1 = stored_box(block, to_stored)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(width, int(math.ceil(x1))), min(height, int(math.ceil(y1)))
        if (x1 - x0) * (y1 - y0) >= MIN_PROPOSAL_SHARE * width * height:
            found.append(Region(page.seq, x0, y0, x1 - x0, y1 - y0))
    return found


#: How a region is split: "y" cuts across (an article above another), "x" down (two columns).
SPLIT_AXES = ("y", "x")


def split_region(page: Page, region: Region, at: int, axis: str = "y") -> tuple[Region, Region]:
    """Split a region in two at the gap between OCR lines (or columns) nearest to ``at``.

    Layout analysis merges two articles into one block when nothing but a blank line parts
    them; staff point at the line where the second begins and get two regions, cut between
    the lines so no word is halved. ``at`` is in stored pixels of the page, on ``axis``
    ("y": a horizontal cut, "x": a vertical one). Without a gap in the OCR (no text there,
    or none read), the region is cut where staff pointed.

    Raises:
        ArticleError: The axis is unknown, the region is not on the page, or ``at`` is not
            inside it.
    """
    if axis not in SPLIT_AXES:
        raise ArticleError(_("Split across (y) or down (x)."))
    try:
        width, height = image_size(files.local_path(page.source_file), page.frame)
    except ClippingError as exc:
        raise ArticleError(
            _("Page %(page)d cannot be clipped: %(reason)s", page=page.seq, reason=_reason(exc))
        ) from exc
    x0, y0, x1, y1 = region.box
    if region.w <= 1 or region.h <= 1 or x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise ArticleError(_("Only a region on the page can be split."))
    start, size = (region.y, region.h) if axis == "y" else (region.x, region.w)
    offset = at - start
    if not 0 < offset < size:
        raise ArticleError(_("Point inside the region, at the line where it should be split."))
    spans: list[tuple[float, float]] = []
    ocr = _page_ocr(page)
    if ocr is not None:
        geometry, data = ocr
        found = select_words(
            hocr_page_words(data),
            region.box,
            (region.x, region.y),
            ocr_to_stored(geometry),
            (region.w, region.h),
        )
        index = (1, 3) if axis == "y" else (0, 2)
        boxes = [w.box for w in found.words] + list(found.cut.values())  # a cut word is ink
        spans = [(box[index[0]], box[index[1]]) for box in boxes]
    cut_at = gap_nearest(spans, size, offset) or offset
    if axis == "y":
        return (
            Region(region.page, region.x, region.y, region.w, cut_at),
            Region(region.page, region.x, region.y + cut_at, region.w, region.h - cut_at),
        )
    return (
        Region(region.page, region.x, region.y, cut_at, region.h),
        Region(region.page, region.x + cut_at, region.y, region.w - cut_at, region.h),
    )


# --- IIIF (modules/discovery/iiif.py): the article on its issue's page images ------------------


def clip_box(region: ArticleRegion) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the article page's clipping on the issue page (stored pixels).

    The region itself, or from the JPEG block corner the clipping starts at: the clipping's
    own pixels, so word boxes in the clipping land on it unchanged.
    """
    x1, y1 = region.x + region.w, region.y + region.h
    return (region.clip_x, region.clip_y, x1 - region.clip_x, y1 - region.clip_y)


def regions_at(source_id: int, seq: int, box: tuple[int, int, int, int]) -> list[ArticleRegion]:
    """The articles' regions whose clipping is ``box`` of page ``seq`` of a source document."""
    x, y, w, h = box
    rows = db.session.scalars(
        select(ArticleRegion)
        .join(Page, Page.id == ArticleRegion.source_page_id)
        .where(
            ArticleRegion.source_document_id == source_id,
            Page.seq == seq,
            ArticleRegion.clip_x == x,
            ArticleRegion.clip_y == y,
        )
        .limit(MAX_REGIONS)
    )
    return [r for r in rows if clip_box(r) == box]


# --- bags (modules/preservation/preservation.py) ---------------------------------------------


def export_regions(article_id: int) -> list[dict]:
    """The article's regions for its bag's mura.json: the issue's id, its page number, the box."""
    return [
        {
            "position": r.position,
            "source_document_id": r.source_document_id,
            "source_page": r.source_page.seq,
            "x": r.x,
            "y": r.y,
            "w": r.w,
            "h": r.h,
            "clip_x": r.clip_x,
            "clip_y": r.clip_y,
        }
        for r in regions_of(article_id)
    ]


def restore_regions(article_id: int, rows: list[dict], new_ids: dict[int, int]) -> int:
    """Link a restored article to its issue again; returns the regions restored.

    ``new_ids`` maps the bag's document ids to the restored ones; an issue not in the bag is
    looked for under its own id. Regions whose issue or page is not here are left out (the
    article keeps its clippings and text either way).
    """
    restored = 0
    for row in rows:
        old_source = int(row["source_document_id"])
        source = db.session.get(Document, new_ids.get(old_source, old_source))
        page = source_page(source, int(row["source_page"])) if source is not None else None
        if page is None:
            continue
        db.session.add(
            ArticleRegion(
                article_id=article_id,
                position=int(row["position"]),
                source_document_id=source.id,
                source_page_id=page.id,
                **{k: int(row[k]) for k in ("x", "y", "w", "h", "clip_x", "clip_y")},
            )
        )
        restored += 1
    db.session.commit()
    return restored
