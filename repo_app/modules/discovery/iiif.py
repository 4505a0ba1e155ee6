"""IIIF for open viewers: a Presentation 3.0 manifest per document, Content Search 2.0 inside it.

Mirador, the Universal Viewer and other IIIF clients show a Mura document from its manifest
(``/iiif/<id>/manifest``) and search it through the manifest's ``SearchService2``
(``/iiif/<id>/search?q=``).

- **Canvases** are the pages, sized in pixels of the page at its scanning resolution: the
  coordinate space of the OCR's word boxes, so a search hit's ``#xywh=`` is a word box as is.
- **Images** are static JPEGs (IIIF "level 0" in spirit, without an Image API service): the
  reader's page images, at the page's own width capped at :data:`~mura.app.modules.discovery.reader.
  MAX_WIDTH`; a canvas also has a thumbnail.
- **Search** answers with an ``AnnotationPage``: each matching word is a ``supplementing``
  annotation whose body is the word and whose target is ``canvas#xywh=...``; the
  ``annotations`` list holds one ``highlighting`` annotation per match, pointing at it with a
  ``TextQuoteSelector`` (the words before and after on its line), as Content Search 2.0's
  search-specific responses do. Long answers are paged (``partOf`` an
  ``AnnotationCollection`` with ``total``, ``first``, ``last``; ``next``, ``prev``,
  ``startIndex``). ``q`` and ``motivation`` are implemented; ``date`` and ``user`` are
  reported in ``ignored``.

Callers check visibility first: nothing here does. URLs are made with ``url_for`` and need a
request context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from mura.app.core import links
from mura.app.core.languages import find_language
from mura.app.models import Document, Page
from mura.app.modules.catalogue.metadata import record_title
from mura.app.modules.discovery import reader

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH_CONTEXT = "http://iiif.io/api/search/2/context.json"
#: Matches per page of a search answer.
SEARCH_PAGE_SIZE = 100
#: Search parameters of the specification that Mura does not implement.
IGNORED_PARAMETERS = ("date", "user")
#: ``rights`` must be a Creative Commons or RightsStatements.org URI (Presentation 3, 3.3.1).
RIGHTS_PREFIXES = (
    "http://creativecommons.org/",
    "https://creativecommons.org/",
    "http://rightsstatements.org/",
    "https://rightsstatements.org/",
)
#: Motivations under which the search finds the OCR words.
WORD_MOTIVATIONS = frozenset({"supplementing", "non-painting"})


def language_of(document: Document) -> str:
    """The BCP 47 tag of the document's first language, ``none`` when unknown."""
    languages = document.languages
    language = find_language(languages[0]) if languages else None
    return language.bcp47 if language else "none"


def _external(endpoint: str, **values: Any) -> str:
    return links.external_url(endpoint, **values)  # on PUBLIC_BASE_URL, never a forged Host


def manifest_id(document: Document) -> str:
    """The manifest's URI."""
    return _external("reader.iiif_manifest", document_id=document.id)


def canvas_id(document: Document, seq: int) -> str:
    """The URI of the canvas of page ``seq`` (dereferenceable)."""
    return _external("reader.iiif_canvas", document_id=document.id, seq=seq)


def search_service_id(document: Document) -> str:
    """The URI of the document's Content Search service."""
    return _external("reader.iiif_search", document_id=document.id)


def _image(document: Document, page: Page, width: int) -> dict[str, Any]:
    return {
        "id": _external("reader.page_image", document_id=document.id, seq=page.seq, width=width),
        "type": "Image",
        "format": "image/jpeg",
        "width": width,
        "height": reader.image_height(page, width),
    }


def canvas(document: Document, page: Page) -> dict[str, Any]:
    """The canvas of one page: its size, thumbnail and the painting annotation of its image."""
    cid = canvas_id(document, page.seq)
    width, height = reader.page_size_px(page)
    image = _image(document, page, reader.full_width(page))
    return {
        "id": cid,
        "type": "Canvas",
        "label": {"none": [str(page.seq)]},
        "width": width,
        "height": height,
        "thumbnail": [_image(document, page, reader.THUMB_WIDTH)],
        "items": [
            {
                "id": f"{cid}/page",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{cid}/page/image",
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": image,
                        "target": cid,
                    }
                ],
            }
        ],
        "homepage": [
            {
                "id": _external("reader.read_page", document_id=document.id, seq=page.seq),
                "type": "Text",
                "label": {"none": [str(page.seq)]},
                "format": "text/html",
            }
        ],
    }


