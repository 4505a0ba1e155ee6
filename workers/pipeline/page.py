"""One page of an upload -> a single-page searchable PDF, its text and hOCR.

:func:`process_page` reads top to bottom: load the page, settle its resolution, measure its
skew and whether it lies on its side, turn it upright, run Tesseract once, check that the
result looks like text (else ask Tesseract for the orientation and try once more), and write
the page PDF. A PDF page that already has real text is kept as it is instead (no OCR; see
``textpage.py``). Every file goes into the work folder under a page-numbered name.
"""

from __future__ import annotations

import errno
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .context import PageContext
from .errors import PageError, TransientError
from .geometry import check_page_size, placement
from .hocr import point_image
from .images import (
    LoadedPage,
    binarize,
    deskew,
    load_raster,
    resolve_dpi,
    square_pixels,
    to_gray,
    transpose,
    write_pnm,
)
from .images import clean as clean_image
from .inputs import PDF, identify
from .layout import Layout, estimate_layout, text_band
from .ocr import (
    ORIENTATION_CONFIDENCE,
    OcrOutput,
    Orientation,
    check_languages,
    detect_orientation,
    read_words,
    recognize,
)
from .pdf import build_page_pdf
from .pdfinput import load_pdf_page
from .textpage import HOCR_DPI, KeptPage, keep_text_page

log = logging.getLogger(__name__)

#: A page whose words average less confidence than this may be upside down: check it.
SUSPICIOUS_CONFIDENCE = 60.0
#: Fewer words than this say nothing about the orientation.
MIN_WORDS_TO_JUDGE = 5
#: OSD confidence enough to pick 90 or 270 once the profiles have shown the page is sideways.
SIDEWAYS_CONFIDENCE = 2.0
#: Resolution of the copy given to orientation detection.
OSD_DPI = 150.0
#: The orientation probe reads this many lines from the middle of the page, this share of
#: their length, once as they are and once turned 180 degrees (0.1-0.3 s, against 0.5-0.7 s
#: for Tesseract's orientation detection, whose cost hardly depends on the image size).
PROBE_LINES = 3
PROBE_WIDTH = 0.5
#: Mean word confidence by which one way up must beat the other in the probe.
PROBE_MARGIN = 15.0
#: Fewer words than this on both sides of the probe say nothing.
MIN_PROBE_WORDS = 3
#: Big intermediate files, removed once the page is done.
SCRATCH = (
    "ocr.pnm",
    "ocr-turned.pnm",
    "osd.pgm",
    "probe.pnm",
    "probe.hocr",
    "render.png",
    "kept.txt",
    "kept.html",
)


@dataclass
class PageOptions:
    """How to process a page.

    Attributes:
        langs: Tesseract languages joined by '+', e.g. 'kaz+rus'.
        dpi_hint: Resolution to assume when the file states none or an absurd one
            (< 50 or > 1600 dpi); without it the resolution is guessed from the pixel
            size (standard paper sizes), else 300.
        timeout_s: Time allowed for the whole page.
        rotate: Turn pages that lie on their side or upside down.
        deskew: Straighten slightly rotated pages.
        keep_text: Keep a PDF page that already has real, visible text as it is, without
            OCR (its text and word boxes are read from the PDF).
        clean: Remove speckles and stretch contrast in the copy Tesseract reads, and let it
            read that copy in grayscale (slower, for dark or noisy scans; the
            visible scan is not changed).
    """

    langs: str = "kaz+rus"
    dpi_hint: float | None = None
    timeout_s: float = 300
    rotate: bool = True
    deskew: bool = True
    clean: bool = False
    keep_text: bool = True


@dataclass
class PageResult:
    """What :func:`process_page` produced. All paths are inside the work folder.

    Attributes:
        pdf: Single-page PDF: the scan at its physical size with an invisible text layer.
        text: Plain text in Tesseract's reading order.
        text_path: The same text as a UTF-8 file.
        hocr: hOCR of the page; coordinates are pixels of the upright, deskewed page at
            ``dpi`` (the image Tesseract read).
        mean_confidence: Mean word confidence 0-100, None without words.
        word_count: Number of words recognised.
        width_pt: Page width in points.
        height_pt: Page height in points.
        dpi: Resolution of the page (and of the hOCR coordinates).
        rotation: Degrees clockwise the page was turned to be upright (0/90/180/270), on top
            of what the file itself asks for (EXIF orientation, PDF /Rotate).
        skew_deg: Counter-clockwise deskew rotation applied, in degrees.
        timings: Seconds per stage (load, analyse, orientation, prepare, ocr, pdf, total).
        warnings: Notes for staff: guessed resolution, page turned, fallbacks taken.
        ocred: False for a PDF page kept with its own text (no OCR, no confidence).
    """

    pdf: Path
    text: str
    text_path: Path
    hocr: Path
    mean_confidence: float | None
    word_count: int
    width_pt: float
    height_pt: float
    dpi: float
    rotation: int
    skew_deg: float
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ocred: bool = True


