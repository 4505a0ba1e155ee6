"""PDF output: the searchable page, the placeholder for a failed page, and the whole document.

A page is the scan, drawn as an image XObject by its placement matrix, with Tesseract's
text-only PDF page on top as a Form XObject (invisible text, render mode 3). A document is
the page PDFs concatenated with pikepdf, with Info and XMP Dublin Core metadata, page
labels 1..n and PDF/A's sRGB output intent (the PDF/A-2b rules Mura can break are checked in
``tests/pdfa_helpers.py``; no conformance is claimed without a validator).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

from mura.workers.pipeline.languages import bcp47

from .context import disk_errors
from .geometry import Matrix, Placement
from .images import EncodedImage, PdfImageRef
from .sanitize import strip_actions

log = logging.getLogger(__name__)

#: Page files added to the document per round (each round opens this many files) ...
ASSEMBLY_BATCH_PAGES = 100
#: ... or fewer, when their sizes add up to this: qpdf holds a round's pages in memory.
ASSEMBLY_BATCH_BYTES = 64 * 1024 * 1024
CREATOR = "Mura digitization workbench"
#: The font of placeholder pages (Debian's fonts-dejavu-core, installed by ./run).
PLACEHOLDER_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: A placeholder page says this much of a failure's reason at most (about 30 lines on A5).
MAX_REASON_CHARS = 2000
#: The colour the scans are meant for, as PDF/A's output intent: sRGB, as scanners deliver.
OUTPUT_CONDITION = "sRGB IEC61966-2.1"


@dataclass
class DocumentMeta:
    """Bibliographic metadata written into an assembled PDF.

    Attributes:
        title: Title of the document.
        authors: Authors in order (dc:creator, Info /Author).
        languages: Languages, as Tesseract codes ('kaz') or BCP 47 ('kk').
        subject: Description / subject (dc:description, Info /Subject).
        identifier: Identifier such as a call number or URN (dc:identifier).
        doc_type: Kind of document, e.g. 'book' (dc:type).
        keywords: Subject words (dc:subject, pdf:Keywords, Info /Keywords).
        rights: The rights statement's URI (xmpRights:WebStatement, dc:rights), when known.
    """

    title: str
    authors: list[str]
    languages: list[str]
    subject: str | None = None
    identifier: str | None = None
    doc_type: str | None = None
    keywords: list[str] = field(default_factory=list)
    rights: str | None = None


# --- one page ------------------------------------------------------------------------------


def build_page_pdf(
    visible: EncodedImage | PdfImageRef, place: Placement, text_pdf: Path | None, out: Path
) -> Path:
    """Write a single-page PDF: the scan as the page, the OCR text layer over it.

    Args:
        visible: The scan image, encoded or to be copied from the source PDF.
        place: Page size and the image's placement matrix.
        text_pdf: Tesseract's text-only PDF page, scaled onto the page; None for no text.
        out: Where to write the page.

    Returns:
        ``out``.
    """
    with ExitStack() as stack:
        pdf = stack.enter_context(pikepdf.new())
        page = pdf.add_blank_page(page_size=(place.width_pt, place.height_pt))
        xobjects = Dictionary(Im0=_image_xobject(pdf, visible, stack))
        content = f"q {_matrix(place.image_matrix)} cm /Im0 Do Q\n"
        if text_pdf is not None:
            # qpdf copies stream data lazily: the source stays open until save().
            text = stack.enter_context(pikepdf.open(text_pdf))
            text_page = text.pages[0]
            x0, y0, x1, y1 = (float(v) for v in text_page.mediabox)
            xobjects.OCR = pdf.copy_foreign(text_page.as_form_xobject())
            scale = (place.width_pt / (x1 - x0), 0, 0, place.height_pt / (y1 - y0), 0, 0)
            content += f"q {_matrix(scale)} cm /OCR Do Q\n"
        page.Resources = Dictionary(XObject=xobjects)
        page.Contents = pdf.make_stream(content.encode("ascii"))
        with disk_errors():
            pdf.save(out)
    return out


def _image_xobject(
    pdf: pikepdf.Pdf, visible: EncodedImage | PdfImageRef, stack: ExitStack
) -> pikepdf.Object:
    if isinstance(visible, PdfImageRef):
        source = stack.enter_context(pikepdf.open(visible.pdf))
        image = source.pages[visible.page].get_images(recursive=False)[visible.name]
        return pdf.copy_foreign(image)
    colorspace: pikepdf.Object = Name("/" + visible.colorspace)
    if visible.icc is not None:
        channels = {"DeviceGray": 1, "DeviceRGB": 3, "DeviceCMYK": 4}[visible.colorspace]
        profile = pdf.make_stream(visible.icc, N=channels, Alternate=colorspace)
        colorspace = Array([Name.ICCBased, profile])
    if visible.palette is not None:
        hival = len(visible.palette) // 3 - 1
        colorspace = Array([Name.Indexed, colorspace, hival, pikepdf.String(visible.palette)])
    image = pikepdf.Stream(pdf, visible.data)
    image.Type = Name.XObject
    image.Subtype = Name.Image
    image.Width = visible.width
    image.Height = visible.height
    image.BitsPerComponent = visible.bits
    image.ColorSpace = colorspace
    image.Filter = Name("/" + visible.filter)
    if visible.decode_parms:
        image.DecodeParms = Dictionary({"/" + k: v for k, v in visible.decode_parms.items()})
    if visible.decode:
        image.Decode = Array(visible.decode)
    return pdf.make_indirect(image)


def _number(value: float) -> str:
    # PDF has no exponent notation; 6 decimals are ample for points.
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _matrix(m: Matrix | tuple[float, ...]) -> str:
    return " ".join(_number(v) for v in m)


# --- placeholder ---------------------------------------------------------------------------

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
        "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya "  # noqa: SIM905
        "a gh q ng o u u h i".split(),
        strict=True,
    )
)
_PUNCTUATION = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'",
                              "’": "'", "–": "-", "—": "-", "…": "...", "№": "No."})  # fmt: skip


def to_ascii(text: str) -> str:
    """Transliterate Cyrillic (Russian, Kazakh, Kyrgyz) and strip other accents to plain ASCII.

    Characters without an ASCII form become '?'.
    """
    out = []
    for char in text.translate(_PUNCTUATION):
        lower = char.lower()
        if lower in _CYRILLIC:
            latin = _CYRILLIC[lower].replace("_", "")
            out.append(latin.capitalize() if char != lower else latin)
        else:
            out.append(char)
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.encode("ascii", "replace").decode("ascii")


def placeholder_page(
    out: Path, reason: str, width_pt: float = 595.0, height_pt: float = 842.0
) -> Path:
    """Write a one-page PDF that says why a page is missing, to keep the page numbering right.

    The text, "This page could not be processed: <reason>", is visible, so staff and readers
    see it, and set in DejaVu Sans, embedded as a subset (PDF/A wants every font embedded).
    Where that font is not installed, it falls back to Helvetica, which is not embedded, and
    to ASCII (non-ASCII reasons are transliterated or stripped).

    Args:
        out: Where to write the page.
        reason: Why the page failed (PageError.reason).
        width_pt: Page width in points (A4 by default).
        height_pt: Page height in points.

    Returns:
        ``out``.
    """
    from fpdf import FPDF  # 0.3 s to import, for the rare failed page: not at start-up

    size = 12.0
    margin = min(56.0, width_pt / 8)
    message = " ".join(f"This page could not be processed: {reason}".split())
    page = FPDF(unit="pt", format=(width_pt, height_pt))
    page.set_auto_page_break(False)  # one page: a very long reason runs off its foot
    page.set_margins(margin, margin)
    page.add_page()
    if PLACEHOLDER_FONT.is_file():
        page.add_font("DejaVuSans", fname=str(PLACEHOLDER_FONT))
        page.set_font("DejaVuSans", size=size)
    else:
        log.warning(
            "%s is missing: placeholder pages use Helvetica, not embedded", PLACEHOLDER_FONT
        )
        page.set_font("Helvetica", size=size)
        message = to_ascii(message)
    page.multi_cell(w=0, h=size * 1.3, text=message[:MAX_REASON_CHARS], align="L")
    with _atomic_output(out) as tmp:
        tmp.write_bytes(bytes(page.output()))
    return out


# --- the document --------------------------------------------------------------------------


def assemble_pdf(page_pdfs: Sequence[Path], out: Path, meta: DocumentMeta) -> Path:
    """Concatenate single-page PDFs into one document with metadata and page labels.

    qpdf copies the data of pages taken from another PDF into memory, but reads a file's
    own streams lazily when saving it. So pages are added in batches of at most
    ASSEMBLY_BATCH_BYTES (or ASSEMBLY_BATCH_PAGES files): each batch is appended to the
    document written so far, which is then saved anew. Memory stays near one batch;
    the price is rewriting the growing file once per batch (~0.5 s per 250 MB).
    The result goes to a temporary file beside ``out`` and is renamed.

    Args:
        page_pdfs: The page PDFs (all pages of each are used), in document order.
        out: The document to write.
        meta: Title, authors, languages etc. for the Info dictionary and XMP.

    Returns:
        ``out``.

    Raises:
        ValueError: No pages.
        TransientError: Out of disk space.
    """
    if not page_pdfs:
        raise ValueError("assemble_pdf needs at least one page")
    batches = list(_batches(page_pdfs))
    parts = [out.with_name(f".{out.name}.{os.getpid()}.part{i}") for i in range(2)]
    try:
        with _atomic_output(out) as tmp:
            so_far: Path | None = None
            for number, batch in enumerate(batches, 1):
                last = number == len(batches)
                target = tmp if last else parts[number % 2]
                _append(so_far, batch, target, meta if last else None)
                so_far = target
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    return out


def _batches(page_pdfs: Sequence[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for path in page_pdfs:
        if batch and (len(batch) >= ASSEMBLY_BATCH_PAGES or size >= ASSEMBLY_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += path.stat().st_size
    yield batch


def _append(
    so_far: Path | None, sources: Sequence[Path], out: Path, meta: DocumentMeta | None
) -> None:
    """Write ``so_far`` (if any) followed by ``sources`` to ``out``; finish it when ``meta``."""
    with ExitStack() as stack:
        pdf = stack.enter_context(pikepdf.open(so_far) if so_far else pikepdf.new())
        for source in sources:
            pdf.pages.extend(stack.enter_context(pikepdf.open(source)).pages)
        if meta is not None:
            # Kept pages were cleaned when kept; this covers every page and the catalog again.
            strip_actions(pdf)
            _share_fonts(pdf)
            _write_metadata(pdf, meta)
            _add_output_intent(pdf)
            pdf.Root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.D)]))
        with disk_errors():
            pdf.save(
                out,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                # Copy stream data as it is; never decode and re-compress images.
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
            )


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """Let all text layers use one copy of Tesseract's GlyphLessFont instead of one per page."""
    seen: dict[str, pikepdf.Object] = {}
    for page in pdf.pages:
        layer = page.obj.get("/Resources", {}).get("/XObject", {}).get("/OCR")
        fonts = layer.get("/Resources", {}).get("/Font") if layer is not None else None
        if fonts is None:
            continue
        for name in list(fonts.keys()):
            font = fonts[name]
            key = _font_key(font)
            if key is None:
                continue
            if key in seen:
                fonts[name] = seen[key]
            else:
                seen[key] = font


