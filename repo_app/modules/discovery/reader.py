"""The online reader: page images, word boxes from hOCR, and the boxes of a query's words.

Geometry: Tesseract's hOCR gives each word a box in pixels of the upright, deskewed page at
``Page.dpi``; the page PDF is that page at ``width_pt`` x ``height_pt`` points, so an image
rendered from the page PDF at any width shows the words at the same *fractions* of the page.
The reader draws the boxes in an SVG whose ``viewBox`` is the hOCR page size, laid over the image
and stretched with it: no script and no style attribute is needed, and zoom is just a wider
image.

Images are rendered on demand from the page PDF with ``pdftoppm`` (poppler) and cached under
``MURA_HOME/cache/pages`` (never in the content store: they are derived and can be dropped at
any time), keyed by page id, the page PDF's checksum and the width.

Highlighting uses the search package's own analysis (:mod:`mura.app.search.query` and
:func:`mura.app.search.snippets.match_spans`), so case, letter folding, stems and Latin
spellings match exactly as the search does. A query's terms, and its near misses, are worked
out once per request (:func:`request_query`), however many pages the request marks, and the near
misses cost at most the request's lookup budget (:mod:`mura.app.search.fuzzy`).
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, has_request_context
from lxml import etree
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import defer

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import Document, Page, ScanJob, StoredFile
from mura.app.search import DEFAULT_ANALYZER
from mura.app.search.fuzzy import with_near_misses
from mura.app.search.query import parse_query
from mura.app.search.snippets import match_spans

log = logging.getLogger(__name__)

#: Widths (pixels) an image may be rendered at: thumbnail, reading sizes, zoom steps.
THUMB_WIDTH = 200
READ_WIDTH = 1000
ZOOM_WIDTHS = (1000, 1500, 2000, 2600)
RENDER_WIDTHS = (THUMB_WIDTH, 600, *ZOOM_WIDTHS)
#: No image is rendered wider than this (a zoomed page of a newspaper is still readable).
MAX_WIDTH = max(RENDER_WIDTHS)
#: The size given to a page that has no page PDF (a failed page: the A4 placeholder at 150 dpi).
PLACEHOLDER_PX = (1240, 1754)
RENDER_TIMEOUT_S = 60
JPEG_QUALITY = 82

_BBOX_RE = re.compile(r"\bbbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
_LINE_CLASSES = frozenset({"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"})


class RenderError(RuntimeError):
    """A page image could not be made (``pdftoppm`` missing, failed or too slow)."""


# --- hOCR -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One recognised word and its box on the page.

    Attributes:
        text: The word as recognised (punctuation included).
        box: ``(x0, y0, x1, y1)`` in pixels of the hOCR page, origin top left.
        line: 0-based number of its line on the page.
    """

    text: str
    box: tuple[int, int, int, int]
    line: int


@dataclass(frozen=True)
class PageWords:
    """The words of a page in reading order, and the page's size in hOCR pixels."""

    width: int
    height: int
    words: tuple[Word, ...]

    def text(self) -> tuple[str, list[int]]:
        """Return the words as text (spaces within a line, newlines between lines).

        Returns:
            The text and the offset at which each word starts in it.
        """
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        previous_line = None
        for word in self.words:
            if previous_line is not None:
                separator = " " if word.line == previous_line else "\n"
                parts.append(separator)
                offset += 1
            starts.append(offset)
            parts.append(word.text)
            offset += len(word.text)
            previous_line = word.line
        return "".join(parts), starts


