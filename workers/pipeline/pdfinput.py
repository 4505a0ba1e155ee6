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

import base64
import binascii
import logging
import math
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image

from .context import PageContext
from .errors import NotAnImage, OcrFailed, TooComplex, TooLarge, TruncatedImage
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

#: The most content one PDF page may unpack to, the forms it draws included (a typeset page
#: has tens of kilobytes; a detailed map a few megabytes) ...
MAX_CONTENT_BYTES = 16 * 1024 * 1024
#: ... and the most operators and operands (tokens) it may hold. Parsed, each costs some 300
#: bytes and 4 microseconds: the 10 million ``q Q`` of a 21 KB file took a worker to 3.2 GB.
#: Counted before parsing, as the separators (whitespace and delimiters) in the content:
#: never fewer than the tokens, less one.
MAX_CONTENT_TOKENS = 1_000_000
#: Forms (XObjects) nested deeper than this are not measured (nor searched for text).
MAX_FORM_DEPTH = 4
#: How many times larger than its input a filter's output can be, for the filters not
#: unpacked here with a bound (their output is checked against the limit beforehand).
_WORST_EXPANSION = {
    "/FlateDecode": 1032, "/Fl": 1032, "/LZWDecode": 1400, "/LZW": 1400,
    "/RunLengthDecode": 64, "/RL": 64, "/ASCII85Decode": 4, "/A85": 4,
    "/ASCIIHexDecode": 1, "/AHx": 1,
}  # fmt: skip
#: Bytes that end a token in a content stream: between two operators there is one at least.
_SEPARATORS = tuple(bytes([c]) for c in b" \t\n\r\x0c\x00()<>[]{}/%")
#: Input fed to zlib per call, so damaged data keeps what came before the damage (as qpdf).
_INFLATE_CHUNK = 64 * 1024


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
            # Measured before anything reads it: pdftoppm would draw it all, qpdf parse it all.
            check_content(page, ContentBudget(index))
            found = full_page_image(page, ContentBudget(index))
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


@dataclass
class ContentBudget:
    """What one page may still unpack and parse; shared by the page and every form it draws.

    Attributes:
        page: 0-based page index (for the message).
        bytes_left: Unpacked content bytes still allowed.
        tokens_left: Operators and operands still allowed (counted as separators).
    """

    page: int
    bytes_left: int = MAX_CONTENT_BYTES
    tokens_left: int = MAX_CONTENT_TOKENS

    def too_big(self) -> TooComplex:
        """The error for content that unpacks to more than MAX_CONTENT_BYTES."""
        return TooComplex(
            f"Page {self.page + 1} of the PDF is too complex to process: its content unpacks to"
            f" more than {MAX_CONTENT_BYTES // (1024 * 1024)} MB."
        )

    def charge(self, data: bytes) -> None:
        """Count ``data`` (unpacked content) against the budget.

        Raises:
            TooComplex: The page's content is too large or holds too many operators.
        """
        self.bytes_left -= len(data)
        if self.bytes_left < 0:
            raise self.too_big()
        self.tokens_left -= sum(data.count(sep) for sep in _SEPARATORS) + 1
        if self.tokens_left < 0:
            raise TooComplex(
                f"Page {self.page + 1} of the PDF is too complex to process: its content holds"
                f" more than {MAX_CONTENT_TOKENS:,} drawing commands and numbers."
            )


def check_content(page: pikepdf.Page, budget: ContentBudget) -> None:
    """Measure a page's content and the forms it may draw (each once) against ``budget``.

    For pages handed to ``pdftoppm``, which draws whatever the content says.

    Raises:
        TooComplex: The content is too large or has too many operators.
    """
    for stream in _content_streams(page):
        budget.charge(unpack_content(stream, budget))
    seen: set[tuple[int, int]] = set()
    todo = [(page.obj.get("/Resources"), 0)]
    while todo:
        resources, depth = todo.pop()
        forms = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(forms, pikepdf.Dictionary) or depth >= MAX_FORM_DEPTH:
            continue
        for name in list(forms.keys()):
            form = forms[name]
            if (
                isinstance(form, pikepdf.Stream)
                and form.get("/Subtype") == pikepdf.Name.Form
                and form.objgen not in seen
            ):
                seen.add(form.objgen)
                budget.charge(unpack_content(form, budget))
                todo.append((form.get("/Resources"), depth + 1))


def _content_streams(obj: pikepdf.Page | pikepdf.Stream) -> list[pikepdf.Stream]:
    if isinstance(obj, pikepdf.Stream):
        return [obj]
    contents = obj.obj.get("/Contents")
    items = contents if isinstance(contents, pikepdf.Array) else [contents]
    return [item for item in items if isinstance(item, pikepdf.Stream)]