@dataclass
class OcrSource:
    """The page as Tesseract will read it, before any turning: plain data for the stages.

    Attributes:
        gray: Grayscale page with square pixels, as the file says it is displayed.
        dpi: Its resolution.
        bilevel: The scan is black and white; Tesseract gets a bilevel image too.
        layout: Skew and sideways estimate, None when neither rotate nor deskew is wanted.
        langs: Checked Tesseract language string.
        options: The page options.
    """

    gray: Image.Image
    dpi: float
    bilevel: bool
    layout: Layout | None
    langs: str
    options: PageOptions


@dataclass
class Prepared:
    """The OCR copy of the page turned by ``rotation`` and deskewed by ``skew``."""

    rotation: int
    skew: float
    image: Image.Image


@dataclass
class Attempt:
    """One OCR run of the page: the copy read, and what Tesseract made of it."""

    prepared: Prepared
    ocr: OcrOutput


def process_page(source: Path, frame: int, work_dir: Path, options: PageOptions) -> PageResult:
    """Turn one page of an uploaded file into a searchable single-page PDF plus OCR data.

    Args:
        source: The uploaded file (image, multi-page TIFF or PDF).
        frame: 0-based TIFF frame or PDF page; 0 for single images.
        work_dir: Folder for every file written (created if missing).
        options: Languages, resolution hint, timeout, rotate/deskew/clean switches.

    Returns:
        The page PDF, text, hOCR and facts about the page.

    Raises:
        PageError: The page cannot be processed (bad input, OCR failure or timeout); its
            ``code`` and ``reason`` say why.
        TransientError: Trouble worth retrying (disk full, Tesseract killed, no memory).
    """
    ctx = PageContext.create(work_dir, frame, options.timeout_s)
    started = time.perf_counter()
    try:
        result = _process(source, frame, ctx, options)
    except MemoryError as exc:
        raise TransientError("Out of memory while processing the page.") from exc
    # The hOCR names the master (the stored file, and its frame), not the deleted scratch copy.
    point_image(result.hocr, source.name, frame)
    result.timings["total"] = time.perf_counter() - started
    return result


def _process(source: Path, frame: int, ctx: PageContext, options: PageOptions) -> PageResult:
    langs = check_languages(options.langs)
    if options.keep_text and identify(source) is PDF:
        with ctx.timed("load"):
            kept = keep_text_page(source, frame, ctx)
        if kept is not None:
            return kept_result(kept, ctx)

    with ctx.timed("load"):
        page = load_page(source, frame, ctx)
        log.debug("page %d of %s: %s", frame + 1, source.name, page.description)
        stored_dpi, note = resolve_dpi(page.declared_dpi, page.pixels.size, options.dpi_hint)
        if note:
            ctx.warn(note)
        check_page_size(page.pixels.size, stored_dpi)
        gray, dpi = square_pixels(to_gray(page.pixels), stored_dpi)
        gray = transpose(gray, page.base_rotation)

    layout = None
    if options.rotate or options.deskew:
        with ctx.timed("analyse"):
            layout = estimate_layout(gray, dpi)
    ocr_source = OcrSource(gray, dpi, page.pixels.mode == "1", layout, langs, options)

    checked = options.rotate and layout is not None and layout.sideways
    if checked:
        prepared = prepare(ocr_source, 90, ctx)
        with ctx.timed("orientation"):
            rotation = sideways_rotation(prepared, ocr_source, ctx)
        if rotation != prepared.rotation:
            prepared = prepare(ocr_source, rotation, ctx)
    else:
        prepared = prepare(ocr_source, 0, ctx)

    attempt = run_attempt(ocr_source, prepared, ctx, "ocr")
    if options.rotate and not checked and looks_wrong(attempt.ocr):
        attempt = retry_turned(attempt, ocr_source, ctx)
    if attempt.prepared.rotation:
        ctx.warn(
            f"The page was turned {attempt.prepared.rotation} degrees clockwise to be upright."
        )

    with ctx.timed("pdf"):
        turn = page.base_rotation + attempt.prepared.rotation
        place = placement(page.pixels.size, stored_dpi, turn, attempt.prepared.skew)
        pdf_path = build_page_pdf(
            page.visible, place, attempt.ocr.pdf_path, ctx.get_path("page.pdf")
        )

    remove_scratch(ctx)
    ocr = attempt.ocr
    return PageResult(
        pdf=pdf_path,
        text=ocr.text_path.read_text(encoding="utf-8").rstrip("\f"),
        text_path=ocr.text_path,
        hocr=ocr.hocr_path,
        mean_confidence=ocr.mean_confidence,
        word_count=ocr.word_count,
        width_pt=place.width_pt,
        height_pt=place.height_pt,
        dpi=dpi,
        rotation=attempt.prepared.rotation,
        skew_deg=attempt.prepared.skew,
        timings=ctx.timings,
        warnings=ctx.warnings,
    )