def parse_hocr(data: bytes) -> PageWords:
    """Read the words and their boxes from Tesseract's hOCR.

    The hOCR is parsed without loading its DTD or resolving entities (it is data, not trusted
    markup). Words without a box or without text are skipped.

    Args:
        data: The hOCR file's bytes.

    Returns:
        The page size (from the ``ocr_page`` box) and its words.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    root = etree.fromstring(data, parser)
    if root is None:
        return PageWords(0, 0, ())
    width = height = 0
    words: list[Word] = []
    line = -1
    for element in root.iter("{*}div", "{*}span", "{*}p"):
        classes = set((element.get("class") or "").split())
        if "ocr_page" in classes and not width:
            box = _bbox(element.get("title") or "")
            if box:
                width, height = box[2], box[3]
        elif classes & _LINE_CLASSES:
            line += 1
        elif "ocrx_word" in classes:
            box = _bbox(element.get("title") or "")
            text = "".join(element.itertext()).strip()
            if box and text:
                words.append(Word(text, box, max(line, 0)))
    return PageWords(width, height, tuple(words))


def _bbox(title: str) -> tuple[int, int, int, int] | None:
    match = _BBOX_RE.search(title)
    return tuple(int(v) for v in match.groups()) if match else None  # type: ignore[return-value]


@functools.lru_cache(maxsize=128)
def _parsed_hocr(path: str, sha256: str) -> PageWords:  # sha256: the cache key's fixity part
    with open(path, "rb") as handle:
        return parse_hocr(handle.read())


def page_words(page: Page) -> PageWords | None:
    """The page's words from its stored hOCR; ``None`` for a page without hOCR."""
    if page.hocr_file_id is None:
        return None
    stored = db.session.get(StoredFile, page.hocr_file_id)
    if stored is None:
        return None
    path = files.local_path(stored)
    try:
        return _parsed_hocr(str(path), stored.sha256)
    except OSError:
        log.warning("page %s: hOCR %s cannot be read", page.id, path)
        return None


# --- matching a query -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Highlight:
    """A matched word on the page: its box, and the text around it (IIIF search hits).

    Attributes:
        box: ``(x0, y0, x1, y1)`` in hOCR pixels.
        exact: The word as recognised.
        prefix: Up to a few words of the same line before it.
        suffix: Up to a few words of the same line after it.
    """

    box: tuple[int, int, int, int]
    exact: str
    prefix: str
    suffix: str

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        """The box as x, y, width, height (media fragments, SVG rectangles)."""
        x0, y0, x1, y1 = self.box
        return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def query_terms(query: str, doc_frequency: Callable[[str], int] | None = None) -> frozenset[str]:
    """The index terms a page word must have to match ``query`` (what the search marks).

    Args:
        query: What the reader typed (the search grammar: phrases, OR, exclusions).
        doc_frequency: The index's frequency of a term; when given, near misses of the words
            (OCR errors) that the index holds are included, as the search's fuzzy fallback does.
    """
    parsed = parse_query(query, DEFAULT_ANALYZER)
    if doc_frequency is not None and not parsed.is_empty:
        parsed = with_near_misses(parsed, doc_frequency)
    return parsed.positive_terms()


@dataclass
class ReaderQuery:
    """A reader's query as index terms, for marking pages; made once per request.

    Attributes:
        text: The query as typed.
        exact: The terms a page word must have to match (:func:`query_terms`).
    """

    text: str
    exact: frozenset[str]
    _near: frozenset[str] | None = None

    def near(self) -> frozenset[str]:
        """The exact terms and the near misses the index holds (OCR errors), looked up once.

        The lookups are bounded by the request's budget (:mod:`mura.app.search.fuzzy`).
        """
        if self._near is None:
            from mura.app.modules.discovery import search as search_service

            self._near = query_terms(self.text, search_service.get_engine().doc_frequency)
        return self._near


def request_query(query: str) -> ReaderQuery:
    """The query's terms, computed once per request (kept in ``flask.g``), else made now.

    The reader page, its highlights and IIIF content search mark many pages with the same
    query: parsing it, and above all looking up its near misses, once per request keeps their
    work independent of the number of pages.
    """
    if not has_request_context():
        return ReaderQuery(query, query_terms(query))
    made: dict[str, ReaderQuery] = g.setdefault("mura_reader_queries", {})
    if query not in made:
        made[query] = ReaderQuery(query, query_terms(query))
    return made[query]


def find_highlights(
    words: PageWords, terms: frozenset[str], languages: Sequence[str] = ()
) -> list[Highlight]:
    """The words of the page whose index terms are among ``terms``, in reading order.

    A word hyphenated across two lines (``жұ-`` / ``мыс``) matches as one word and gives both
    its halves.

    Args:
        words: The page's words.
        terms: Index terms, from :func:`query_terms`.
        languages: The document's OCR languages (stemming depends on them, as when indexing).
    """
    if not terms or not words.words:
        return []
    text, starts = words.text()
    matched: dict[int, None] = {}
    for start, end in match_spans(text, terms, DEFAULT_ANALYZER, languages):
        for index in range(_word_at(starts, start), _word_at(starts, end - 1) + 1):
            matched[index] = None
    return [_highlight(words.words, index) for index in sorted(matched)]