def parse_content(obj: pikepdf.Page | pikepdf.Stream, budget: ContentBudget) -> list:
    """Parse a page's or a form's content, once its size and operators fit in ``budget``.

    qpdf's parser keeps every operator as an object; unchecked, a small file can make it
    take gigabytes. The content is first unpacked with a bound and measured.

    Raises:
        TooComplex: The content is too large or has too many operators.
    """
    for stream in _content_streams(obj):
        budget.charge(unpack_content(stream, budget))
    return pikepdf.parse_content_stream(obj)


def unpack_content(stream: pikepdf.Stream, budget: ContentBudget) -> bytes:
    """A content stream's data, unpacked without ever producing more than the budget allows.

    Flate, ASCII hex and ASCII85 are unpacked here, Flate with a bound; any other filter (or a
    predictor) is left to qpdf only when its input times the filter's worst expansion fits.

    Raises:
        TooComplex: The data unpacks, or might unpack, to more than ``budget.bytes_left``.
    """
    limit = max(budget.bytes_left, 0)
    data = stream.read_raw_bytes()
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else []
    if isinstance(filters, pikepdf.Name):
        names = [str(filters)]
    parms = stream.get("/DecodeParms")
    exact, size = True, len(data)
    for i, name in enumerate(names):
        if exact and name in ("/FlateDecode", "/Fl"):
            data = _inflate(data, limit, budget)
            size = len(data)
            exact = not _has_predictor(parms, i)  # undoing a predictor only shrinks: qpdf's job
            continue
        if exact and name in ("/ASCIIHexDecode", "/AHx", "/ASCII85Decode", "/A85"):
            try:
                data = _unhex(data) if name in ("/ASCIIHexDecode", "/AHx") else _un85(data)
                size = len(data)
                continue
            except ValueError:
                pass  # damaged: qpdf is more lenient, within the bound below
        exact = False
        size *= _WORST_EXPANSION.get(name, limit + 1)
        if size > limit:
            raise budget.too_big()
    return data if exact else stream.read_bytes(pikepdf.StreamDecodeLevel.specialized)


def _inflate(data: bytes, limit: int, budget: ContentBudget) -> bytes:
    out = bytearray()
    inflater = zlib.decompressobj()
    for start in range(0, len(data), _INFLATE_CHUNK):
        try:
            out += inflater.decompress(data[start : start + _INFLATE_CHUNK], limit + 1 - len(out))
        except zlib.error:
            break  # damaged: keep what came before, as qpdf does
        if len(out) > limit or inflater.unconsumed_tail:
            raise budget.too_big()
        if inflater.eof:
            break
    return bytes(out)


def _has_predictor(parms: pikepdf.Object | None, index: int) -> bool:
    if isinstance(parms, pikepdf.Array):
        parms = parms[index] if index < len(parms) else None
    return isinstance(parms, pikepdf.Dictionary) and int(parms.get("/Predictor", 1)) > 1


def _unhex(data: bytes) -> bytes:
    digits = bytes(c for c in data.split(b">", 1)[0] if c not in b" \t\n\r\x0c\x00")
    try:
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc


def _un85(data: bytes) -> bytes:
    body = data.split(b"~>", 1)[0].strip().removeprefix(b"<~")
    return base64.a85decode(body, ignorechars=b" \t\n\r\x0b\x0c\x00")


def _page_rotation(page: pikepdf.Page) -> int:
    rotate = int(page.obj.get("/Rotate", 0))
    return rotate % 360 if rotate % 90 == 0 else 0


def full_page_image(
    page: pikepdf.Page, budget: ContentBudget | None = None
) -> tuple[str, pikepdf.Stream, tuple[float, float]] | None:
    """Find the one image that a scanner drew over the whole page.

    Args:
        page: The PDF page.
        budget: What its content may unpack to and hold (default: the limits, as page 1).

    Returns:
        (resource name, image stream, drawn (width, height) in points), or None when the
        page is anything else: no image or several, forms, inline images, visible text,
        a rotated or mirrored placement, or an image that does not cover the page.

    Raises:
        TooComplex: The page's content is too large or holds too many operators.
    """
    images = page.get_images(recursive=False)
    if len(images) == 0:
        return None
    drawn: list[tuple[str, _Matrix]] = []
    # No operator filter: with one, qpdf drops inline images silently.
    for op, operands, ctm in painted(parse_content(page, budget or ContentBudget(0))):
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