def remove_scratch(ctx: PageContext) -> None:
    """Remove the page's big intermediate files (:data:`SCRATCH`); the results stay."""
    for name in SCRATCH:
        ctx.get_path(name).unlink(missing_ok=True)


def kept_result(kept: KeptPage, ctx: PageContext) -> PageResult:
    """The result for a PDF page kept with its own text."""
    remove_scratch(ctx)
    return PageResult(
        pdf=kept.pdf,
        text=kept.text,
        text_path=kept.text_path,
        hocr=kept.hocr,
        mean_confidence=None,
        word_count=kept.word_count,
        width_pt=kept.width_pt,
        height_pt=kept.height_pt,
        dpi=HOCR_DPI,
        rotation=0,
        skew_deg=0.0,
        timings=ctx.timings,
        warnings=ctx.warnings,
        ocred=False,
    )


def load_page(source: Path, frame: int, ctx: PageContext) -> LoadedPage:
    """Decode page ``frame`` of an image, TIFF or PDF file.

    Raises:
        PageError: The file or page is unusable.
        TransientError: The file cannot be read from storage.
    """
    try:
        fmt = identify(source)
        if fmt is PDF:
            return load_pdf_page(source, frame, ctx)
        return load_raster(source, fmt, frame, ctx)
    except PageError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TransientError(f"Out of disk space: {exc}") from exc
        if exc.errno is not None:
            # The file system failed us (missing or unreadable file), not the image format.
            raise TransientError(f"The source file cannot be read: {exc}") from exc
        raise


def sideways_rotation(candidate: Prepared, source: OcrSource, ctx: PageContext) -> int:
    """Decide whether a page lying on its side must turn 90 or 270 degrees clockwise.

    Args:
        candidate: The page turned 90 degrees and deskewed.
        source: The page before turning.
        ctx: Page context.

    Returns:
        The clockwise rotation; 0 when neither the probe nor Tesseract's orientation
        detection can tell.
    """
    turned = probe_turned(candidate.image, source, ctx)
    if turned is not None:
        return 270 if turned else 90
    found = osd(source.gray, source.dpi, ctx)
    if found is not None and (
        (found.rotate in (90, 270) and found.confidence >= SIDEWAYS_CONFIDENCE)
        or found.confidence >= ORIENTATION_CONFIDENCE
    ):
        return found.rotate
    ctx.warn("The page seems to lie on its side, but its orientation could not be detected.")
    return 0


def osd(image: Image.Image, dpi: float, ctx: PageContext) -> Orientation | None:
    """Tesseract's orientation detection on a copy of about OSD_DPI."""
    factor = max(1, round(dpi / OSD_DPI))
    gray = image.convert("L")
    small = write_pnm(gray.reduce(factor) if factor > 1 else gray, ctx.get_path("osd.pgm"))
    return detect_orientation(small, dpi / factor, ctx)