def _word_at(starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(starts, offset) - 1)


def _highlight(words: tuple[Word, ...], index: int, context: int = 4) -> Highlight:
    word = words[index]
    before = [w.text for w in words[max(0, index - context) : index] if w.line == word.line]
    after = [w.text for w in words[index + 1 : index + 1 + context] if w.line == word.line]
    prefix = " ".join(before) + " " if before else ""
    suffix = " " + " ".join(after) if after else ""
    return Highlight(word.box, word.text, prefix, suffix)


def mark_text(text: str, terms: frozenset[str], languages: Sequence[str] = ()) -> Markup:
    """The page text, escaped, with the words matching ``terms`` in ``<mark>`` elements."""
    pieces: list[Markup] = []
    cursor = 0
    for start, end in match_spans(text, terms, DEFAULT_ANALYZER, languages) if terms else []:
        pieces.append(escape(text[cursor:start]))
        pieces.append(Markup("<mark>{}</mark>").format(text[start:end]))
        cursor = end
    pieces.append(escape(text[cursor:]))
    return Markup("").join(pieces)


def text_matches(text: str, terms: frozenset[str], languages: Sequence[str] = ()) -> bool:
    """Whether any word of ``text`` has one of ``terms`` (for documents not in the index)."""
    return bool(terms) and bool(match_spans(text, terms, DEFAULT_ANALYZER, languages))


# --- page geometry and images ---------------------------------------------------------------------


def page_size_px(page: Page) -> tuple[int, int]:
    """The page's size in hOCR pixels (its physical size at its resolution).

    A page without a page PDF (a failed page) gets :data:`PLACEHOLDER_PX`, the size of the
    placeholder that stands in for it in the document's PDF.
    """
    if page.pdf_file_id is None or not (page.width_pt and page.height_pt and page.dpi):
        return PLACEHOLDER_PX
    scale = page.dpi / 72.0
    return max(1, round(page.width_pt * scale)), max(1, round(page.height_pt * scale))


def allowed_widths(page: Page) -> tuple[int, ...]:
    """The widths an image of ``page`` may be asked for: the fixed steps and its own width."""
    native = min(page_size_px(page)[0], MAX_WIDTH)
    return tuple(sorted({*RENDER_WIDTHS, native}))


def full_width(page: Page) -> int:
    """The width of the page's largest image: its own, capped at :data:`MAX_WIDTH`."""
    return min(page_size_px(page)[0], MAX_WIDTH)


def image_height(page: Page, width: int) -> int:
    """The height of an image of ``page`` rendered ``width`` pixels wide."""
    page_w, page_h = page_size_px(page)
    return max(1, round(page_h * width / page_w))


def cache_root() -> Path:
    """Where derived images live: ``MURA_CACHE_DIR``, else ``MURA_HOME/cache``."""
    configured = current_app.config.get("CACHE_DIR")
    return Path(configured) if configured else Path(current_app.config["HOME"]) / "cache"


def page_image(page: Page, document: Document, width: int) -> Path:
    """A JPEG of the page ``width`` pixels wide, rendered once and then read from the cache.

    Args:
        page: The page; its page PDF is rendered, or for a failed page the placeholder page of
            the document's PDF.
        document: Its document (for the placeholder).
        width: One of :func:`allowed_widths`.

    Returns:
        The cached file.

    Raises:
        ValueError: On a width that is not allowed.
        RenderError: When the image cannot be rendered.
    """
    if width not in allowed_widths(page):
        raise ValueError(f"width {width} not allowed")
    source, index = _render_source(page, document)
    stored = db.session.get(StoredFile, source)
    if stored is None:
        raise RenderError(f"page {page.id}: its PDF is not in the database")
    folder = cache_root() / "pages" / f"{page.id}-{stored.sha256[:16]}"
    target = folder / f"{width}-{index}.jpg"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    render_pdf_page(files.local_path(stored), index, width, target)
    return target


def _render_source(page: Page, document: Document) -> tuple[int, int]:
    """The stored PDF to render and the 1-based page in it."""
    if page.pdf_file_id is not None:
        return page.pdf_file_id, 1
    if document.pdf_file_id is None:
        raise RenderError(f"page {page.id} has no PDF to render")
    return document.pdf_file_id, page.seq