def _font_key(font: pikepdf.Object) -> str | None:
    """A fingerprint of a Type0 font and its embedded streams, or None when not shareable."""
    if not font.is_indirect or font.get("/Subtype") != Name.Type0:
        return None
    digest = hashlib.sha256(repr(font.get("/BaseFont")).encode())
    try:
        descendant = font.DescendantFonts[0]
        streams = [font.get("/ToUnicode"), descendant.get("/CIDToGIDMap")]
        streams.append(descendant.FontDescriptor.get("/FontFile2"))
    except (AttributeError, IndexError, KeyError):
        return None
    for stream in streams:
        data = stream.read_raw_bytes() if isinstance(stream, pikepdf.Stream) else repr(stream)
        digest.update(data if isinstance(data, bytes) else data.encode())
    return digest.hexdigest()


def _write_metadata(pdf: pikepdf.Pdf, meta: DocumentMeta) -> None:
    """Info and XMP from ``meta``; what ``meta`` leaves empty is removed (a re-stamp)."""
    languages = [bcp47(lang) for lang in meta.languages]  # one table: languages.py
    keywords = "; ".join(meta.keywords)
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        values: dict[str, object] = {
            "dc:title": meta.title,
            "dc:creator": list(meta.authors),
            "dc:language": set(languages),
            "dc:description": meta.subject,
            "dc:identifier": meta.identifier,
            "dc:type": {meta.doc_type} if meta.doc_type else None,
            "dc:subject": set(meta.keywords) if meta.keywords else None,
            "pdf:Keywords": keywords or None,
            "dc:rights": meta.rights,
            "xmpRights:WebStatement": meta.rights,
            # Marked: rights-managed (True) or public domain (False); unknown: not said.
            "xmpRights:Marked": (
                None if not meta.rights else str("publicdomain" not in meta.rights)
            ),
        }
        for key, value in values.items():
            if value:
                xmp[key] = value
            elif key in xmp and key not in ("dc:title", "dc:creator", "dc:language"):
                del xmp[key]
        xmp["xmp:CreatorTool"] = CREATOR
    pdf.docinfo[Name.Title] = meta.title
    pdf.docinfo[Name.Author] = "; ".join(meta.authors)
    pdf.docinfo[Name.Creator] = CREATOR
    for name, value in ((Name.Subject, meta.subject), (Name.Keywords, keywords)):
        if value:
            pdf.docinfo[name] = value
        elif name in pdf.docinfo:
            del pdf.docinfo[name]
    if languages:
        pdf.Root.Lang = languages[0]


