"""Take out of a PDF what Mura must not publish: actions, JavaScript, embedded files, odd links.

A page kept with its own text (``textpage.py``) is copied as it is, and with it whatever its
author attached: an ``/AA`` that launches a program when the page opens, a link to
``javascript:``, a file attachment. Readers download Mura's PDFs from a library they trust, so
none of that may reach them. What stays is what a reader needs: the page's content, its
appearance, and links to web pages (``http``/``https``), rebuilt without any follow-up action.

:func:`strip_actions` is applied to every kept page and once more to the whole assembled
document (every page and the catalog), so a page that reached the store by another way is
cleaned too.
"""

from __future__ import annotations

import re

import pikepdf
from pikepdf import Array, Dictionary, Name

#: Annotations that exist to carry files, media or scripts: removed whole.
DROPPED_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
)
#: Catalog entries that run something or carry files when the document opens or is used.
CATALOG_KEYS = ("/OpenAction", "/AA", "/AcroForm", "/Collection")
#: Name trees of the catalog's /Names that hold scripts or files.
NAME_TREES = ("/JavaScript", "/EmbeddedFiles", "/AlternatePresentations", "/Renditions")
#: A link Mura keeps: an absolute http(s) address, nothing before the scheme, no control
#: characters or spaces anywhere (readers strip them and may see another scheme).
SAFE_URI = re.compile(rb"https?://[!-~]+", re.IGNORECASE)
#: Form fields nest; deeper chains than this are not followed (a loop must not hang us).
MAX_FIELD_DEPTH = 32
#: Outline items followed at most (bounded work whatever the document holds).
MAX_OUTLINE_ITEMS = 100_000


def strip_actions(pdf: pikepdf.Pdf) -> int:
    """Remove actions, scripts, embedded files and non-web links from every page and the catalog.

    Kept: http(s) link annotations (their action rebuilt as a bare URI action, no /Next),
    internal "go to" bookmarks of the outline, and everything that is drawn.

    Returns:
        How many things were removed (for a warning to staff).
    """
    removed = _strip_catalog(pdf.Root)
    for page in pdf.pages:
        removed += strip_page(page.obj)
    return removed


def strip_page(page: pikepdf.Dictionary) -> int:
    """Remove a page's own actions (/AA) and every annotation's, keeping safe web links.

    Returns:
        How many actions and annotations were removed.
    """
    removed = _delete(page, "/AA")
    annots = page.get("/Annots")
    if annots is None:
        return removed
    if not isinstance(annots, Array):
        del page.Annots
        return removed + 1
    kept = []
    for annot in annots:
        safe = _safe_annotation(annot)
        if safe is None:
            removed += 1
            continue
        removed += safe
        kept.append(annot)
    if len(kept) != len(annots):
        page.Annots = Array(kept)
    return removed


def _safe_annotation(annot: pikepdf.Object) -> int | None:
    """Clean one annotation in place; None when it must go (how many actions removed else)."""
    if not isinstance(annot, Dictionary):
        return None
    subtype = str(annot.get("/Subtype", ""))
    if subtype in DROPPED_ANNOTATIONS:
        return None
    removed = _delete(annot, "/AA")
    action = annot.get("/A")
    if action is not None:
        uri = _safe_uri(action)
        if uri is None:
            removed += _delete(annot, "/A")
        else:
            annot.A = Dictionary(S=Name.URI, URI=pikepdf.String(uri))
    if subtype == "/Link" and "/A" not in annot:
        return None  # a link to somewhere other than the web (or to a page not published)
    parent, depth = annot.get("/Parent"), 0
    while isinstance(parent, Dictionary) and depth < MAX_FIELD_DEPTH:
        removed += _delete(parent, "/AA") + _delete(parent, "/A")
        parent, depth = parent.get("/Parent"), depth + 1
    return removed


def _safe_uri(action: pikepdf.Object) -> bytes | None:
    """The address of a URI action when it is an http(s) link, else None."""
    if not isinstance(action, Dictionary) or action.get("/S") != Name.URI:
        return None
    uri = action.get("/URI")
    if not isinstance(uri, pikepdf.String):
        return None
    raw = bytes(uri)
    return raw if SAFE_URI.fullmatch(raw) else None


def _strip_catalog(root: pikepdf.Dictionary) -> int:
    removed = sum(_delete(root, key) for key in CATALOG_KEYS)
    names = root.get("/Names")
    if isinstance(names, Dictionary):
        removed += sum(_delete(names, key) for key in NAME_TREES)
    outlines = root.get("/Outlines")
    if isinstance(outlines, Dictionary):
        removed += _strip_outline(outlines)
    return removed


def _strip_outline(outlines: pikepdf.Dictionary) -> int:
    """Keep bookmarks that go to a page of this document or to a web address; drop other actions."""
    removed, seen = 0, set()
    todo = [outlines.get("/First")]
    while todo and len(seen) < MAX_OUTLINE_ITEMS:
        item = todo.pop()
        if not isinstance(item, Dictionary) or item.objgen in seen:
            continue
        if item.is_indirect:
            seen.add(item.objgen)
        else:
            seen.add((-len(seen) - 1, 0))
        action = item.get("/A")
        if action is not None:
            internal = isinstance(action, Dictionary) and action.get("/S") == Name.GoTo
            if not internal and _safe_uri(action) is None:
                removed += _delete(item, "/A")
            elif internal:
                removed += _delete(action, "/Next")
        todo += [item.get("/Next"), item.get("/First")]
    return removed


def _delete(dictionary: pikepdf.Dictionary, key: str) -> int:
    if key in dictionary:
        del dictionary[key]
        return 1
    return 0