def render_pdf_page(pdf: Path, page_number: int, width: int, target: Path) -> Path:
    """Render one page of ``pdf`` to a JPEG ``width`` pixels wide with ``pdftoppm``.

    The file appears at ``target`` complete or not at all (rendered beside it, then renamed), so
    two requests rendering the same image at once do no harm.

    Raises:
        RenderError: When pdftoppm is missing, fails, is too slow or writes nothing.
    """
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".render-") as scratch:
        prefix = Path(scratch) / "out"
        command = [
            "pdftoppm", "-f", str(page_number), "-l", str(page_number),
            "-scale-to-x", str(width), "-scale-to-y", "-1",
            "-jpeg", "-jpegopt", f"quality={JPEG_QUALITY},optimize=y",
            "-singlefile", str(pdf), str(prefix),
        ]  # fmt: skip
        try:
            subprocess.run(
                command, check=True, capture_output=True, timeout=RENDER_TIMEOUT_S, text=True
            )
        except FileNotFoundError as exc:
            raise RenderError("pdftoppm is not installed (Debian: poppler-utils)") from exc
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"pdftoppm took longer than {RENDER_TIMEOUT_S} s") from exc
        except subprocess.CalledProcessError as exc:
            raise RenderError(f"pdftoppm failed: {exc.stderr.strip()[:300]}") from exc
        produced = prefix.with_suffix(".jpg")
        if not produced.exists() or produced.stat().st_size == 0:
            raise RenderError("pdftoppm wrote no image")
        produced.replace(target)
    return target


# --- hits of a query in one document --------------------------------------------------------------


def hit_pages(document: Document, pages: Sequence[Page], query: str) -> list[int]:
    """Page numbers of ``document`` that match ``query``, ascending.

    A public document is asked of the search index (the search's own semantics: every word,
    phrases, exclusions, near misses). A document outside the index (reading room, staff) is
    scanned page by page for any of the query's words.
    """
    from mura.app.modules.discovery import search as search_service
    from mura.app.modules.rights import visibility

    if not query.strip():
        return []
    if visibility.is_public(document):
        return search_service.get_engine().document_pages(document.id, query)
    terms = request_query(query).exact
    languages = document.languages
    done = [page for page in pages if page.state == "done"]
    texts = search_service.load_texts([page.id for page in done])
    return [page.seq for page in done if text_matches(texts.get(page.id, ""), terms, languages)]


def page_highlights(page: Page, document: Document, query: str) -> list[Highlight]:
    """The matches of ``query`` on the page's scan; near misses (OCR errors) when none is exact.

    The query's terms and near misses come from :func:`request_query`: a request that marks
    many pages (IIIF content search) works them out once.
    """
    words = page_words(page)
    if words is None or not query.strip():
        return []
    terms = request_query(query)
    found = find_highlights(words, terms.exact, document.languages)
    if found:
        return found
    near = terms.near()
    return find_highlights(words, near, document.languages) if near != terms.exact else []


def _latest_job_id(document_id: int) -> int | None:
    """The document's latest finished scan job (the one whose pages readers see)."""
    return db.session.scalar(
        select(ScanJob.id)
        .where(ScanJob.document_id == document_id, ScanJob.status.in_(("indexing", "done")))
        .order_by(ScanJob.id.desc())
        .limit(1)
    )


def finished_page(document_id: int, seq: int) -> Page | None:
    """Page ``seq`` of the document's latest finished job (one row, for image requests)."""
    job_id = _latest_job_id(document_id)
    if job_id is None:
        return None
    return db.session.scalar(select(Page).where(Page.job_id == job_id, Page.seq == seq))


def reader_pages(document_id: int) -> list[Page]:
    """The pages of the document's latest finished job, in order, without their texts.

    The reader lists every page (thumbnails, page count) but shows one page's text; the texts
    of a long book are not loaded for each page view (:attr:`Page.best_text` loads its own).
    """
    job_id = _latest_job_id(document_id)
    if job_id is None:
        return []
    heavy = (Page.text, Page.text_corrected, Page.timings, Page.warnings, Page.flags)
    query = select(Page).where(Page.job_id == job_id).order_by(Page.seq)
    return list(db.session.scalars(query.options(*(defer(column) for column in heavy))))