def stamp_of(meta: DocumentMeta) -> dict[str, str]:
    """What :func:`restamp_pdf` would make a PDF say, as :func:`stamp_in` reads it back."""
    return {
        "title": meta.title,
        "author": "; ".join(meta.authors),
        "subject": meta.subject or "",
        "keywords": "; ".join(meta.keywords),
        "rights": meta.rights or "",
        "identifier": meta.identifier or "",
        "lang": bcp47(meta.languages[0]) if meta.languages else "",
    }


def stamp_in(path: Path) -> dict[str, str]:
    """What the PDF at ``path`` says of itself (Info, and the rights from XMP)."""
    with pikepdf.open(path) as pdf:
        info = pdf.docinfo
        meta = pdf.open_metadata()
        return {
            "title": str(info.get("/Title", "")),
            "author": str(info.get("/Author", "")),
            "subject": str(info.get("/Subject", "")),
            "keywords": str(info.get("/Keywords", "")),
            "rights": str(meta.get("xmpRights:WebStatement", "") or ""),
            "identifier": str(meta.get("dc:identifier", "") or ""),
            "lang": str(pdf.Root.get("/Lang", "")),
        }


def restamp_pdf(source: Path, out: Path, meta: DocumentMeta) -> Path:
    """Write ``source`` again with new Info and XMP metadata, nothing else changed.

    The pages, text layers and images are copied as they are (no re-OCR, no re-compression),
    so a change in the catalogue costs a rewrite of the file, not a reprocessing.

    Returns:
        ``out``.
    """
    with _atomic_output(out) as tmp, pikepdf.open(source) as pdf:
        _write_metadata(pdf, meta)
        with disk_errors():
            pdf.save(
                tmp,
                object_stream_mode=pikepdf.ObjectStreamMode.preserve,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
            )
    return out


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (version 4, display class), made by LittleCMS through Pillow."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _add_output_intent(pdf: pikepdf.Pdf) -> None:
    """Say which colours the pages mean: PDF/A's output intent, sRGB (device RGB and gray)."""
    profile = pdf.make_stream(srgb_profile(), N=3)
    intent = Dictionary(
        Type=Name.OutputIntent,
        S=Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String(OUTPUT_CONDITION),
        Info=pikepdf.String(OUTPUT_CONDITION),
        DestOutputProfile=profile,
    )
    pdf.Root.OutputIntents = Array([pdf.make_indirect(intent)])


@contextmanager
def _atomic_output(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out`` and rename it to ``out`` when the block succeeds."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with disk_errors():
            yield tmp
            tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
