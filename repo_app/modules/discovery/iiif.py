"""IIIF for open viewers: a Presentation 3.0 manifest per document, Content Search 2.0 and 1.0.

Mirador, the Universal Viewer and other IIIF clients show a Mura document from its manifest
(``/iiif/<id>/manifest``) and search it through the manifest's services: ``SearchService2``
(``/iiif/<id>/search?q=``, with ``AutoCompleteService2`` at ``/iiif/<id>/autocomplete``) and,
for the viewers that know only the older version (Mirador 3 and 4, the Universal Viewer 4 find
a service by the profile ``http://iiif.io/api/search/1/search``), ``SearchService1``
(``/iiif/<id>/search1?q=``, autocomplete ``/iiif/<id>/autocomplete1``).

- **Canvases** are the pages, sized in pixels of the page at its scanning resolution: the
  coordinate space of the OCR's word boxes, so a search hit's ``#xywh=`` is a word box as is.
- **Images** are the reader's page JPEGs, at the page's own width capped at
  :data:`~mura.app.modules.discovery.reader.MAX_WIDTH`, each with an Image API 3.0 level 0 service
  (:mod:`.iiif_image`: 512-pixel tiles at every scale) through which viewers
  zoom into the page at full resolution; a canvas also has a thumbnail.
- **Labels** are language maps holding every interface language (kk, ru, en): the manifest
  is the same whoever asks, so a shared cache may keep one copy.
- **Search 2.0** answers with an ``AnnotationPage``: each matching word is a ``supplementing``
  annotation whose body is the word and whose target is ``canvas#xywh=...``; the
  ``annotations`` list holds one ``highlighting`` annotation per match, pointing at it with a
  ``TextQuoteSelector`` (the words before and after on its line), as Content Search 2.0's
  search-specific responses do. **Search 1.0** answers with an ``sc:AnnotationList`` of the
  same words (``resources``) and ``hits`` (``match``, ``before``, ``after``).
- **Paging bounds the work**: the index tells which pages match; one answer reads the words
  of :data:`PAGES_PER_ANSWER` of them, and ``next``/``prev`` (``partOf``/``within`` with
  ``first`` and ``last``) lead to the others. A query has at most :data:`MAX_QUERY_WORDS`
  words. ``q`` and ``motivation`` are implemented; ``date`` and ``user`` are reported in
  ``ignored``.

Callers check visibility first: nothing here does. URLs are made with ``url_for`` and need a
request context.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mura.app.core import files, links
from mura.app.core.languages import find_language
from mura.app.models import ARTICLE_TYPES, Document, Page
from mura.app.modules.catalogue.metadata import record_title
from mura.app.modules.discovery import iiif_image, reader

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH_CONTEXT = "http://iiif.io/api/search/2/context.json"
SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
PRESENTATION2_CONTEXT = "http://iiif.io/api/presentation/2/context.json"
SEARCH1_PROFILE = "http://iiif.io/api/search/1/search"
AUTOCOMPLETE1_PROFILE = "http://iiif.io/api/search/1/autocomplete"
#: Matching document pages whose words one search answer reads (hOCR parsed, words matched):
#: what bounds a request's work (about 15 ms a page of 300 words on the 2-core machine).
PAGES_PER_ANSWER = 10
#: Words of a query, at most (each may be expanded into near misses looked up in the index).
MAX_QUERY_WORDS = 8
#: Characters of a query or prefix read.
MAX_QUERY_LENGTH = 500
#: Letters an autocomplete prefix needs before words are proposed.
MIN_COMPLETION_PREFIX = 2
#: Words proposed by autocomplete.
MAX_COMPLETIONS = 10
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
    """The URI of the document's Content Search 2.0 service."""
    return _external("reader.iiif_search", document_id=document.id)


def search1_service_id(document: Document) -> str:
    """The URI of the document's Content Search 1.0 service."""
    return _external("reader.iiif_search1", document_id=document.id)