def manifest(document: Document, pages: Sequence[Page], labels: dict[str, str]) -> dict[str, Any]:
    """The Presentation 3.0 manifest of a document.

    Args:
        document: The document (visibility already checked).
        pages: Its pages in order.
        labels: Translated labels for the metadata: keys ``authors``, ``year``, ``type``,
            ``languages``, ``collection``, ``pdf``, ``record``, ``provider``, and the
            interface language under ``locale``.
    """
    locale = labels.get("locale", "en")
    lang = language_of(document)

    def entry(label: str, values: list[str]) -> dict[str, Any]:
        return {"label": {locale: [label]}, "value": {"none": values}}

    metadata = []
    if document.authors:
        metadata.append(entry(labels["authors"], list(document.authors)))
    if document.year:
        metadata.append(entry(labels["year"], [str(document.year)]))
    metadata.append(entry(labels["type"], [labels.get("doc_type", document.doc_type)]))
    if document.languages:
        metadata.append(entry(labels["languages"], document.languages))
    if document.collection is not None:
        metadata.append(entry(labels["collection"], [document.collection.title]))
    result: dict[str, Any] = {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_id(document),
        "type": "Manifest",
        "label": {lang: [record_title(document)]},
        "metadata": metadata,
        "requiredStatement": {
            "label": {locale: [labels["provider"]]},
            "value": {"none": [labels.get("provider_name", "Mura")]},
        },
        "viewingDirection": "left-to-right",
        "behavior": ["paged" if document.doc_type == "book" else "individuals"],
        "homepage": [
            {
                "id": _external("public.document", document_id=document.id),
                "type": "Text",
                "label": {locale: [labels["record"]]},
                "format": "text/html",
                "language": [locale],
            }
        ],
        "rendering": [
            {
                "id": _external("public.document_pdf", document_id=document.id),
                "type": "Text",
                "label": {locale: [labels["pdf"]]},
                "format": "application/pdf",
            }
        ],
        "seeAlso": [
            {
                "id": _external("catalogue.document_dc", document_id=document.id),
                "type": "Dataset",
                "format": "application/json",
                "label": {"none": ["Dublin Core"]},
            }
        ],
        "service": [{"id": search_service_id(document), "type": "SearchService2"}],
        "items": [canvas(document, page) for page in pages],
    }
    if document.rights_uri.startswith(RIGHTS_PREFIXES):
        result["rights"] = document.rights_uri
    if pages:
        result["thumbnail"] = [_image(document, pages[0], reader.THUMB_WIDTH)]
    return result


def search_response(
    document: Document,
    pages: Sequence[Page],
    args: dict[str, str],
) -> dict[str, Any]:
    """The Content Search 2.0 answer for ``args`` (the request's query parameters).

    Args:
        document: The document searched (visibility already checked).
        pages: Its pages in order.
        args: ``q``, and optionally ``motivation`` and ``page`` (1-based page of the answer);
            other parameters of the specification are reported as ignored.
    """
    query = (args.get("q") or "").strip()[:500]
    motivations = set((args.get("motivation") or "").split())
    service = search_service_id(document)
    matches: list[tuple[Page, reader.Highlight]] = []
    if query and (not motivations or motivations & WORD_MOTIVATIONS):
        by_seq = {page.seq: page for page in pages}
        for seq in reader.hit_pages(document, pages, query):
            page = by_seq.get(seq)
            if page is not None:
                matches += [(page, h) for h in reader.page_highlights(page, document, query)]
    base_args = {k: v for k, v in (("q", query), ("motivation", args.get("motivation"))) if v}
    total = len(matches)
    last = max(1, -(-total // SEARCH_PAGE_SIZE))
    number = min(max(1, _int(args.get("page"), 1)), last)
    paged = total > SEARCH_PAGE_SIZE

    def url(page_number: int | None = None) -> str:
        params = dict(base_args)
        if page_number is not None:
            params["page"] = str(page_number)
        return f"{service}?{urlencode(params)}" if params else service

    start = (number - 1) * SEARCH_PAGE_SIZE
    shown = matches[start : start + SEARCH_PAGE_SIZE]
    page_id = url(number if paged else None)
    items = []
    highlights = []
    lang = language_of(document)
    for index, (page, hit) in enumerate(shown, start=start):
        anno_id = f"{service}/match/{page.seq}-{index}"
        x, y, w, h = hit.xywh
        items.append(
            {
                "id": anno_id,
                "type": "Annotation",
                "motivation": "supplementing",
                "body": {
                    "type": "TextualBody",
                    "value": hit.exact,
                    "format": "text/plain",
                    "language": lang,
                },
                "target": f"{canvas_id(document, page.seq)}#xywh={x},{y},{w},{h}",
            }
        )
        highlights.append(
            {
                "id": f"{anno_id}/highlight",
                "type": "Annotation",
                "motivation": "highlighting",
                "target": {
                    "type": "SpecificResource",
                    "source": anno_id,
                    "selector": [
                        {
                            "type": "TextQuoteSelector",
                            "prefix": hit.prefix,
                            "exact": hit.exact,
                            "suffix": hit.suffix,
                        }
                    ],
                },
            }
        )
    response: dict[str, Any] = {
        "@context": SEARCH_CONTEXT,
        "id": page_id,
        "type": "AnnotationPage",
        "items": items,
        "annotations": [
            {"id": f"{page_id}#highlights", "type": "AnnotationPage", "items": highlights}
        ],
    }
    if paged:
        response["partOf"] = {
            "id": url(),
            "type": "AnnotationCollection",
            "total": total,
            "first": url(1),
            "last": url(last),
        }
        response["startIndex"] = start
        if number < last:
            response["next"] = url(number + 1)
        if number > 1:
            response["prev"] = url(number - 1)
    ignored = [name for name in IGNORED_PARAMETERS if args.get(name)]
    if ignored:
        response["ignored"] = ignored
    return response


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