def probe_turned(image: Image.Image, source: OcrSource, ctx: PageContext) -> bool | None:
    """Read a few lines of a page both as they are and turned 180 degrees, in one run.

    Args:
        image: The page, upright or upside down, deskewed.
        source: The page's languages and resolution.
        ctx: Page context.

    Returns:
        True when the lines read clearly better turned, False when clearly better as they
        are, None when the probe cannot tell (blank page, too few words, close call).
    """
    box = text_band(image, source.dpi, PROBE_LINES, PROBE_WIDTH)
    if box is None:
        return None
    band = image.crop(box)
    gap = band.height // 2
    both = Image.new(band.mode, (band.width, 2 * band.height + gap), 255)
    both.paste(band, (0, 0))
    both.paste(transpose(band, 180), (0, band.height + gap))
    probe = write_pnm(both, ctx.get_path("probe.pnm"))
    words = read_words(probe, ctx.get_path("probe"), source.langs, source.dpi, ctx)
    middle = band.height + gap / 2
    as_is = [w.confidence for w in words if (w.box[1] + w.box[3]) / 2 < middle]
    turned = [w.confidence for w in words if (w.box[1] + w.box[3]) / 2 >= middle]
    if max(len(as_is), len(turned)) < MIN_PROBE_WORDS:
        return None
    as_is_score = sum(as_is) / len(as_is) if as_is else 0.0
    turned_score = sum(turned) / len(turned) if turned else 0.0
    log.debug("page %d: probe %.0f as is, %.0f turned", ctx.page + 1, as_is_score, turned_score)
    if turned_score >= as_is_score + PROBE_MARGIN:
        return True
    if as_is_score >= turned_score + PROBE_MARGIN:
        return False
    return None


def prepare(source: OcrSource, rotation: int, ctx: PageContext) -> Prepared:
    """Turn and deskew the OCR copy of the page, and make it bilevel unless it is to be cleaned.

    Tesseract reads a bilevel copy about 11% faster than the grayscale one, at the same
    accuracy on the corpus (CER 0.89% against 0.87%, within page-to-page noise): it skips
    its own thresholding, which is the same global Otsu split, and reads the lines from
    the bilevel image. Cleaning, the careful read staff ask for on dark or noisy scans,
    keeps the grayscale copy for Tesseract's recogniser.
    """
    options = source.options
    skew = source.layout.skew(rotation) if options.deskew and source.layout else 0.0
    with ctx.timed("prepare"):
        image = deskew(transpose(source.gray, rotation), skew)
        if options.clean:
            image = clean_image(image)
        if source.bilevel:
            image = image.point(lambda v: 255 if v >= 128 else 0, mode="1")
        elif not options.clean:
            image = binarize(image)
    return Prepared(rotation, skew, image)


def run_attempt(source: OcrSource, prepared: Prepared, ctx: PageContext, name: str) -> Attempt:
    """Run Tesseract once on a prepared copy of the page.

    Args:
        source: The page's languages and resolution.
        prepared: The copy to read.
        ctx: Page context.
        name: Base name of this attempt's files in the work folder.
    """
    with ctx.timed("prepare"):
        pnm = write_pnm(prepared.image, ctx.get_path(f"{name}.pnm"))
    with ctx.timed("ocr"):
        ocr = recognize(pnm, ctx.get_path(name), source.langs, source.dpi, ctx)
    return Attempt(prepared, ocr)


def looks_wrong(ocr: OcrOutput) -> bool:
    """True when the OCR result suggests a page upside down (many words, low confidence)."""
    if ocr.word_count < MIN_WORDS_TO_JUDGE or ocr.mean_confidence is None:
        return False
    return ocr.mean_confidence < SUSPICIOUS_CONFIDENCE


def retry_turned(first: Attempt, source: OcrSource, ctx: PageContext) -> Attempt:
    """Check the orientation of a doubtful page and OCR it again if it is turned.

    The probe compares a few lines read as they are and upside down; only when it cannot
    tell is Tesseract's orientation detection asked.

    Returns:
        The second attempt when the page is turned and its words come out better, else the
        first.
    """
    with ctx.timed("orientation"):
        turned = probe_turned(first.prepared.image, source, ctx)
        found = osd(first.prepared.image, source.dpi, ctx) if turned is None else None
    if turned:
        turn = 180
    elif found is not None and found.rotate and found.confidence >= ORIENTATION_CONFIDENCE:
        turn = found.rotate
    else:
        return first
    rotation = (first.prepared.rotation + turn) % 360
    second = run_attempt(source, prepare(source, rotation, ctx), ctx, "ocr-turned")
    if (second.ocr.mean_confidence or 0.0) > (first.ocr.mean_confidence or 0.0):
        return second
    ctx.warn(f"Turning the page by {turn} degrees did not improve the OCR; kept as it was.")
    return first
