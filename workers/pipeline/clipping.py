"""Articles: a region of an OCRed page becomes a clipping with its own text layer, without new OCR.

Staff mark an article on the page of a newspaper issue as rectangles in pixels of the stored
page image. For each rectangle:

1. :func:`cut` cuts the clipping from the stored master without loss: PNG and TIFF into a PNG
   (the same pixels), JPEG with ``jpegtran -crop`` (the same DCT blocks, no recompression;
   the cut starts on the block boundary at or above-left of the corner asked for);
2. :func:`derive` takes the words of the page's hOCR whose boxes lie in the rectangle (mapped
   from the OCR copy, which may have been turned, deskewed or resampled, back to the stored
   image by the same placement the page PDF used: ``geometry.placement``), reads again only
   the words the rectangle's edge cuts (a strip of the clipping per cut line, ``--psm 7``),
   and writes the clipping's page PDF (the clipping as it is, with an invisible text layer
   set from the word boxes in DejaVu Sans), its hOCR and text, in the clipping's pixels.

Like the rest of the pipeline this works on files and plain data only.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree
from PIL import Image

from .context import PageContext, disk_errors
from .errors import PageError
from .geometry import PT_PER_INCH, placement
from .images import load_raster, transpose
from .inputs import JPEG, PNG, TIFF, identify
from .ocr import TESSERACT, run_tool
from .page import PageResult
from .pdf import PLACEHOLDER_FONT, build_page_pdf

Box = tuple[int, int, int, int]
Point = tuple[float, float]

#: A word counts as inside a region when this share of its box lies inside ...
INSIDE_SHARE = 0.9
#: ... and as outside below this share; in between, the region's edge cuts it: read again.
OUTSIDE_SHARE = 0.1
#: Pixels added around a strip read again (clipped to the clipping).
STRIP_MARGIN = 4
#: Lines of hOCR: Tesseract's line-like classes.
_LINE_CLASSES = frozenset({"ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat"})
JPEGTRAN = "jpegtran"


class ClippingError(PageError):
    """The region cannot be cut from this master (format, orientation)."""

    default_code = "clipping_failed"


@dataclass(frozen=True)
class SourceGeometry:
    """How the OCR copy of a page relates to its stored image (from the page's OCR record).

    Attributes:
        size_px: (width, height) of the stored image.
        width_pt: Width of the page PDF (upright), in points.
        height_pt: Its height.
        dpi: Resolution of the OCR copy, i.e. of the hOCR coordinates.
        rotation: Degrees clockwise the stored image was turned to be upright.
        skew_deg: Counter-clockwise deskew applied to the OCR copy.
    """

    size_px: tuple[int, int]
    width_pt: float
    height_pt: float
    dpi: float
    rotation: int = 0
    skew_deg: float = 0.0

    @property
    def stored_pt(self) -> tuple[float, float]:
        """Width and height of the stored image in points (before turning)."""
        turned = self.rotation % 180 == 90
        return (self.height_pt, self.width_pt) if turned else (self.width_pt, self.height_pt)

    @property
    def stored_dpi(self) -> tuple[float, float]:
        """The stored image's (x, y) resolution, as the page PDF used it."""
        w_pt, h_pt = self.stored_pt
        return (self.size_px[0] * PT_PER_INCH / w_pt, self.size_px[1] * PT_PER_INCH / h_pt)


def ocr_to_stored(geometry: SourceGeometry) -> Callable[[Point], Point]:
    """The map from a point of the hOCR (OCR copy, pixels) to the stored image (pixels).

    The inverse of what ``geometry.placement`` does to the stored image: scale to points,
    turn by ``rotation``, rotate by ``skew_deg`` about the page centre.
    """
    stored_w, stored_h = geometry.stored_pt
    page_w, page_h = geometry.width_pt, geometry.height_pt
    cx, cy = page_w / 2, page_h / 2
    cos, sin = math.cos(math.radians(geometry.skew_deg)), math.sin(math.radians(geometry.skew_deg))
    to_pt = PT_PER_INCH / geometry.dpi
    sx, sy = geometry.size_px[0] / stored_w, geometry.size_px[1] / stored_h
    rotation = geometry.rotation % 360

    def mapped(point: Point) -> Point:
        px, py = point[0] * to_pt, point[1] * to_pt
        dx, dy = px - cx, py - cy
        x, y = cx + dx * cos - dy * sin, cy + dx * sin + dy * cos
        if rotation == 90:
            x, y = y, stored_h - x
        elif rotation == 180:
            x, y = stored_w - x, stored_h - y
        elif rotation == 270:
            x, y = stored_w - y, x
        return x * sx, y * sy

    return mapped


# --- words of an hOCR page ------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrWord:
    """A word with its box, its confidence and the number of its line (reading order)."""

    text: str
    box: Box
    confidence: int
    line: int


def hocr_page_words(data: bytes) -> list[OcrWord]:
    """The words of an hOCR file in reading order, with their line numbers.

    Parsed as data: no DTD, no entities, no network.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    root = etree.fromstring(data, parser)
    words: list[OcrWord] = []
    if root is None:
        return words
    line = -1
    for element in root.iter("{*}span", "{*}div", "{*}p"):
        classes = set((element.get("class") or "").split())
        if classes & _LINE_CLASSES:
            line += 1
        elif "ocrx_word" in classes:
            title = element.get("title") or ""
            text = "".join(element.itertext()).strip()
            box = _title_box(title)
            if box is None or not text:
                continue
            conf = _title_value(title, "x_wconf")
            words.append(OcrWord(text, box, int(conf) if conf else 0, max(line, 0)))
    return words


def hocr_blocks(data: bytes) -> list[Box]:
    """The boxes of Tesseract's text blocks (``ocr_carea``): columns and boxed articles."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    root = etree.fromstring(data, parser)
    if root is None:
        return []
    blocks = []
    for element in root.iter("{*}div"):
        if "ocr_carea" in (element.get("class") or "").split():
            box = _title_box(element.get("title") or "")
            if box is not None:
                blocks.append(box)
    return blocks


def _title_box(title: str) -> Box | None:
    for part in title.split(";"):
        fields = part.split()
        if len(fields) == 5 and fields[0] == "bbox":
            try:
                x0, y0, x1, y1 = (int(v) for v in fields[1:])
            except ValueError:
                return None
            return (x0, y0, x1, y1)
    return None


def _title_value(title: str, key: str) -> str | None:
    for part in title.split(";"):
        fields = part.split()
        if len(fields) == 2 and fields[0] == key:
            return fields[1]
    return None


# --- choosing the words of a region --------------------------------------------------------------


@dataclass
class RegionWords:
    """The words of one region in the clipping's pixels, and the cut ones to read again.

    Attributes:
        words: Words wholly (INSIDE_SHARE) inside, in the page's reading order.
        cut: Boxes (clipping pixels, clipped to the region) of words the edge cuts, by line.
    """

    words: list[OcrWord] = field(default_factory=list)
    cut: dict[int, Box] = field(default_factory=dict)


def stored_box(box: Box, to_stored: Callable[[Point], Point]) -> tuple[float, ...]:
    """The bounding box in stored pixels of an hOCR box (its four corners mapped)."""
    x0, y0, x1, y1 = box
    corners = [to_stored(p) for p in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return (min(xs), min(ys), max(xs), max(ys))


def select_words(
    words: Sequence[OcrWord],
    region: Box,
    origin: tuple[int, int],
    to_stored: Callable[[Point], Point],
    clip_size: tuple[int, int],
) -> RegionWords:
    """Sort the page's words into inside, outside and cut by a region of the stored image.

    Args:
        words: The page's words (hOCR pixels).
        region: (x0, y0, x1, y1) in stored pixels.
        origin: Where the clipping starts in stored pixels (at or above-left of the region).
        to_stored: :func:`ocr_to_stored` of the page.
        clip_size: The clipping's size, to keep boxes on it.
    """
    rx0, ry0, rx1, ry1 = region
    ox, oy = origin
    found = RegionWords()
    for word in words:
        x0, y0, x1, y1 = stored_box(word.box, to_stored)
        area = max(1.0, (x1 - x0) * (y1 - y0))
        ix0, iy0, ix1, iy1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        share = (ix1 - ix0) * (iy1 - iy0) / area
        if share < OUTSIDE_SHARE:
            continue
        if share >= INSIDE_SHARE:
            box = _on_clip((x0 - ox, y0 - oy, x1 - ox, y1 - oy), clip_size)
            found.words.append(OcrWord(word.text, box, word.confidence, word.line))
            continue
        box = _on_clip((ix0 - ox, iy0 - oy, ix1 - ox, iy1 - oy), clip_size)
        previous = found.cut.get(word.line)
        found.cut[word.line] = box if previous is None else _union(previous, box)
    return found


def gap_nearest(spans: Sequence[tuple[float, float]], size: int, at: float) -> int | None:
    """Where to cut a region in two: the middle of a blank gap between ink spans, by ``at``.

    ``spans`` are where words lie along the cutting axis (0..``size``: their tops and bottoms
    for a horizontal cut, lefts and rights for a vertical one). Overlapping spans are one run
    of ink (a line, a column), so a cut never goes through a word. Staff point at the line
    where the second article begins: ``at`` inside a run cuts in the gap just before it, in a
    gap cuts that gap; on the first run, or outside every run, the nearest gap is taken.
    None when the words leave no gap inside the region.
    """
    runs: list[list[float]] = []
    for start, end in sorted(spans):
        if runs and start <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    gaps = [(a[1], b[0]) for a, b in zip(runs, runs[1:], strict=False)]
    cuts = [round((start + end) / 2) for start, end in gaps]
    for cut_at, (start, end) in zip(cuts, gaps, strict=True):
        if start <= at <= end and 0 < cut_at < size:
            return cut_at  # pointed at the blank itself
    for index, (start, end) in enumerate(runs[1:]):
        if start <= at <= end and 0 < cuts[index] < size:
            return cuts[index]  # pointed at a line: the cut goes above it
    inside = [c for c in cuts if 0 < c < size]
    return min(inside, key=lambda c: abs(c - at)) if inside else None


def turn_box(box: Box, size: tuple[int, int], clockwise: int) -> Box:
    """A box of an image of ``size`` in the same image turned ``clockwise`` (0/90/180/270)."""
    x0, y0, x1, y1 = box
    w, h = size
    clockwise %= 360
    if clockwise == 90:
        return (h - y1, x0, h - y0, x1)
    if clockwise == 180:
        return (w - x1, h - y1, w - x0, h - y0)
    if clockwise == 270:
        return (y0, w - x1, y1, w - x0)
    return box


def _on_clip(box: tuple[float, ...], size: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = box
    w, h = size
    return (
        max(0, min(w, round(x0))),
        max(0, min(h, round(y0))),
        max(0, min(w, round(x1))),
        max(0, min(h, round(y1))),
    )


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# --- cutting the master --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """A clipping written by :func:`cut`.

    Attributes:
        path: The clipping file.
        mime: Its type.
        origin: Its top-left corner in the stored image's pixels.
        size: Its size in pixels.
        lossless: The pixels (or JPEG blocks) are the master's, unchanged.
        note: For staff, when the cut is not what they might expect.
    """

    path: Path
    mime: str
    origin: tuple[int, int]
    size: tuple[int, int]
    lossless: bool
    note: str | None = None


def image_size(source: Path, frame: int) -> tuple[int, int]:
    """(width, height) of a stored page image, from its header; PageError if not an image."""
    fmt = identify(source)
    if fmt not in (PNG, JPEG, TIFF):
        raise ClippingError(
            "Articles can be clipped from PNG, JPEG or TIFF page images only.", "clip_format"
        )
    with Image.open(source) as im:
        if frame:
            im.seek(frame)
        orientation = im.getexif().get(0x0112, 1)
        if orientation not in (None, 1):
            raise ClippingError(
                "This scan is stored turned (EXIF orientation); clip from an upright scan.",
                "clip_turned",
            )
        return im.size


def cut(source: Path, frame: int, region: Box, dpi: tuple[float, float], out_dir: Path) -> Cut:
    """Cut ``region`` of a stored page image into a new file without loss.

    Args:
        source: The stored master (PNG, JPEG or TIFF).
        frame: The TIFF frame.
        region: (x0, y0, x1, y1) in its pixels, inside the image.
        dpi: The master's resolution, written into the clipping.
        out_dir: Where to write it.
    """
    fmt = identify(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt is JPEG and shutil.which(JPEGTRAN):
        return _cut_jpeg(source, region, out_dir / "clipping.jpg")
    with Image.open(source) as im:
        if frame:
            im.seek(frame)
        piece = im.crop(region)
        piece.load()
        icc = im.info.get("icc_profile")
    x0, y0, x1, y1 = region
    if fmt is JPEG:
        out = out_dir / "clipping.jpg"
        with disk_errors():
            piece.save(out, "JPEG", quality=95, subsampling=0, dpi=dpi, icc_profile=icc)
        note = "jpegtran is not installed: the clipping was encoded again (JPEG quality 95)."
        return Cut(out, "image/jpeg", (x0, y0), piece.size, False, note)
    if piece.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        piece = piece.convert("RGB")  # CMYK and the like: PNG has no such mode
    out = out_dir / "clipping.png"
    with disk_errors():
        piece.save(out, "PNG", dpi=dpi, icc_profile=icc, optimize=False, compress_level=6)
    return Cut(out, "image/png", (x0, y0), piece.size, True)


def _cut_jpeg(source: Path, region: Box, out: Path) -> Cut:
    """``jpegtran -crop``: the DCT blocks copied, the corner moved to the block boundary."""
    x0, y0, x1, y1 = region
    with Image.open(source) as im:
        # One iMCU is 8 pixels times the largest sampling factor of the components.
        layers = getattr(im, "layer", None) or [("", 1, 1, 0)]
        block_w = 8 * max(layer[1] for layer in layers)
        block_h = 8 * max(layer[2] for layer in layers)
    crop = f"{x1 - x0}x{y1 - y0}+{x0}+{y0}"
    args = [JPEGTRAN, "-crop", crop, "-copy", "all", "-outfile", str(out), str(source)]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ClippingError("jpegtran took longer than 60 s.") from exc
    if proc.returncode != 0 or not out.is_file():
        message = proc.stderr.decode(errors="replace").strip()[:300]
        raise ClippingError(f"jpegtran could not cut the scan: {message}")
    origin = (x0 - x0 % block_w, y0 - y0 % block_h)
    with Image.open(out) as clipped:
        size = clipped.size
    return Cut(out, "image/jpeg", origin, size, True)


# --- the clipping's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClippingWork:
    """What :func:`derive` needs for one clipping, as plain data.

    Attributes:
        clipping: The stored clipping image.
        origin: Its top-left corner in the stored page image.
        region: The region asked for, (x0, y0, x1, y1) in the stored page image.
        source_hocr: The hOCR of the source page (None: it has none any more).
        geometry: How that hOCR relates to the stored page image (``size_px`` is read from
            ``master`` when it is (0, 0)).
        langs: OCR languages, to read cut words again.
        master: The source page's stored image, and its frame.
    """

    clipping: Path
    origin: tuple[int, int]
    region: Box
    source_hocr: Path | None
    geometry: SourceGeometry
    langs: str
    master: Path | None = None
    master_frame: int = 0


def derive(work: ClippingWork, work_dir: Path, timeout_s: float = 120) -> PageResult:
    """The clipping's searchable page from the source page's OCR: see the module docstring."""
    ctx = PageContext.create(work_dir, 0, timeout_s)
    if work.source_hocr is None:
        raise ClippingError("The source page has no OCR any more; OCR the issue again.")
    if work.geometry.size_px == (0, 0) and work.master is not None:
        work = replace(
            work,
            geometry=replace(work.geometry, size_px=image_size(work.master, work.master_frame)),
        )
    with ctx.timed("load"):
        loaded = load_raster(work.clipping, identify(work.clipping), 0, ctx)
        clip_size = loaded.pixels.size
        source_words = hocr_page_words(work.source_hocr.read_bytes())
    # The clipping keeps the master's orientation (no pixel is changed); a page that was turned
    # upright for its OCR is turned the same way in the clipping's PDF, and the words' boxes
    # are given in that upright clipping.
    rotation = work.geometry.rotation % 360
    with ctx.timed("select"):
        to_stored = ocr_to_stored(work.geometry)
        found = select_words(source_words, work.region, work.origin, to_stored, clip_size)
        upright = transpose(loaded.pixels, rotation)
    lines: dict[int, list[OcrWord]] = {}
    for word in found.words:
        box = turn_box(word.box, clip_size, rotation)
        lines.setdefault(word.line, []).append(replace(word, box=box))
    if found.cut:
        with ctx.timed("ocr"):
            for line, box in found.cut.items():
                strip = turn_box(box, clip_size, rotation)
                again = _read_strip(upright, strip, line, work, ctx)
                lines[line] = sorted([*lines.get(line, []), *again], key=lambda w: w.box[0])
        ctx.warn(f"{len(found.cut)} line(s) cut by the region's edge were read again.")
    ordered = [lines[key] for key in sorted(lines)]
    dpi = work.geometry.stored_dpi
    upright_dpi = (dpi[1], dpi[0]) if rotation in (90, 270) else dpi
    place = placement(clip_size, dpi, rotation, 0.0)
    with ctx.timed("pdf"):
        text = "\n".join(" ".join(w.text for w in line) for line in ordered)
        text_path = ctx.get_path("clipping.txt")
        text_path.write_text(text, encoding="utf-8")
        hocr = write_hocr(ordered, upright.size, ctx.get_path("clipping.hocr"))
        layer = text_layer_pdf(
            ordered, place.width_pt, place.height_pt, upright_dpi, ctx.get_path("text")
        )
        pdf = build_page_pdf(loaded.visible, place, layer, ctx.get_path("page.pdf"))
    confidences = [w.confidence for line in ordered for w in line]
    return PageResult(
        pdf=pdf,
        text=text,
        text_path=text_path,
        hocr=hocr,
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
        word_count=len(confidences),
        width_pt=place.width_pt,
        height_pt=place.height_pt,
        dpi=upright_dpi[0],
        rotation=rotation,
        skew_deg=0.0,
        timings=ctx.timings,
        warnings=ctx.warnings,
    )


def _read_strip(
    image: Image.Image, box: Box, line: int, work: ClippingWork, ctx: PageContext
) -> list[OcrWord]:
    """Read one strip of the clipping (the cut words of a line) as a single line of text."""
    w, h = image.size
    x0, y0, x1, y1 = box
    x0, y0 = max(0, x0 - STRIP_MARGIN), max(0, y0 - STRIP_MARGIN)
    x1, y1 = min(w, x1 + STRIP_MARGIN), min(h, y1 + STRIP_MARGIN)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    strip = image.crop((x0, y0, x1, y1)).convert("L")
    # Tesseract reads a line best with some paper around it.
    padded = Image.new("L", (strip.width + 20, strip.height + 20), 255)
    padded.paste(strip, (10, 10))
    path = ctx.get_path(f"strip-{line}.png")
    padded.save(path)
    base = ctx.get_path(f"strip-{line}")
    args = [
        TESSERACT, str(path), str(base),
        "--dpi", str(round(work.geometry.stored_dpi[0])),
        "--psm", "7",
        "-l", work.langs,
        "hocr",
    ]  # fmt: skip
    run_tool(args, timeout=max(1.0, ctx.remaining()), what="Tesseract")
    words = hocr_page_words(base.with_suffix(".hocr").read_bytes())
    dx, dy = x0 - 10, y0 - 10
    return [
        OcrWord(
            word.text,
            _on_clip(
                (word.box[0] + dx, word.box[1] + dy, word.box[2] + dx, word.box[3] + dy), (w, h)
            ),
            word.confidence,
            line,
        )
        for word in words
    ]


def write_hocr(lines: Sequence[Sequence[OcrWord]], size: tuple[int, int], out: Path) -> Path:
    """Write the clipping's words as hOCR (one block, one line per source line)."""
    w, h = size
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title></title>'
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>'
        '<meta name="ocr-system" content="mura clipping"/></head><body>\n'
        f"<div class='ocr_page' id='page_1' title='bbox 0 0 {w} {h}'>\n"
        f"<div class='ocr_carea' id='block_1' title='bbox 0 0 {w} {h}'><p class='ocr_par'>\n"
    ]
    number = 0
    for index, line in enumerate(lines, start=1):
        if not line:
            continue
        x0 = min(word.box[0] for word in line)
        y0 = min(word.box[1] for word in line)
        x1 = max(word.box[2] for word in line)
        y1 = max(word.box[3] for word in line)
        parts.append(f"<span class='ocr_line' id='line_{index}' title='bbox {x0} {y0} {x1} {y1}'>")
        for word in line:
            number += 1
            bx0, by0, bx1, by1 = word.box
            parts.append(
                f"<span class='ocrx_word' id='word_{number}' "
                f"title='bbox {bx0} {by0} {bx1} {by1}; x_wconf {word.confidence}'>"
                f"{escape(word.text)}</span> "
            )
        parts.append("</span>\n")
    parts.append("</p></div>\n</div>\n</body></html>\n")
    with disk_errors():
        out.write_text("".join(parts), encoding="utf-8")
    return out


def text_layer_pdf(
    lines: Sequence[Sequence[OcrWord]],
    width_pt: float,
    height_pt: float,
    dpi: tuple[float, float],
    base: Path,
) -> Path | None:
    """A text-only PDF page: each word invisible (render mode 3) over its box, as Tesseract's.

    Each word is set in DejaVu Sans (embedded subset) at the height of its box and stretched
    to its width, so a selection or a search hit in a PDF viewer covers the printed word.
    None when there are no words.
    """
    words = [w for line in lines for w in line]
    if not words:
        return None
    from fpdf import FPDF  # 0.3 s to import: only in workers that clip

    sx, sy = PT_PER_INCH / dpi[0], PT_PER_INCH / dpi[1]
    pdf = FPDF(unit="pt", format=(width_pt, height_pt))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0)
    pdf.add_page()
    pdf.add_font("DejaVuSans", fname=str(PLACEHOLDER_FONT))
    pdf.text_mode = "INVISIBLE"
    for word in words:
        x0, y0, x1, y1 = word.box
        height = max(1.0, (y1 - y0) * sy)
        pdf.set_font("DejaVuSans", size=height)
        pdf.set_stretching(100.0)  # fpdf2 measures strings with the stretching in force
        natural = pdf.get_string_width(word.text)
        if natural <= 0:
            continue
        pdf.set_stretching(100.0 * max(1.0, (x1 - x0) * sx) / natural)
        # The baseline sits about a fifth of the box above its bottom (descenders).
        pdf.text(x0 * sx, y1 * sy - 0.2 * height, word.text)
    out = base.with_suffix(".pdf")
    with disk_errors():
        out.write_bytes(bytes(pdf.output()))
    return out
