"""The online reader, page images, citations, and IIIF (manifest, Content Search 2.0 and 1.0).

Who may read is decided by :func:`mura.app.modules.rights.visibility.may_read` (the public:
documents
online; the reading room's networks: also reading-room documents; staff: everything with a PDF),
the same rule as the document's PDF. What depends on who asks is never kept by shared caches;
IIIF answers of public documents may be read by viewers on other sites (CORS, granted for
every public read-only resource in one place: :mod:`mura.app.web.cors`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from mura.app.core import links
from mura.app.core.languages import html_lang
from mura.app.extensions import db, limiter
from mura.app.models import Document, Page
from mura.app.modules.catalogue import citation
from mura.app.modules.digitization.lifecycle import missing_status
from mura.app.modules.discovery import iiif, iiif_image, reader, thumbnails
from mura.app.modules.rights import visibility
from mura.app.web import limits
from mura.app.web.converters import db_int

bp = Blueprint("reader", __name__)

#: Zoom steps of the reader: the image width rendered and the width of the frame (percent).
ZOOM_STEPS = tuple(zip(reader.ZOOM_WIDTHS, (100, 150, 200, 260), strict=True))


def _document(document_id: int) -> tuple[Document, bool]:
    """The document if this reader may read it (else 404), and whether the reader is staff."""
    staff = bool(current_user.is_authenticated)
    if staff:
        document = db.session.get(Document, document_id)
    else:
        document = visibility.get_listed_document(document_id)
    if document is None:
        abort(missing_status(document_id))  # 410 Gone for a deleted document
    if not visibility.may_read(document, staff=staff, client_ip=request.remote_addr):
        abort(404)
    return document, staff


def _pages(document: Document) -> list[Page]:
    return reader.reader_pages(document.id)


def _query() -> str:
    return (request.args.get("q") or "").strip()[:500]


def _shared_cache(response: Response, document: Document, *, max_age: int = 0) -> Response:
    """Public answers may be cached (``max_age``) and read cross-origin; others stay private.

    ``private`` is also what keeps :mod:`mura.app.web.cors` from letting other sites
    read an answer.
    """
    if visibility.is_public(document) and not current_user.is_authenticated:
        if max_age:
            response.headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


# --- browsing -------------------------------------------------------------------------------------

#: Documents per page of "recently added".
RECENT_PER_PAGE = 24
#: The furthest page of "recently added" (a larger ``?page=`` overflowed SQLite's integers: 500).
RECENT_MAX_PAGE = 10_000


@bp.route("/recent")
def recent() -> str:
    """Recently added documents (descriptions the public may see), newest first, in pages."""
    page = min(max(1, request.args.get("page", 1, type=db_int) or 1), RECENT_MAX_PAGE)
    query = select(Document).where(visibility.listed_condition())
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    documents = db.session.scalars(
        query.order_by(Document.id.desc())
        .offset((page - 1) * RECENT_PER_PAGE)
        .limit(RECENT_PER_PAGE)
    ).all()
    return render_template(
        "public/recent.html",
        documents=documents,
        readable={d.id for d in documents if visibility.is_public(d)},
        thumbs=thumbnails.for_documents(documents),
        page=page,
        pages=max(1, -(-total // RECENT_PER_PAGE)),
        total=total,
    )


# --- the reader -----------------------------------------------------------------------------------


@bp.route("/read/<int:document_id>")
@limits.reader_search
def read(document_id: int) -> ResponseReturnValue:
    """Open a document: at page ``p``, else at the first page matching ``q``, else at page 1."""
    staff = bool(current_user.is_authenticated)
    document = db.session.get(Document, document_id) if staff else None
    document = document or visibility.get_listed_document(document_id)
    document = document or abort(missing_status(document_id))
    if not visibility.may_read(document, staff=staff, client_ip=request.remote_addr):
        return redirect(url_for("public.document", document_id=document.id))
    query = _query()
    seq = request.args.get("p", type=db_int)
    if seq is None and query:
        hits = reader.hit_pages(document, _pages(document), query)
        seq = hits[0] if hits else None
    zoom = request.args.get("zoom", type=db_int)
    spread = request.args.get("spread") == "1"
    return redirect(_page_url(document.id, seq or 1, query, zoom, spread))


def _page_url(
    document_id: int, seq: int, query: str = "", zoom: int | None = None, spread: bool = False
) -> str:
    args = {"q": query or None, "zoom": zoom or None, "spread": 1 if spread else None}
    return url_for("reader.read_page", document_id=document_id, seq=seq, **args)


def spread_seqs(seq: int, total: int) -> list[int]:
    """The pages shown together with page ``seq`` as a book lies open (1, then 2–3, 4–5...).

    The cover (page 1) is a right-hand page on its own; after it even pages are on the left.
    A document of two pages (a leaflet, a newspaper's sheet) shows both.
    """
    if total == 2:
        return [1, 2]
    if seq <= 1 or total <= 1:
        return [min(max(seq, 1), max(total, 1))]
    left = seq - seq % 2
    return [n for n in (left, left + 1) if n <= total]


@bp.route("/read/<int:document_id>/<int:seq>")
@limits.reader_search
def read_page(document_id: int, seq: int) -> ResponseReturnValue:
    """One page: the scan with the matches drawn on it, the hits, thumbnails, text, citation."""
    staff = bool(current_user.is_authenticated)
    document = db.session.get(Document, document_id) if staff else None
    document = document or visibility.get_listed_document(document_id)
    document = document or abort(missing_status(document_id))
    if not visibility.may_read(document, staff=staff, client_ip=request.remote_addr):
        return redirect(url_for("public.document", document_id=document.id))
    pages = _pages(document)
    by_seq = {page.seq: page for page in pages}
    page = by_seq.get(seq) or abort(404)
    query = _query()
    width, height = reader.page_size_px(page)
    # Two pages side by side, as the book lies open (not at "1:1": a page's tiles fill a screen).
    spread = request.args.get("spread") == "1" and len(pages) > 1
    # Past the widest image: the page at full resolution in IIIF tiles, loaded as scrolled to.
    tiled = iiif_image.has_service(page) and width > reader.MAX_WIDTH and not spread
    max_zoom = len(ZOOM_STEPS) - (0 if tiled else 1)
    zoom = min(max(request.args.get("zoom", 0, type=db_int) or 0, 0), max_zoom)
    tiles = _tile_rows(document, page) if zoom == len(ZOOM_STEPS) else None
    hits = reader.hit_pages(document, pages, query) if query else []
    terms = reader.request_query(query).exact if query else frozenset()
    shown = [by_seq[n] for n in spread_seqs(seq, len(pages)) if n in by_seq] if spread else [page]
    sheets = [_sheet(document, shown_page, query, zoom) for shown_page in shown]
    highlights = next(sheet["highlights"] for sheet in sheets if sheet["page"] is page)
    image_width, image_height = sheets[0]["image_width"], sheets[0]["image_height"]
    document_url = links.external_url("public.document", document_id=document.id)
    today = date.today()
    response = make_response(
        render_template(
            "public/reader.html",
            document=document,
            pages=pages,
            page=page,
            query=query,
            zoom=zoom,
            zoom_steps=ZOOM_STEPS,
            max_zoom=max_zoom,
            zoom_label=f"{ZOOM_STEPS[zoom][1]}%" if tiles is None else "1:1",
            tiles=tiles,
            frame_percent=ZOOM_STEPS[min(zoom, len(ZOOM_STEPS) - 1)][1],
            hits=hits,
            previous_hit=max((n for n in hits if n < seq), default=None),
            next_hit=min((n for n in hits if n > seq), default=None),
            highlights=highlights,
            page_width=width,
            page_height=height,
            image_width=image_width,
            image_height=image_height,
            sheets=sheets,
            spread=spread,
            previous_seq=(shown[0].seq - 1) if shown[0].seq > 1 else None,
            next_seq=(shown[-1].seq + 1) if shown[-1].seq < len(pages) else None,
            thumb_width=reader.THUMB_WIDTH,
            text=reader.mark_text(page.best_text, terms, document.languages),
            permalink=links.external_url("reader.read_page", document_id=document.id, seq=page.seq),
            gost=citation.gost(document, document_url, today, site=_site_name()),
            bibtex=citation.bibtex(document, document_url, today),
            can_download=staff or (visibility.is_public(document) and document.access_download),
            text_lang=html_lang(document.languages),
        )
    )
    return _shared_cache(response, document)


def _sheet(document: Document, page: Page, query: str, zoom: int) -> dict:
    """What the reader draws of one page shown: its image's size and the matches on it."""
    width, height = reader.page_size_px(page)
    image_width = min(ZOOM_STEPS[min(zoom, len(ZOOM_STEPS) - 1)][0], reader.full_width(page))
    if image_width not in reader.allowed_widths(page):
        image_width = reader.full_width(page)
    return {
        "page": page,
        "page_width": width,
        "page_height": height,
        "image_width": image_width,
        "image_height": reader.image_height(page, image_width),
        "highlights": reader.page_highlights(page, document, query) if query else [],
    }


def _tile_rows(document: Document, page: Page) -> list[list[tuple[str, int, int]]]:
    """The page at full resolution as rows of IIIF tiles: (URL, width, height) of each.

    The reader lays them out as ``<img loading="lazy">`` in rows, so the browser fetches only
    the tiles near what is on screen in the scrolled frame: a 600 dpi newspaper page is read at
    full resolution without loading it whole, and without script.
    """
    width, height = reader.page_size_px(page)
    size = iiif_image.TILE
    rows = []
    for y in range(0, height, size):
        row = []
        for x in range(0, width, size):
            w, h = min(size, width - x), min(size, height - y)
            url = url_for(
                "reader.iiif_image_tile",
                document_id=document.id,
                seq=page.seq,
                region=f"{x},{y},{w},{h}",
                size=f"{w},{h}",
                rotation="0",
                quality="default.jpg",
            )
            row.append((url, w, h))
        rows.append(row)
    return rows


@bp.route("/read/<int:document_id>/<int:seq>/image/<int:width>.jpg")
@limits.image
def page_image(document_id: int, seq: int, width: int) -> ResponseReturnValue:
    """The page's scan as a JPEG ``width`` pixels wide (fixed steps; 404 for others)."""
    document, _staff = _document(document_id)
    page = reader.finished_page(document.id, seq) or abort(404)
    try:
        path = reader.page_image(page, document, width)
    except ValueError:
        abort(404)
    except reader.RenderError as exc:
        current_app.logger.error("page %s: image %d px: %s", page.id, width, exc)
        abort(503)
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    return _shared_cache(response, document, max_age=86400)


@bp.route("/documents/<int:document_id>/cite.bib")
def bibtex(document_id: int) -> ResponseReturnValue:
    """The document's BibTeX entry, as a file."""
    document, _staff = _document(document_id)
    url = links.external_url("public.document", document_id=document.id)
    response = make_response(citation.bibtex(document, url, date.today()))
    response.mimetype = "application/x-bibtex"
    response.headers["Content-Disposition"] = f'attachment; filename="mura-{document.id}.bib"'
    return _shared_cache(response, document)


# --- IIIF -----------------------------------------------------------------------------------------


def _iiif_json(payload: dict, document: Document, *, ld: str) -> Response:
    response = jsonify(payload)
    response.mimetype = "application/ld+json"
    response.headers["Content-Type"] = f'application/ld+json;profile="{ld}"'
    return _shared_cache(response, document, max_age=300)


def _site_name(locale: str | None = None) -> str:
    """The library's name (admin screen "Library") in ``locale``, else the OAI name, else Mura."""
    from mura.app.modules.administration import library

    info = library.current()
    if info.has_name:
        return info.name(locale or str(get_locale()))
    return current_app.config.get("OAI_REPOSITORY_NAME") or "Mura"


def _labels(document: Document) -> dict[str, dict[str, str]]:
    """The manifest's labels in every interface language, by BCP 47 tag (kk, ru, en)."""
    from mura.app.modules.digitization.views.forms import DOC_TYPE_LABELS

    labels = {}
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            labels[locale] = {
                "authors": _("Authors"),
                "year": _("Year"),
                "type": _("Type"),
                "doc_type": str(dict(DOC_TYPE_LABELS).get(document.doc_type, document.doc_type)),
                "languages": _("Languages"),
                "collection": _("Collection"),
                "pdf": _("PDF with a text layer"),
                "record": _("The document's page"),
                "provider": _("Provided by"),
                "provider_name": _site_name(locale),
            }
    return labels


@bp.route("/iiif/<int:document_id>/manifest")
def iiif_manifest(document_id: int) -> ResponseReturnValue:
    """The IIIF Presentation 3.0 manifest of the document."""
    document, _staff = _document(document_id)
    payload = iiif.manifest(document, _pages(document), _labels(document))
    return _iiif_json(payload, document, ld=iiif.PRESENTATION_CONTEXT)


@bp.route("/iiif/<int:document_id>/canvas/<int:seq>")
def iiif_canvas(document_id: int, seq: int) -> ResponseReturnValue:
    """One canvas of the manifest, on its own (canvas ids are dereferenceable)."""
    document, _staff = _document(document_id)
    page = reader.finished_page(document.id, seq) or abort(404)
    payload = {"@context": iiif.PRESENTATION_CONTEXT, **iiif.canvas(document, page)}
    return _iiif_json(payload, document, ld=iiif.PRESENTATION_CONTEXT)


def _search_answer(document_id: int, answer: Callable[..., dict], ld: str) -> ResponseReturnValue:
    """A search or autocomplete answer; a query of too many words gets a 400 that says why."""
    document, _staff = _document(document_id)
    try:
        payload = answer(document, _pages(document), request.args.to_dict())
    except iiif.TooManyWords:
        message = _("Search for at most %(count)d words at a time.", count=iiif.MAX_QUERY_WORDS)
        response = jsonify({"error": message})
        response.status_code = 400
        return _shared_cache(response, document)
    return _iiif_json(payload, document, ld=ld)


@bp.route("/iiif/<int:document_id>/search")
@limits.search
def iiif_search(document_id: int) -> ResponseReturnValue:
    """IIIF Content Search 2.0 over the document's pages: the matching words and their boxes."""
    return _search_answer(document_id, iiif.search_response, iiif.SEARCH_CONTEXT)


@bp.route("/iiif/<int:document_id>/search1")
@limits.search
def iiif_search1(document_id: int) -> ResponseReturnValue:
    """IIIF Content Search 1.0 (Mirador, the Universal Viewer): the same matches, 1.0's shape."""
    return _search_answer(document_id, iiif.search1_response, iiif.SEARCH1_CONTEXT)


@bp.route("/iiif/<int:document_id>/autocomplete")
@limits.search
def iiif_autocomplete(document_id: int) -> ResponseReturnValue:
    """Content Search 2.0 autocomplete: the document's words starting with ``q``."""
    return _search_answer(document_id, iiif.autocomplete_response, iiif.SEARCH_CONTEXT)


@bp.route("/iiif/<int:document_id>/autocomplete1")
@limits.search
def iiif_autocomplete1(document_id: int) -> ResponseReturnValue:
    """Content Search 1.0 autocomplete."""
    return _search_answer(document_id, iiif.autocomplete1_response, iiif.SEARCH1_CONTEXT)


# --- IIIF Image API (deep zoom) -------------------------------------------------------------------


def _image_page(document_id: int, seq: int) -> tuple[Document, Page]:
    """The document and its page ``seq`` if this reader may read it and it has a service."""
    document, _staff = _document(document_id)
    page = reader.finished_page(document.id, seq)
    if page is None or not iiif_image.has_service(page):
        abort(404)
    return document, page


@bp.route("/iiif/image/<int:document_id>/<int:seq>")
def iiif_image_base(document_id: int, seq: int) -> ResponseReturnValue:
    """The image service's id: its ``info.json`` (Image API 3.0, section 2.2)."""
    _image_page(document_id, seq)
    return redirect(url_for("reader.iiif_image_info", document_id=document_id, seq=seq), 303)


@bp.route("/iiif/image/<int:document_id>/<int:seq>/info.json")
def iiif_image_info(document_id: int, seq: int) -> ResponseReturnValue:
    """The page's IIIF image service (level 0): size, tiles, scale factors."""
    document, page = _image_page(document_id, seq)
    service = url_for("reader.iiif_image_base", document_id=document.id, seq=seq, _external=True)
    return _iiif_json(iiif_image.info(service, page), document, ld=iiif_image.IMAGE_CONTEXT)


#: Only tile requests that render (a cache miss) count against IIIF_RENDER_RATE_LIMIT per
#: client address, so a viewer asking for dozens of tiles already made is not held back; a
#: client past the limit waits for its next tile, whichever.
_renders = limiter.shared_limit(
    lambda: current_app.config["IIIF_RENDER_RATE_LIMIT"],
    scope="iiif-render",
    exempt_when=lambda: bool(current_user.is_authenticated),
    deduct_when=lambda response: bool(request.environ.get("mura.rendered")),
)


@bp.route("/iiif/image/<int:document_id>/<int:seq>/<region>/<size>/<rotation>/<quality>")
@_renders
def iiif_image_tile(
    document_id: int, seq: int, region: str, size: str, rotation: str, quality: str
) -> ResponseReturnValue:
    """One tile of the page (or the whole page at a listed size), rendered once, then cached."""
    clipped = _article_region(document_id, seq, region, (size, rotation, quality))
    if clipped is not None:
        return clipped
    document, page = _image_page(document_id, seq)
    try:
        tile = iiif_image.parse(page, region, size, rotation, quality)
    except iiif_image.NotATile:
        message = _("This image service sends only the tiles and sizes listed in its info.json.")
        response = make_response(message, 400)
        response.mimetype = "text/plain"
        return _shared_cache(response, document)
    try:
        path = iiif_image.cached_tile(page, tile)
        if path is None:
            # A thumbnail is one small rendering per page, made once for the lists of the
            # public site, which show a dozen at a time: it is not counted as a tile render.
            if tile.size != iiif_image.thumbnail_size(*reader.page_size_px(page)):
                request.environ["mura.rendered"] = True  # per request (``g`` may outlive one)
            path = iiif_image.tile_path(page, tile)
    except reader.RenderError as exc:
        current_app.logger.error("page %s: IIIF tile %s: %s", page.id, tile.name, exc)
        abort(503)
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    return _shared_cache(response, document, max_age=86400)


def _article_region(
    document_id: int, seq: int, region: str, rest: tuple[str, str, str]
) -> Response | None:
    """A region of an issue's page that is a clipped article's page (its IIIF canvas), or None.

    Whoever may read the article may have these pixels, even when the issue itself is not
    public: they are the article's clipping, nothing more of the page. Any other request (a
    tile, another region) goes on to the issue's own service and its rights.
    """
    from mura.app.modules.digitization import articles

    match = _REGION.fullmatch(region)
    if match is None or rest != ("max", "0", "default.jpg"):
        return None
    box = tuple(int(v) for v in match.groups())
    staff = bool(current_user.is_authenticated)
    for row in articles.regions_at(document_id, seq, box):
        article = row.article if staff else visibility.get_listed_document(row.article_id)
        if article is None or not visibility.may_read(
            article, staff=staff, client_ip=request.remote_addr
        ):
            continue
        page = row.source_page
        if not iiif_image.has_service(page):
            return None
        try:
            path = iiif_image.region_path(page, box)
        except reader.RenderError as exc:
            current_app.logger.error("page %s: IIIF region %s: %s", page.id, region, exc)
            abort(503)
        response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
        return _shared_cache(response, article, max_age=86400)
    return None


_REGION = re.compile(r"(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})")
