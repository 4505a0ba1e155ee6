"""Cross-origin reading (CORS) of Mura's public read-only resources, decided in one place.

IIIF viewers on other sites (Mirador, the Universal Viewer), aggregators and harvesters fetch
the manifest, canvases, page images, search answers, the Dublin Core JSON a manifest links to
(``seeAlso``), the PDF (``rendering``) and OAI-PMH from their own pages. A viewer that adds the
``Accept`` header the IIIF specifications recommend makes the browser send a preflight
(``OPTIONS`` with ``Access-Control-Request-Headers``) first, so the preflight must be granted
too, and so must a 404 (a viewer shows "not found" rather than a network error).

What is granted: ``Access-Control-Allow-Origin: *`` on ``GET``/``HEAD`` answers of the
endpoints in :data:`CROSS_ORIGIN_ENDPOINTS` and on every 404, unless the answer is
``Cache-Control: private`` — what depends on who asks (staff, the reading room's networks) is
marked private by its view and stays unreadable to other sites. ``*`` never carries
credentials: a browser sends no cookie with such a fetch, so another site reads what an
anonymous visitor reads. Preflights of those endpoints get the methods ``GET, HEAD, OPTIONS``
and the request headers asked for (the answer itself still decides, as above).
"""

from __future__ import annotations

from flask import Flask, Response, request

#: Endpoints whose public answers other sites may read.
CROSS_ORIGIN_ENDPOINTS = frozenset(
    {
        "reader.iiif_manifest",
        "reader.iiif_canvas",
        "reader.iiif_search",
        "reader.iiif_search1",
        "reader.iiif_autocomplete",
        "reader.iiif_autocomplete1",
        "reader.page_image",
        "reader.iiif_image_base",
        "reader.iiif_image_info",
        "reader.iiif_image_tile",
        "reader.bibtex",
        "public.document_pdf",
        "catalogue.document_dc",
        "catalogue.record_dc",
        "catalogue.cover",
        "oai.endpoint",
        "alto.page_alto",  # ALTO of a page, for aggregators and viewers
    }
)
READ_METHODS = ("GET", "HEAD", "OPTIONS")
#: How long a browser may keep a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = 86400
#: Longest ``Access-Control-Request-Headers`` echoed back.
MAX_REQUEST_HEADERS = 1000


def _is_private(response: Response) -> bool:
    return "private" in (response.headers.get("Cache-Control") or "")


def add_headers(response: Response) -> Response:
    """The CORS headers of ``response`` to the current request, if it may be read cross-origin."""
    if request.method not in READ_METHODS:
        return response
    known = request.endpoint in CROSS_ORIGIN_ENDPOINTS
    if not (known or response.status_code == 404) or _is_private(response):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = ", ".join(READ_METHODS)
        asked = request.headers.get("Access-Control-Request-Headers", "")
        if asked and len(asked) <= MAX_REQUEST_HEADERS:
            response.headers["Access-Control-Allow-Headers"] = asked
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def init_app(app: Flask) -> None:
    """Add the CORS headers to every answer that may be read cross-origin."""
    app.after_request(add_headers)