def services(document: Document) -> list[dict[str, Any]]:
    """The manifest's search services: 2.0, and 1.0 for the viewers that know only it.

    Services of other IIIF APIs keep their own JSON-LD keys inside a Presentation 3.0
    manifest (``@id``, ``@type``, ``profile``; Presentation 3.0, section 3.6): that is what
    Mirador and the Universal Viewer look for.
    """
    return [
        {
            "id": search_service_id(document),
            "type": "SearchService2",
            "service": [
                {
                    "id": _external("reader.iiif_autocomplete", document_id=document.id),
                    "type": "AutoCompleteService2",
                }
            ],
        },
        {
            "@context": SEARCH1_CONTEXT,
            "@id": search1_service_id(document),
            "@type": "SearchService1",
            "profile": SEARCH1_PROFILE,
            "service": [
                {
                    "@id": _external("reader.iiif_autocomplete1", document_id=document.id),
                    "@type": "AutoCompleteService1",
                    "profile": AUTOCOMPLETE1_PROFILE,
                }
            ],
        },
    ]


def _image(document: Document, page: Page, width: int) -> dict[str, Any]:
    return {
        "id": _external("reader.page_image", document_id=document.id, seq=page.seq, width=width),
        "type": "Image",
        "format": "image/jpeg",
        "width": width,
        "height": reader.image_height(page, width),
    }


def host_image(document: Document, page: Page) -> dict[str, Any] | None:
    """A clipped article's page as its region of the issue's page image (Image API URL).

    The body is the issue's image service asked for the clipping's region at ``max`` size,
    with no ``service``: Mirador 4 paints a body as it is and ignores a selector on it, and
    given the service it would tile the whole issue page into the article's canvas. Only
    where the issue's image is the stored image's pixels (a page the OCR did not turn): the
    regions are in those. None for other documents and pages (their own image then).
    """
    from mura.app.modules.digitization import articles

    if document.doc_type not in ARTICLE_TYPES:
        return None
    region = articles.region_of_page(page)
    if region is None:
        return None
    source = region.source_page
    if source.rotation or not iiif_image.has_service(source):
        return None
    try:
        stored = articles.image_size(files.local_path(source.source_file), source.frame)
    except (articles.ClippingError, OSError):
        return None
    served = reader.page_size_px(source)
    if abs(stored[0] - served[0]) > 1 or abs(stored[1] - served[1]) > 1:
        return None
    box = articles.clip_box(region)
    width, height = iiif_image.region_size(box)
    url = _external(
        "reader.iiif_image_tile", document_id=region.source_document_id, seq=source.seq,
        region=",".join(str(v) for v in box), size="max", rotation="0", quality="default.jpg",
    )  # fmt: skip
    return {"id": url, "type": "Image", "format": "image/jpeg", "width": width, "height": height}


def canvas(document: Document, page: Page) -> dict[str, Any]:
    """The canvas of one page: its size, thumbnail and the painting annotation of its image.

    A clipped article's page is painted with its region of the issue's page (``host_image``).
    """
    cid = canvas_id(document, page.seq)
    width, height = reader.page_size_px(page)
    image = _image(document, page, reader.full_width(page))
    if (host := host_image(document, page)) is not None:
        image = host
    elif iiif_image.has_service(page):
        # Deep zoom: viewers that know the Image API take tiles from it instead of the JPEG.
        image["service"] = [
            {
                "id": _external("reader.iiif_image_base", document_id=document.id, seq=page.seq),
                "type": "ImageService3",
                "profile": "level0",
            }
        ]
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


