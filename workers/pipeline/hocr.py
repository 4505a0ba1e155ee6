"""The hOCR page's ``image`` property: which image the word boxes are on.

Tesseract writes the path of the file it read, a scratch file deleted with the work folder,
so a kept hOCR named a file that never existed for anyone reading it. :func:`point_image`
names the page's master instead (the stored file's name, its SHA-256; in a bag, its path
there) and, for a multi-page TIFF or a PDF, which frame of it (``ppageno``, 0-based, as the
hOCR specification counts physical pages).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from lxml import etree

from .context import disk_errors

_IMAGE = re.compile(r'image\s+"(?:[^"\\]|\\.)*"\s*;?\s*|image\s+[^;"\s]+\s*;?\s*')
_PPAGENO = re.compile(r"ppageno\s+\d+\s*;?\s*")
#: The start tag of the hOCR page element, and the title attribute inside a start tag.
_PAGE_TAG = re.compile(
    rb"<[A-Za-z]+\b[^>]*\bclass\s*=\s*([\"'])(?:[^\"'>]*\s)?ocr_page(?:\s[^\"'>]*)?\1[^>]*>"
)
_TITLE = re.compile(rb"\btitle\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def point_image_bytes(hocr: bytes, image: str, frame: int = 0) -> bytes:
    """``hocr`` with its page's ``image`` set to ``image`` and ``ppageno`` to ``frame``.

    Only the page element's ``title`` attribute changes: every other byte stays as Tesseract
    (or pdftotext) wrote it, quotes included, for tools that read hOCR with patterns. hOCR
    without a page element, or that would not parse afterwards, comes back unchanged.
    """
    tag = _PAGE_TAG.search(hocr)
    if tag is None:
        return hocr
    start_tag = tag.group(0)
    found = _TITLE.search(start_tag)
    old = html.unescape((found.group(1) or found.group(2)).decode("utf-8")) if found else ""
    rest = _PPAGENO.sub("", _IMAGE.sub("", old)).strip().rstrip(";").strip()
    quoted = image.replace("\\", "\\\\").replace('"', '\\"')
    title = "; ".join([f'image "{quoted}"', *([rest] if rest else []), f"ppageno {int(frame)}"])
    value = "'" + html.escape(title, quote=False).replace("'", "&apos;") + "'"
    if found:
        new_tag = start_tag[: found.start()] + b"title=" + value.encode() + start_tag[found.end() :]
    else:
        end = -2 if start_tag.endswith(b"/>") else -1
        new_tag = start_tag[:end] + b" title=" + value.encode() + start_tag[end:]
    result = hocr[: tag.start()] + new_tag + hocr[tag.end() :]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(result, parser)
    except etree.XMLSyntaxError:
        return hocr
    return result


def point_image(hocr: Path, image: str, frame: int = 0) -> Path:
    """Rewrite the hOCR file ``hocr`` in place with :func:`point_image_bytes`."""
    data = hocr.read_bytes()
    pointed = point_image_bytes(data, image, frame)
    if pointed != data:
        with disk_errors():
            hocr.write_bytes(pointed)
    return hocr
