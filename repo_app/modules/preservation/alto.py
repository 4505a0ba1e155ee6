"""ALTO 4 per page: the OCR's words and their boxes as national libraries and aggregators take them.

Europeana Newspapers, OCR-D and national e-libraries load OCR as ALTO XML (Analyzed Layout and
Text Object, https://www.loc.gov/standards/alto/), not hOCR. A page's ALTO is made from the
hOCR the pipeline kept (Tesseract's, or the one made from a PDF page's own text layer):

- ``ocr_carea``/``ocr_par`` become ``TextBlock``, ``ocr_line`` (and Tesseract's
  ``ocr_caption``, ``ocr_header``, ``ocr_textfloat``) ``TextLine``, ``ocrx_word`` ``String``
  with ``SP`` between words; lines outside any block get a block of their own;
- coordinates stay in pixels of the image the hOCR describes (``MeasurementUnit`` pixel), the
  upright, deskewed page at the page's resolution; Tesseract's ``x_wconf`` (0-100) becomes
  ``WC`` (0-1); a paragraph's language (Tesseract code) becomes ``LANG`` (BCP 47);
- ``sourceImageInformation/fileName`` names the page's master image (in a bag: its path
  there), never the temporary file Tesseract read.

Valid against the ALTO 4.4 schema (``tests/schemas/alto/``, checked by ``tests/test_alto.py``).
A staff correction of the text has no word boxes, so ALTO carries what OCR read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from mura.workers.pipeline.languages import bcp47

if TYPE_CHECKING:
    from mura.app.models import Page

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ALTO_NS} http://www.loc.gov/alto/v4/alto-4-4.xsd"
MIME = "application/alto+xml"
#: hOCR classes that are lines of text.
LINE_CLASSES = frozenset({"ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat"})
#: hOCR classes that group lines into a block.
BLOCK_CLASSES = frozenset({"ocr_par", "ocr_carea"})
_BBOX = re.compile(r"bbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
_WCONF = re.compile(r"x_wconf\s+(\d+(?:\.\d+)?)")
_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class AltoError(ValueError):
    """hOCR that cannot become ALTO (not XML, or no page in it); ``str()`` says why."""


@dataclass(frozen=True)
class AltoPage:
    """What ALTO says of the page besides its words.

    Attributes:
        seq: The page's number in the document (``PHYSICAL_IMG_NR``, ``PRINTED_IMG_NR``).
        image_name: The master image's name (a path in a bag, or the stored file's).
        processed_at: When OCR ran (``processingDateTime``), if known.
        langs: The page's OCR languages (Tesseract codes), for a page without paragraph ones.
    """

    seq: int
    image_name: str
    processed_at: datetime | None = None
    langs: str = ""


def alto_from_hocr(hocr: bytes, page: AltoPage) -> bytes:
    """The ALTO 4 XML of one page from its hOCR (UTF-8 bytes with an XML declaration).

    Raises:
        AltoError: The hOCR is not XML or has no ``ocr_page``.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(hocr, parser)
    except etree.XMLSyntaxError as exc:
        raise AltoError(f"the hOCR is not XML ({exc})") from exc
    hocr_page = next((e for e in root.iter() if _classes(e) & {"ocr_page"}), None)
    if hocr_page is None:
        raise AltoError("the hOCR has no ocr_page")
    page_box = _box(hocr_page)
    width, height = page_box[2:] if page_box else (0, 0)
    a = f"{{{ALTO_NS}}}"
    alto = etree.Element(a + "alto", nsmap={None: ALTO_NS, "xsi": XSI_NS})
    alto.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    alto.set("SCHEMAVERSION", "4.4")
    _description(alto, root, page)
    layout = etree.SubElement(alto, a + "Layout")
    page_id = f"P{page.seq}"
    alto_page = etree.SubElement(
        layout, a + "Page", ID=page_id, PHYSICAL_IMG_NR=str(page.seq),
        PRINTED_IMG_NR=str(page.seq), WIDTH=str(width), HEIGHT=str(height),
    )  # fmt: skip
    space = etree.SubElement(
        alto_page, a + "PrintSpace", HPOS="0", VPOS="0", WIDTH=str(width), HEIGHT=str(height)
    )
    default_lang = _language(page.langs.split("+")[0]) if page.langs else None
    counts = {"TB": 0, "TL": 0, "S": 0}
    for block, lines in _blocks(hocr_page):
        counts["TB"] += 1
        text_block = etree.SubElement(space, a + "TextBlock", ID=f"{page_id}_TB{counts['TB']}")
        _position(text_block, _box(block) if block is not None else _union(lines))
        lang = _language(_lang_of(block)) if block is not None else None
        if lang or default_lang:
            text_block.set("LANG", lang or default_lang or "")
        for line in lines:
            words = [w for w in line.iter() if "ocrx_word" in _classes(w) and _text(w)]
            if not words:
                continue
            counts["TL"] += 1
            text_line = etree.SubElement(
                text_block, a + "TextLine", ID=f"{page_id}_TL{counts['TL']}"
            )
            _position(text_line, _box(line) or _union(words))
            for index, word in enumerate(words):
                if index:
                    etree.SubElement(text_line, a + "SP")
                counts["S"] += 1
                string = etree.SubElement(
                    text_line, a + "String", ID=f"{page_id}_S{counts['S']}", CONTENT=_text(word)
                )
                _position(string, _box(word))
                word_lang = _language(_lang_of(word))
                if word_lang and word_lang != text_block.get("LANG"):
                    string.set("LANG", word_lang)  # a Russian word on a Kazakh page
                confidence = _WCONF.search(word.get("title") or "")
                if confidence:
                    string.set("WC", _number(min(100.0, float(confidence.group(1))) / 100))
        if not len(text_block):
            space.remove(text_block)
            counts["TB"] -= 1
    return etree.tostring(alto, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _description(alto: etree._Element, root: etree._Element, page: AltoPage) -> None:
    a = f"{{{ALTO_NS}}}"
    description = etree.SubElement(alto, a + "Description")
    etree.SubElement(description, a + "MeasurementUnit").text = "pixel"
    source = etree.SubElement(description, a + "sourceImageInformation")
    etree.SubElement(source, a + "fileName").text = _clean(page.image_name)
    processing = etree.SubElement(description, a + "Processing", ID="OCR1")
    etree.SubElement(processing, a + "processingCategory").text = "contentGeneration"
    if page.processed_at is not None:
        etree.SubElement(processing, a + "processingDateTime").text = page.processed_at.replace(
            microsecond=0
        ).isoformat()
    software = etree.SubElement(processing, a + "processingSoftware")
    system = next(
        (m.get("content") for m in root.iter("{*}meta") if m.get("name") == "ocr-system"), None
    )
    name, _, version = (system or "tesseract").partition(" ")
    etree.SubElement(software, a + "softwareName").text = _clean(name)
    if version:
        etree.SubElement(software, a + "softwareVersion").text = _clean(version)


def _blocks(
    hocr_page: etree._Element,
) -> list[tuple[etree._Element | None, list[etree._Element]]]:
    """Lines in reading order, grouped by their nearest paragraph or area (None: no block)."""
    blocks: list[tuple[etree._Element | None, list[etree._Element]]] = []
    for line in hocr_page.iter():
        if not _classes(line) & LINE_CLASSES:
            continue
        block = next((p for p in line.iterancestors() if _classes(p) & BLOCK_CLASSES), None)
        if blocks and blocks[-1][0] is block:  # the same block, or lines outside any
            blocks[-1][1].append(line)
        else:
            blocks.append((block, [line]))
    return blocks


def _classes(element: etree._Element) -> set[str]:
    if not isinstance(element.tag, str):
        return set()
    return set((element.get("class") or "").split())


def _box(element: etree._Element) -> tuple[int, int, int, int] | None:
    found = _BBOX.search(element.get("title") or "")
    return tuple(int(v) for v in found.groups()) if found else None  # type: ignore[return-value]


def _union(elements: list[etree._Element]) -> tuple[int, int, int, int] | None:
    boxes = [b for b in (_box(e) for e in elements) if b]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _position(element: etree._Element, box: tuple[int, int, int, int] | None) -> None:
    if box is None:
        return
    x0, y0, x1, y1 = box
    element.set("HPOS", str(x0))
    element.set("VPOS", str(y0))
    element.set("WIDTH", str(max(0, x1 - x0)))
    element.set("HEIGHT", str(max(0, y1 - y0)))


def _lang_of(element: etree._Element) -> str | None:
    return element.get("lang") or element.get("{http://www.w3.org/XML/1998/namespace}lang")


def _language(code: str | None) -> str | None:
    """A BCP 47 tag (``LANG`` is xsd:language) for a Tesseract code; None when unknown."""
    if not code:
        return None
    tag = bcp47(code)
    return tag if re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", tag or "") else None


def _text(element: etree._Element) -> str:
    return _clean(" ".join("".join(element.itertext()).split()))


def _clean(value: str) -> str:
    """XML 1.0 cannot hold most control characters."""
    return _XML_CHARS.sub("", value)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def page_alto(page: Page) -> bytes | None:
    """The ALTO 4 of a page of the store, naming its stored master; None without hOCR.

    Raises:
        AltoError: The stored hOCR cannot be read as hOCR.
    """
    from mura.app.core.files import local_path
    from mura.app.extensions import db
    from mura.app.models import StoredFile

    if page.hocr_file_id is None:
        return None
    hocr = db.session.get(StoredFile, page.hocr_file_id)
    if hocr is None:
        return None
    return alto_from_hocr(
        local_path(hocr).read_bytes(),
        AltoPage(
            seq=page.seq,
            image_name=page.source_file.sha256 if page.source_file else "",
            processed_at=page.finished_at,
            langs=page.langs or (page.job.langs if page.job else ""),
        ),
    )