def manifest(
    document: Document, pages: Sequence[Page], labels: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The Presentation 3.0 manifest of a document, the same for every reader.

    Args:
        document: The document (visibility already checked).
        pages: Its pages in order.
        labels: For each interface language (a BCP 47 tag), the translated labels of the
            metadata: keys ``authors``, ``year``, ``type``, ``doc_type``, ``languages``,
            ``collection``, ``pdf``, ``record``, ``provider``, ``provider_name``. Every language
            goes into each language map (Presentation 3.0, section 4.4: the viewer picks),
            so the manifest does not depend on the request's ``Accept-Language``.
    """
    lang = language_of(document)

    def label(key: str) -> dict[str, list[str]]:
        return {locale: [texts[key]] for locale, texts in labels.items()}

    def entry(key: str, values: list[str]) -> dict[str, Any]:
        return {"label": label(key), "value": {"none": values}}

    metadata = []
    if document.authors:
        metadata.append(entry("authors", list(document.authors)))
    if document.year:
        metadata.append(entry("year", [str(document.year)]))
    metadata.append({"label": label("type"), "value": label("doc_type")})
    if document.languages:
        metadata.append(entry("languages", document.languages))
    if document.collections:
        metadata.append(entry("collection", [c.title for c in document.collections]))
    names = {texts["provider_name"] for texts in labels.values()}
    provider_name = names.pop() if len(names) == 1 else None
    result: dict[str, Any] = {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_id(document),
        "type": "Manifest",
        "label": {lang: [record_title(document)]},
        "metadata": metadata,
        "requiredStatement": {
            "label": label("provider"),
            "value": {"none": [provider_name]} if provider_name else label("provider_name"),
        },
        "viewingDirection": "left-to-right",
        "behavior": ["paged" if document.doc_type == "book" else "individuals"],
        "homepage": [
            {
                "id": _external("public.document", document_id=document.id),
                "type": "Text",
                "label": label("record"),
                "format": "text/html",
                "language": list(labels),
            }
        ],
        "rendering": [
            {
                "id": _external("public.document_pdf", document_id=document.id),
                "type": "Text",
                "label": label("pdf"),
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
        "service": services(document),
        "items": [canvas(document, page) for page in pages],
    }
    if document.rights_uri.startswith(RIGHTS_PREFIXES):
        result["rights"] = document.rights_uri
    if pages:
        result["thumbnail"] = [_image(document, pages[0], reader.THUMB_WIDTH)]
    return result


# --- Content Search 2.0 and 1.0 -------------------------------------------------------------------


class TooManyWords(ValueError):
    """The query has more words than :data:`MAX_QUERY_WORDS` (the view answers 400)."""


def query_of(args: Mapping[str, str]) -> str:
    """The request's ``q``, trimmed; :class:`TooManyWords` past :data:`MAX_QUERY_WORDS`.

    Each word may be expanded into near misses (OCR errors) looked up in the index, so the
    number of words bounds a request's work; a viewer's search box gets a clear refusal rather
    than a silently shortened query.
    """
    query = (args.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    if len(query.split()) > MAX_QUERY_WORDS:
        raise TooManyWords(query)
    return query


class _Matcher:
    """The query's index terms, computed once per request for all the pages it reads.

    As :func:`reader.page_highlights`: the exact terms first, and on a page where none matches,
    the near misses (OCR errors) that the index holds, looked up once, when first needed.
    """

    def __init__(self, document: Document, query: str) -> None:
        self.query = query
        self.languages = document.languages
        self.exact = reader.query_terms(query)
        self._near: frozenset[str] | None = None

    def near(self) -> frozenset[str]:
        if self._near is None:
            from mura.app.modules.discovery import search as search_service

            doc_frequency = getattr(search_service.get_engine(), "doc_frequency", None)
            self._near = (
                reader.query_terms(self.query, doc_frequency) if doc_frequency else frozenset()
            )
        return self._near

    def highlights(self, page: Page) -> list[reader.Highlight]:
        words = reader.page_words(page)
        if words is None:
            return []
        found = reader.find_highlights(words, self.exact, self.languages)
        if found or not self.exact:
            return found
        near = self.near()
        return reader.find_highlights(words, near, self.languages) if near != self.exact else []


@dataclass(frozen=True)
class Answer:
    """One page of a search answer: the matches on a slice of the document's matching pages.

    Attributes:
        query: The query (trimmed).
        motivation: The ``motivation`` parameter as sent ("" when absent).
        number: This answer page's number, 1-based.
        last: The number of the last answer page.
        matches: The matching words of this answer page, in reading order.
    """

    query: str
    motivation: str
    number: int
    last: int
    matches: list[tuple[Page, reader.Highlight]]

    @property
    def paged(self) -> bool:
        """Whether the answer has more than one page."""
        return self.last > 1


def find(document: Document, pages: Sequence[Page], args: Mapping[str, str]) -> Answer:
    """The matches of ``args["q"]`` on answer page ``args["page"]``.

    The index says which pages match (one query); only the :data:`PAGES_PER_ANSWER` of them on
    the answer page asked for are read (hOCR parsed, words matched), so a request's work does
    not grow with the document: a word on every page of a 600-page book costs what it costs
    on a 10-page one, and the rest is reached through ``next``.

    Raises:
        TooManyWords: See :func:`query_of`.
    """
    query = query_of(args)
    motivation = (args.get("motivation") or "").strip()[:200]
    motivations = set(motivation.split())
    seqs: list[int] = []
    if query and (not motivations or motivations & WORD_MOTIVATIONS):
        seqs = reader.hit_pages(document, pages, query)
    last = max(1, -(-len(seqs) // PAGES_PER_ANSWER))
    number = min(max(1, _int(args.get("page"), 1)), last)
    by_seq = {page.seq: page for page in pages}
    matcher = _Matcher(document, query)
    matches: list[tuple[Page, reader.Highlight]] = []
    for seq in seqs[(number - 1) * PAGES_PER_ANSWER : number * PAGES_PER_ANSWER]:
        page = by_seq.get(seq)
        if page is not None:
            matches += [(page, hit) for hit in matcher.highlights(page)]
    return Answer(query, motivation, number, last, matches)


def _search_url(service: str, answer: Answer, number: int | None = None) -> str:
    params = {k: v for k, v in (("q", answer.query), ("motivation", answer.motivation)) if v}
    if number is not None:
        params["page"] = str(number)
    return f"{service}?{urlencode(params)}" if params else service


def search_response(
    document: Document,
    pages: Sequence[Page],
    args: Mapping[str, str],
) -> dict[str, Any]:
    """The Content Search 2.0 answer for ``args`` (the request's query parameters).

    Args:
        document: The document searched (visibility already checked).
        pages: Its pages in order.
        args: ``q``, and optionally ``motivation`` and ``page`` (1-based page of the answer);
            other parameters of the specification are reported as ignored.

    Raises:
        TooManyWords: See :func:`query_of`.
    """
    answer = find(document, pages, args)
    service = search_service_id(document)
    page_id = _search_url(service, answer, answer.number if answer.paged else None)
    items = []
    highlights = []
    lang = language_of(document)
    for index, (page, hit) in enumerate(answer.matches):
        anno_id = f"{service}/match/{page.seq}-{answer.number}-{index}"
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
    if answer.paged:
        # No ``total`` nor ``startIndex``: counting the matches of every page is the work
        # that paging avoids.
        first, last, near = _paging(service, answer)
        response["partOf"] = {
            "id": _search_url(service, answer),
            "type": "AnnotationCollection",
            "first": first,
            "last": last,
        }
        response.update(near)
    return _with_ignored(response, args)


def search1_response(
    document: Document,
    pages: Sequence[Page],
    args: Mapping[str, str],
) -> dict[str, Any]:
    """The Content Search 1.0 answer (what Mirador and the Universal Viewer read).

    The same matches and paging as :func:`search_response`, in 1.0's shape: an
    ``sc:AnnotationList`` whose ``resources`` are the matching words (``cnt:ContentAsText`` on
    ``canvas#xywh=``) and whose ``hits`` point at them with the words before and after.

    Raises:
        TooManyWords: See :func:`query_of`.
    """
    answer = find(document, pages, args)
    service = search1_service_id(document)
    page_id = _search_url(service, answer, answer.number if answer.paged else None)
    resources = []
    hits = []
    for index, (page, hit) in enumerate(answer.matches):
        anno_id = f"{service}/match/{page.seq}-{answer.number}-{index}"
        x, y, w, h = hit.xywh
        resources.append(
            {
                "@id": anno_id,
                "@type": "oa:Annotation",
                "motivation": "sc:painting",
                "resource": {"@type": "cnt:ContentAsText", "chars": hit.exact},
                "on": f"{canvas_id(document, page.seq)}#xywh={x},{y},{w},{h}",
            }
        )
        hits.append(
            {
                "@type": "search:Hit",
                "annotations": [anno_id],
                "match": hit.exact,
                "before": hit.prefix,
                "after": hit.suffix,
            }
        )
    response: dict[str, Any] = {
        "@context": [PRESENTATION2_CONTEXT, SEARCH1_CONTEXT],
        "@id": page_id,
        "@type": "sc:AnnotationList",
        "resources": resources,
        "hits": hits,
    }
    if answer.paged:
        first, last, near = _paging(service, answer)
        response["within"] = {
            "@id": _search_url(service, answer),
            "@type": "sc:Layer",
            "first": first,
            "last": last,
        }
        response.update(near)
    return _with_ignored(response, args)


def _paging(service: str, answer: Any) -> tuple[str, str, dict[str, str]]:
    """First and last answer pages, and ``next``/``prev`` where they exist (both versions)."""
    near = {}
    if answer.number < answer.last:
        near["next"] = _search_url(service, answer, answer.number + 1)
    if answer.number > 1:
        near["prev"] = _search_url(service, answer, answer.number - 1)
    return _search_url(service, answer, 1), _search_url(service, answer, answer.last), near


def _with_ignored(response: dict[str, Any], args: Mapping[str, str]) -> dict[str, Any]:
    """Say which of the request's parameters this service does not implement."""
    ignored = [name for name in IGNORED_PARAMETERS if args.get(name)]
    if ignored:
        response["ignored"] = ignored
    return response


# --- autocomplete ---------------------------------------------------------------------------------


def completions(document: Document, pages: Sequence[Page], prefix: str) -> list[tuple[str, int]]:
    """Words of the document's text that start with ``prefix``, most frequent first.

    One regular-expression scan of the page texts for words starting with the prefix (case
    ignored): no vocabulary is built, so the cost is one pass over the text, bounded by the
    document's size. Prefixes shorter than :data:`MIN_COMPLETION_PREFIX` letters get nothing.

    Returns:
        Up to :data:`MAX_COMPLETIONS` (word, occurrences), the word in lower case.
    """
    from mura.app.modules.discovery import search as search_service

    prefix = prefix.strip().casefold()[:MAX_QUERY_LENGTH]
    if len(prefix) < MIN_COMPLETION_PREFIX or not prefix.replace("-", "").isalnum():
        return []
    pattern = re.compile(rf"(?<!\w){re.escape(prefix)}\w*", re.IGNORECASE)
    counts: Counter[str] = Counter()
    done = [page.id for page in pages if page.state == "done"]
    for text in search_service.load_texts(done).values():
        counts.update(match.casefold() for match in pattern.findall(text))
    return counts.most_common(MAX_COMPLETIONS)


def autocomplete_response(
    document: Document, pages: Sequence[Page], args: Mapping[str, str]
) -> dict[str, Any]:
    """Content Search 2.0 autocomplete: a ``TermPage`` of the words starting with ``q``."""
    prefix = (args.get("q") or "").strip()
    service = _external("reader.iiif_autocomplete", document_id=document.id)
    items = [
        {
            "value": word,
            "total": count,
            "service": [
                {"id": _with_q(search_service_id(document), word), "type": "SearchService2"}
            ],
        }
        for word, count in completions(document, pages, prefix)
    ]
    response: dict[str, Any] = {
        "@context": SEARCH_CONTEXT,
        "id": _with_q(service, prefix),
        "type": "TermPage",
        "items": items,
    }
    ignored = [name for name in (*IGNORED_PARAMETERS, "motivation", "min") if args.get(name)]
    if ignored:
        response["ignored"] = ignored
    return response


def autocomplete1_response(
    document: Document, pages: Sequence[Page], args: Mapping[str, str]
) -> dict[str, Any]:
    """Content Search 1.0 autocomplete: a ``search:TermList`` (``terms``: match, url, count)."""
    prefix = (args.get("q") or "").strip()
    service = _external("reader.iiif_autocomplete1", document_id=document.id)
    response: dict[str, Any] = {
        "@context": SEARCH1_CONTEXT,
        "@id": _with_q(service, prefix),
        "@type": "search:TermList",
        "terms": [
            {"match": word, "url": _with_q(search1_service_id(document), word), "count": count}
            for word, count in completions(document, pages, prefix)
        ],
    }
    ignored = [name for name in (*IGNORED_PARAMETERS, "motivation", "min") if args.get(name)]
    if ignored:
        response["ignored"] = ignored
    return response


def _with_q(url: str, query: str) -> str:
    return f"{url}?{urlencode({'q': query})}" if query else url


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None and len(value) < 10 else default
    except ValueError:
        return default
