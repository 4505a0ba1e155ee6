"""Pages of uploaded PDFs.

A scanner's PDF page is one image drawn over the whole page. We take that image out
losslessly with pikepdf: its decoded pixels go to OCR and the image object itself is copied
unchanged into the output page. A page with real, visible text never gets here: it is kept
as it is (``textpage.py``) unless staff ask for OCR. Any other page (several images, forms,
odd placement, or text staff want OCRed) is rendered with ``pdftoppm`` at 300 dpi instead;
then its vector content and any old text layer are replaced by the rendered scan and our new
text layer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import pikepdf
from PIL import Image

from .context import PageContext
from .errors import NotAnImage, OcrFailed, TooLarge, TruncatedImage
from .images import LoadedPage, PdfImageRef, png_passthrough
from .inputs import check_pixels, open_pdf
from .ocr import check_outputs, run_tool

log = logging.getLogger(__name__)

RASTER_DPI = 300.0
MIN_RASTER_DPI = 50.0
#: How far (as a fraction of the page size) the image's edges may be from the page's.
EDGE_TOLERANCE = 0.015

_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_TEXT_SHOWING = {"Tj", "TJ", "'", '"'}
_INVISIBLE = 3
#: The operator :func:`painted` gives an inline image (``BI`` starts one in a content stream).
INLINE_IMAGE = "BI"


def load_pdf_page(path: Path, index: int, ctx: PageContext) -> LoadedPage:
    """Load page ``index`` of a PDF: its full-page scan image, or a rendering of the page.

    Args:
        path: The PDF.
        index: 0-based page index.
        ctx: Page context (paths, deadline, warnings).

    Raises:
        NotAnImage: There is no such page.
        TooLarge: The page or its image has too many pixels.
        TruncatedImage: The PDF or the page cannot be read or rendered.
    """
    with open_pdf(path) as pdf:
        count = len(pdf.pages)
        if not 0 <= index < count:
            raise NotAnImage(f"The PDF has no page {index + 1} (it has {count}).")
        page = pdf.pages[index]
        try:
            found = full_page_image(page)
            rotation = _page_rotation(page)
            box = page.cropbox
            box_size = (float(box[2]) - float(box[0]), float(box[3]) - float(box[1]))
        except (pikepdf.PdfError, ValueError, TypeError) as exc:
            raise TruncatedImage(f"Page {index + 1} of the PDF is damaged ({exc}).") from exc
        if found is not None:
            name, image, drawn_size = found
            pixels = _decode(image, ctx)
            if pixels is not None:
                dpi = (pixels.width * 72 / drawn_size[0], pixels.height * 72 / drawn_size[1])
                visible = PdfImageRef(path, index, name, pixels.width, pixels.height)
                description = f"PDF image {pixels.width}x{pixels.height} {pixels.mode}"
                return LoadedPage(pixels, visible, dpi, rotation, description)
    return rasterize_page(path, index, box_size, ctx)


def _page_rotation(page: pikepdf.Page) -> int:
    rotate = int(page.obj.get("/Rotate", 0))
    return rotate % 360 if rotate % 90 == 0 else 0


def full_page_image(page: pikepdf.Page) -> tuple[str, pikepdf.Stream, tuple[float, float]] | None:
    """Find the one image that a scanner drew over the whole page.

    Returns:
        (resource name, image stream, drawn (width, height) in points), or None when the
        page is anything else: no image or several, forms, inline images, visible text,
        a rotated or mirrored placement, or an image that does not cover the page.
    """
    images = page.get_images(recursive=False)
    if len(images) == 0:
        return None
    drawn: list[tuple[str, _Matrix]] = []
    # No operator filter: with one, qpdf drops inline images silently.
    for op, operands, ctm in painted(pikepdf.parse_content_stream(page)):
        if op != "Do":
            return None  # an inline image or visible text: not a bare scan
        drawn.append((str(operands[0]), ctm))
    if len(drawn) != 1 or drawn[0][0] not in images:
        return None
    name, (a, b, c, d, e, f) = drawn[0]
    image = images[name]
    if image.get("/ImageMask", False) or abs(b) > 1e-6 * a or abs(c) > 1e-6 * d or a <= 0 or d <= 0:
        return None
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    width, height = x1 - x0, y1 - y0
    edges = (abs(e - x0) / width, abs(f - y0) / height)
    edges += (abs(e + a - x1) / width, abs(f + d - y1) / height)
    if max(edges) > EDGE_TOLERANCE:
        return None
    return name, image, (a, d)


def painted(instructions: Iterable) -> Iterator[tuple[str, list, _Matrix]]:
    """What a content stream paints, each with the transformation (CTM) it is painted under.

    Follows the graphics state (``q``/``Q``, ``cm``, the text render mode ``Tr``) and yields
    ``(operator, operands, ctm)`` for each XObject drawn (``Do``), each text shown visibly
    (``Tj``, ``TJ``, ``'``, ``"``; invisible text, render mode 3, is passed over) and each
    inline image (operator :data:`INLINE_IMAGE`, no operands).
    """
    ctm, text_mode = _IDENTITY, 0
    stack: list[tuple[_Matrix, int]] = []
    for instruction in instructions:
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            yield INLINE_IMAGE, [], ctm
            continue
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append((ctm, text_mode))
        elif op == "Q" and stack:
            ctm, text_mode = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)
        elif op == "Tr":
            text_mode = int(operands[0])
        elif (op in _TEXT_SHOWING and text_mode != _INVISIBLE) or op == "Do":
            yield op, operands, ctm


def _multiply(m: tuple[float, ...], n: _Matrix) -> _Matrix:
    """The PDF matrix product m x n (``m cm`` applied on top of the CTM n)."""
    a, b, c, d, e, f = m
    na, nb, nc, nd, ne, nf = n
    return (
        a * na + b * nc,
        a * nb + b * nd,
        c * na + d * nc,
        c * nb + d * nd,
        e * na + f * nc + ne,
        e * nb + f * nd + nf,
    )


def _decode(image: pikepdf.Stream, ctx: PageContext) -> Image.Image | None:
    """Decode a PDF image with pikepdf/Pillow; None (and a warning) when that is not possible."""
    pdf_image = pikepdf.PdfImage(image)
    check_pixels((pdf_image.width, pdf_image.height))
    try:
        with pdf_image.as_pil_image() as pixels:
            pixels.load()
            return pixels.copy()
    except Exception as exc:
        ctx.warn(f"The page's image could not be taken out ({exc}); the page was rendered instead.")
        return None


def rasterize_page(
    path: Path, index: int, box_size: tuple[float, float], ctx: PageContext
) -> LoadedPage:
    """Render a PDF page with ``pdftoppm`` (PNG, colour) at up to 300 dpi.

    The resolution is lowered for pages so large that 300 dpi would exceed Pillow's pixel
    limit.

    Raises:
        TooLarge: Even MIN_RASTER_DPI would be too many pixels.
        TruncatedImage: pdftoppm fails on the page.
    """
    area_in2 = max(box_size[0], 1.0) * max(box_size[1], 1.0) / 72**2
    limit = Image.MAX_IMAGE_PIXELS or float("inf")
    dpi = min(RASTER_DPI, math.sqrt(limit / area_in2))
    if dpi < MIN_RASTER_DPI:
        raise TooLarge(
            f"The PDF page is too large to render ({box_size[0] / 72 * 2.54:.0f} x"
            f" {box_size[1] / 72 * 2.54:.0f} cm)."
        )
    dpi = math.floor(dpi)
    prefix = ctx.get_path("render")
    args = ["pdftoppm", "-r", str(dpi), "-f", str(index + 1), "-l", str(index + 1)]
    args += ["-png", "-singlefile", str(path), str(prefix)]
    try:
        run_tool(args, timeout=ctx.remaining(), what="pdftoppm")
    except OcrFailed as exc:
        raise TruncatedImage(f"The PDF page could not be rendered ({exc.reason}).") from exc
    png = prefix.with_suffix(".png")
    check_outputs([png], nonempty=[png], what="pdftoppm")
    with Image.open(png, formats=["PNG"]) as rendered:
        rendered.load()
        pixels = rendered.copy()
    visible = png_passthrough(png.read_bytes())
    if visible is None:  # pragma: no cover - pdftoppm writes plain 8-bit RGB PNGs
        raise TruncatedImage("pdftoppm wrote an image that cannot be embedded.")
    if dpi < RASTER_DPI:
        ctx.warn(f"The PDF page is very large; it was rendered at {dpi} dpi.")
    else:
        ctx.warn("The PDF page is not a single scanned image; it was rendered at 300 dpi.")
    return LoadedPage(pixels, visible, (float(dpi), float(dpi)), 0, f"PDF rendering at {dpi} dpi")
