"""What stands between a PDF and a PDF/A-2b claim, as far as it can be checked without veraPDF.

The checks follow ISO 19005-2's rules that Mura's output could break: the output intent, the
XMP packet and its agreement with the Info dictionary, embedded fonts, device colour spaces
the output intent does not cover, forbidden filters, encryption, scripts and annotations.
They do not replace a validator (font program internals, ICC profile contents and the like
are not looked at).
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
from pikepdf import Name

#: Info dictionary keys and the XMP properties that must say the same (ISO 19005-2, 6.6.2.3).
INFO_TO_XMP = {
    "/Title": "dc:title",
    "/Author": "dc:creator",
    "/Subject": "dc:description",
    "/Keywords": "pdf:Keywords",
    "/Creator": "xmp:CreatorTool",
    "/Producer": "pdf:Producer",
}
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def pdfa_problems(path: Path) -> list[str]:
    """The reasons ``path`` could not claim PDF/A-2b; empty when every check passes."""
    problems: list[str] = []
    with pikepdf.open(path) as pdf:
        problems += _document_problems(pdf)
        for number, page in enumerate(pdf.pages, 1):
            if "/Annots" in page.obj:
                problems.append(f"page {number}: annotations")
            seen: set[tuple[int, int]] = set()
            problems += [
                f"page {number}: {p}" for p in _resource_problems(page.obj.get("/Resources"), seen)
            ]
    return problems


def _document_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    if pdf.is_encrypted:
        problems.append("encrypted")
    if "/ID" not in pdf.trailer:
        problems.append("no file identifier (/ID) in the trailer")
    root = pdf.Root
    if "/JavaScript" in root.get("/Names", {}) or "/AA" in root:
        problems.append("scripts or automatic actions")
    intents = [i for i in root.get("/OutputIntents", []) if i.get("/S") == Name.GTS_PDFA1]
    if len(intents) != 1:
        problems.append(f"{len(intents)} PDF/A output intents, not one")
    else:
        profile = intents[0].get("/DestOutputProfile")
        data = profile.read_bytes() if isinstance(profile, pikepdf.Stream) else b""
        if len(data) < 128 or data[36:40] != b"acsp":
            problems.append("the output intent has no ICC profile")
        elif data[8] > 4 or data[12:16] not in (b"mntr", b"prtr", b"scnr", b"spac"):
            problems.append("the output intent's ICC profile is of a version or class PDF/A bars")
        elif int(profile.get("/N", 0)) != {b"RGB ": 3, b"GRAY": 1, b"CMYK": 4}.get(data[16:20]):
            problems.append("the output intent's /N does not match its ICC profile")
    metadata = root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        problems.append("no XMP metadata")
        return problems
    if "/Filter" in metadata:
        problems.append("the XMP metadata stream is compressed")
    xmp = pdf.open_metadata()
    for key, prop in INFO_TO_XMP.items():
        if key not in pdf.docinfo:
            continue
        value = xmp.get(prop)
        if isinstance(value, list):
            value = "; ".join(value)
        if str(pdf.docinfo[key]) != (value or ""):
            problems.append(f"Info {key} and XMP {prop} differ")
    return problems


def _resource_problems(resources: object, seen: set[tuple[int, int]]) -> list[str]:
    """Fonts, images and nested forms of a resource dictionary, each object looked at once."""
    if not isinstance(resources, pikepdf.Dictionary):
        return []
    problems = []
    for name, font in resources.get("/Font", {}).items():
        if _first_visit(font, seen) and not _font_embedded(font):
            problems.append(f"font {name} ({font.get('/BaseFont')}) is not embedded")
    for name, xobject in resources.get("/XObject", {}).items():
        if not _first_visit(xobject, seen):
            continue
        if "/LZWDecode" in _filters(xobject):
            problems.append(f"{name} is LZW-compressed")
        if xobject.get("/Subtype") == Name.Image and _device_cmyk(xobject.get("/ColorSpace")):
            problems.append(f"image {name} is DeviceCMYK, which the sRGB output intent omits")
        if xobject.get("/Subtype") == Name.Form:
            problems += _resource_problems(xobject.get("/Resources"), seen)
    return problems


def _first_visit(obj: pikepdf.Object, seen: set[tuple[int, int]]) -> bool:
    if not obj.is_indirect:
        return True
    if obj.objgen in seen:
        return False
    seen.add(obj.objgen)
    return True


def _font_embedded(font: pikepdf.Dictionary) -> bool:
    if font.get("/Subtype") == Name.Type3:
        return True  # glyphs drawn by content streams
    if font.get("/Subtype") == Name.Type0:
        font = font.DescendantFonts[0]
    descriptor = font.get("/FontDescriptor", {})
    return any(key in descriptor for key in FONT_FILES)


def _filters(stream: pikepdf.Object) -> set[str]:
    value = stream.get("/Filter")
    if value is None:
        return set()
    return {str(f) for f in value} if isinstance(value, pikepdf.Array) else {str(value)}


def _device_cmyk(colorspace: object) -> bool:
    if colorspace == Name.DeviceCMYK:
        return True
    if isinstance(colorspace, pikepdf.Array) and colorspace[0] == Name.Indexed:
        return _device_cmyk(colorspace[1])
    return False
