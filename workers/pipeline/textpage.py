"""PDF pages that already carry real text: kept as they are, with their text and word boxes.

A page typeset on a computer has visible text in its content: OCR could only make it worse.
Such a page goes into the document unchanged; ``pdftotext`` gives its text and, with
``-bbox-layout``, the box of every word, written as hOCR like Tesseract's, so that search
hits are drawn on it as on any other page. An invisible text layer (a scanner's own OCR)
does not count: that page is a scan and is OCRed again. Nor does text that does not extract
to letters (a font without a Unicode map): that page is rendered and OCRed too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree
from lxml.builder import ElementMaker

from .context import PageContext, disk_errors
from .errors import OcrFailed
from .inputs import open_pdf
from .ocr import check_outputs, run_tool
from .pdfinput import INLINE_IMAGE, MAX_FORM_DEPTH, ContentBudget, painted, parse_content
from .sanitize import strip_actions

log = logging.getLogger(__name__)

#: Fewer letters than this in the extracted text are not real text (a stray page number, a
#: font without a Unicode map): the page is OCRed instead.
MIN_LETTERS = 20
#: The hOCR of a kept page measures in pixels of this resolution (it has no image of its own).
HOCR_DPI = 300.0
_XHTML = "http://www.w3.org/1999/xhtml"


@dataclass(frozen=True)
class KeptPage:
    """A PDF page kept as it is, and what was read from it.

    Attributes:
        pdf: The page alone, copied unchanged (resources, rotation and all).
        text: Its text, in pdftotext's reading order.
        text_path: The same text as a UTF-8 file.
        hocr: Its words and their boxes, in pixels of HOCR_DPI on the page as displayed.
        word_count: Words in the hOCR.
        width_pt: Page width in points, as displayed.
        height_pt: Page height in points, as displayed.
    """

    pdf: Path
    text: str
    text_path: Path
    hocr: Path
    word_count: int
    width_pt: float
    height_pt: float


def keep_text_page(source: Path, index: int, ctx: PageContext) -> KeptPage | None:
    """Keep page ``index`` of a PDF as it is when it carries real, visible text.

    Returns:
        The kept page, or None when the page must be OCRed (a scan, an invisible text layer
        only, text without letters, or pdftotext failing on it).

    Raises:
        PageError: The PDF cannot be opened (the OCR path would fail the same way), or the
            page's content is too large to be read safely (TooComplex).
    """
    with open_pdf(source) as pdf:
        if not 0 <= index < len(pdf.pages):
            return None  # the OCR path says so with its own message
        try:
            page = pdf.pages[index]
            if not has_visible_text(page, ContentBudget(index)):
                return None
            on_its_side = int(page.obj.get("/Rotate", 0)) % 180 == 90
        except (pikepdf.PdfError, ValueError, TypeError) as exc:
            log.info("page %d: content not readable for text (%s); OCR instead", index + 1, exc)
            return None
        hocr = ctx.get_path("kept.hocr")
        try:
            text = _pdftotext(source, index, ctx, ["-enc", "UTF-8"], "kept.txt")
            if sum(c.isalpha() for c in text) < MIN_LETTERS:
                return None
            layout = _pdftotext(source, index, ctx, ["-enc", "UTF-8", "-bbox-layout"], "kept.html")
            width_pt, height_pt, words = write_hocr(layout, on_its_side, hocr)
        except OcrFailed as exc:
            ctx.warn(f"The page's own text could not be read ({exc.reason}); it was OCRed instead.")
            return None
        text_path = ctx.get_path("kept-text.txt")
        with disk_errors():
            text_path.write_text(text, encoding="utf-8")
        pdf_path, removed = _copy_page(page, ctx.get_path("page.pdf"))
    ctx.warn("The PDF page already has text; it was kept as it is, without OCR.")
    if removed:
        ctx.warn(
            f"Removed {removed} action(s), script(s), attached file(s) or link(s) to other than"
            " web pages from the page."
        )
    return KeptPage(pdf_path, text, text_path, hocr, words, width_pt, height_pt)


def has_visible_text(page: pikepdf.Page, budget: ContentBudget | None = None) -> bool:
    """True when the page's content (forms included) shows text that is not invisible.

    Raises:
        TooComplex: The content, forms included (each time drawn), exceeds ``budget``.
    """
    budget = budget or ContentBudget(0)
    return _shows_text(page.resources, parse_content(page, budget), 0, budget, {})


def _shows_text(
    resources: pikepdf.Object,
    instructions: list,
    depth: int,
    budget: ContentBudget,
    forms_seen: dict[tuple[int, int], bool],
) -> bool:
    """Whether the instructions show visible text; a form drawn again is not read again."""
    forms = resources.get("/XObject", {}) if isinstance(resources, pikepdf.Dictionary) else {}
    for op, operands, _ in painted(instructions):
        if op == "Do":
            form = forms.get(str(operands[0]))
            if (
                depth < MAX_FORM_DEPTH
                and isinstance(form, pikepdf.Stream)
                and form.get("/Subtype") == pikepdf.Name.Form
            ):
                if form.objgen not in forms_seen:
                    inner = form.get("/Resources", resources)  # without its own it inherits
                    content = parse_content(form, budget)
                    forms_seen[form.objgen] = _shows_text(
                        inner, content, depth + 1, budget, forms_seen
                    )
                if forms_seen[form.objgen]:
                    return True
        elif op != INLINE_IMAGE:
            return True  # visible text
    return False


def _pdftotext(source: Path, index: int, ctx: PageContext, options: list[str], name: str) -> str:
    out = ctx.get_path(name)
    page = str(index + 1)
    args = ["pdftotext", "-f", page, "-l", page, *options, str(source), str(out)]
    run_tool(args, timeout=ctx.remaining(), what="pdftotext")
    check_outputs([out], nonempty=[], what="pdftotext")
    return out.read_text(encoding="utf-8", errors="replace").rstrip("\f")  # page separator


def write_hocr(bbox_layout: str, on_its_side: bool, out: Path) -> tuple[float, float, int]:
    """Turn ``pdftotext -bbox-layout`` output (boxes in points) into hOCR at HOCR_DPI.

    Args:
        bbox_layout: pdftotext's XHTML for one page.
        on_its_side: The page's /Rotate is 90 or 270. pdftotext gives the word boxes on the
            page as displayed but its width and height as stored (poppler 22).
        out: The hOCR file to write.

    Returns:
        The page's width and height in points, as displayed, and the number of words.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    root = etree.fromstring(bbox_layout.encode("utf-8"), parser)
    page = root.find(".//{*}page") if root is not None else None
    if page is None:
        raise OcrFailed("pdftotext gave no page.")
    scale = HOCR_DPI / 72
    width_pt, height_pt = float(page.get("width")), float(page.get("height"))
    if on_its_side:
        width_pt, height_pt = height_pt, width_pt

    def bbox(element: etree._Element) -> str:
        box = (float(element.get(k, 0)) * scale for k in ("xMin", "yMin", "xMax", "yMax"))
        return "bbox " + " ".join(str(round(v)) for v in box)

    x = ElementMaker(namespace=_XHTML, nsmap={None: _XHTML})
    size = f"bbox 0 0 {round(width_pt * scale)} {round(height_pt * scale)}"
    ocr_page = x.div({"class": "ocr_page", "title": size})
    words = 0
    for line in page.iter("{*}line"):
        texts = [(w, w.text.strip()) for w in line.iter("{*}word") if (w.text or "").strip()]
        spans = [x.span(text, {"class": "ocrx_word", "title": bbox(w)}) for w, text in texts]
        ocr_page.append(x.span({"class": "ocr_line", "title": bbox(line)}, *spans))
        words += len(spans)
    html = x.html(
        x.head(x.title(""), x.meta(name="ocr-system", content="pdftotext")), x.body(ocr_page)
    )
    with disk_errors():
        out.write_bytes(etree.tostring(html, xml_declaration=True, encoding="UTF-8"))
    return width_pt, height_pt, words


def _copy_page(page: pikepdf.Page, out: Path) -> tuple[Path, int]:
    """Copy the page alone, without actions, scripts, attached files or non-web links.

    Returns:
        ``out`` and how many of those were removed.
    """
    with pikepdf.new() as single:
        single.pages.append(page)
        removed = strip_actions(single)
        with disk_errors():
            single.save(out)
    return out, removed
