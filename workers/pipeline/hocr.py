"""The hOCR page's ``image`` property: which image the word boxes are on.

Tesseract writes the path of the file it read, a scratch file deleted with the work folder,
so a kept hOCR named a file that never existed for anyone reading it. :func:`point_image`
names the page's master instead (the stored file's name, its SHA-256; in a bag, its path
there) and, for a multi-page TIFF or a PDF, which frame of it (``ppageno``, 0-based, as the
hOCR specification counts physical pages).
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from .context import disk_errors

_IMAGE = re.compile(r'image\s+"(?:[^"\\]|\\.)*"\s*;?\s*|image\s+\S+\s*;?\s*')
_PPAGENO = re.compile(r"ppageno\s+\d+\s*;?\s*")


def point_image_bytes(hocr: bytes, image: str, frame: int = 0) -> bytes:
    """``hocr`` with its page's ``image`` set to ``image`` and ``ppageno`` to ``frame``.

    The rest of the file is kept as it is (only the ``ocr_page`` title changes). hOCR that
    is not XML, or has no page, comes back unchanged.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        tree = etree.ElementTree(etree.fromstring(hocr, parser))
    except etree.XMLSyntaxError:
        return hocr
    page = next((e for e in tree.iter() if "ocr_page" in (e.get("class") or "").split()), None)
    if page is None:
        return hocr
    title = _PPAGENO.sub("", _IMAGE.sub("", page.get("title") or "")).strip().rstrip(";")
    quoted = image.replace("\\", "\\\\").replace('"', '\\"')
    parts = [f'image "{quoted}"', *([title] if title else []), f"ppageno {int(frame)}"]
    page.set("title", "; ".join(parts))
    return etree.tostring(
        tree, xml_declaration=True, encoding="UTF-8", doctype=tree.docinfo.doctype or None
    )


def point_image(hocr: Path, image: str, frame: int = 0) -> Path:
    """Rewrite the hOCR file ``hocr`` in place with :func:`point_image_bytes`."""
    data = hocr.read_bytes()
    pointed = point_image_bytes(data, image, frame)
    if pointed != data:
        with disk_errors():
            hocr.write_bytes(pointed)
    return hocr
