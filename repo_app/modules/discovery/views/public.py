"""The public site: search the published documents, read them, download their PDFs."""

from __future__ import annotations

from flask import Blueprint, Response, abort, make_response, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import Document
from mura.app.modules.digitization.lifecycle import missing_status
from mura.app.modules.discovery import discovery, listing, thumbnails
from mura.app.modules.discovery import search as search_service
from mura.app.modules.rights import visibility
from mura.app.search import DocumentHit, SearchResults
from mura.app.search.types import YearRange
from mura.app.web import limits
from mura.app.web.converters import db_int

bp = Blueprint("public", __name__)

PER_PAGE = 10
#: Pages of text shown at once on a document's page (the reader shows one page at a time).
TEXT_WINDOW = 20


@bp.route("/")
def index() -> str:
    """Home: the search box and recently added documents."""
    recent = db.session.scalars(
        select(Document).where(visibility.listed_condition()).order_by(Document.id.desc()).limit(12)
    ).all()
    return render_template(
        "public/index.html", recent=recent, thumbs=thumbnails.for_documents(recent)
    )


@bp.route("/search")
@limits.search
def search() -> str:
    """Full-text search over the public documents, hits grouped by document with page numbers."""
    query = request.args.get("q", "").strip()[:500]
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    # Facets, sort and "did you mean" (discovery): templates/public/search.html.
    from mura.app.modules.discovery.discovery import ALL_FACET_KEYS, SORTS

    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "relevance"
    filters = {
        key: [value[:MAX_FILTER_VALUE] for value in request.args.getlist(key)[:MAX_FILTER_VALUES]]
        for key in ALL_FACET_KEYS
        if request.args.get(key)
    }
    typed = {name: request.args.get(name, "").strip()[:10] for name in ("from", "to")}
    years, year_errors = _year_range(typed["from"], typed["to"])
    results = (
        discovery.search(
            query, page=page, per_page=PER_PAGE, filters=filters, sort=sort, years=years
        )
        if query
        else _listing(page, filters, years, sort)
    )
    suggestion = discovery.suggestion(query) if results and results.total < 3 else None
    documents, thumbs = _hit_documents(results.hits if results else [])
    return render_template(
        "public/search.html",
        query=query,
        results=results,
        page=page,
        sort=sort,
        sorts=SORTS,
        filters=filters,
        # The range as typed (kept in the form and the links, even when it is refused).
        years={name: value for name, value in typed.items() if value},
        year_errors=year_errors,
        suggestion=suggestion,
        collection_titles=_collection_titles(),
        documents=documents,
        thumbs=thumbs,
    )


def _listing(page: int, filters: dict, years: YearRange, sort: str) -> SearchResults | None:
    """With no words but a filter (a browse page's link): the documents it chooses.

    Each single chosen value is shown in its facet with the number listed, so the reader sees
    (and can remove) what chose them.
    """
    if not listing.wanted(filters, years):
        return None
    results = listing.listing(page=page, per_page=PER_PAGE, filters=filters, years=years, sort=sort)
    for key, values in filters.items():
        if len(values) == 1:
            results.facets[key] = {values[0]: results.total}
    return results


#: Values of one facet a search URL may choose, and their length (bounded work per request).
MAX_FILTER_VALUES = 20
MAX_FILTER_VALUE = 200
#: Years a range may name.
FIRST_YEAR, LAST_YEAR = 1000, 2999


def _year_range(first: str, last: str) -> tuple[YearRange, list[str]]:
    """The range of years typed in the search page's form, and what is wrong with it.

    A bound that is not a year is not applied (the rest of the search is); a range whose
    first year is after its last is read the other way round, and the reader is told.
    """
    errors: list[str] = []
    bounds: list[int | None] = []
    for typed in (first, last):
        if not typed:
            bounds.append(None)
        elif typed.isdecimal() and FIRST_YEAR <= int(typed) <= LAST_YEAR:
            bounds.append(int(typed))
        else:
            bounds.append(None)
            message = _(
                "“%(value)s” is not a year (%(first)d–%(last)d): that bound is not applied."
            )
            errors.append(message % {"value": typed, "first": FIRST_YEAR, "last": LAST_YEAR})
    low, high = bounds
    if low is not None and high is not None and low > high:
        message = _("The first year is after the last: the range is read from %(low)d to %(high)d.")
        errors.append(message % {"low": high, "high": low})
        low, high = high, low
    return YearRange(low, high), errors


def _hit_documents(hits: list[DocumentHit]) -> tuple[dict[int, Document], dict]:
    """The documents of a page of results (author, year, type) and their thumbnails.

    A hit's thumbnail is the page its snippet comes from, else its first matching page.
    """
    if not hits:
        return {}, {}
    ids = [hit.document_id for hit in hits]
    documents = {d.id: d for d in db.session.scalars(select(Document).where(Document.id.in_(ids)))}
    seqs = {hit.document_id: hit.snippet_page or (hit.pages or [1])[0] for hit in hits}
    return documents, thumbnails.for_documents(documents.values(), seqs)


def _collection_titles() -> dict[str, str]:
    """Collection slug -> title in the interface language (facet labels)."""
    from flask_babel import get_locale

    from mura.app.models import Collection

    locale = str(get_locale())
    return {c.slug: c.title_in(locale) for c in db.session.scalars(select(Collection))}


@bp.route("/documents/<int:document_id>")
def document(document_id: int) -> ResponseReturnValue:
    """A document's page: its description, rights statement, and the text and PDF if allowed.

    The public sees listed documents (docs/rights.md); staff see any document, with the reason
    for its status; the text and PDF links appear to whoever :func:`visibility.may_read`.
    """
    doc, staff = _document_for_reader(document_id)
    readable = visibility.may_read(doc, staff=staff, client_ip=request.remote_addr)
    # A book's text is read in windows: 300 pages on one page would be megabytes of HTML.
    first = min(max(1, request.args.get("from", 1, type=db_int) or 1), max(1, doc.page_count))
    first -= (first - 1) % TEXT_WINDOW
    pages = search_service.document_pages(doc.id, first, TEXT_WINDOW) if readable else []
    windows = [
        (start, min(start + TEXT_WINDOW - 1, doc.page_count))
        for start in range(1, doc.page_count + 1, TEXT_WINDOW)
    ]
    query = request.args.get("q", "").strip()[:500]
    response = make_response(
        render_template(
            "public/document.html",
            document=doc,
            pages=pages,
            query=query,
            readable=readable,
            show_rights_reason=staff,
            windows=windows if len(windows) > 1 else [],
            first=first,
        )
    )
    return _private_unless_public(response, doc)


@bp.route("/documents/<int:document_id>/pdf")
@limits.download
def document_pdf(document_id: int) -> ResponseReturnValue:
    """The searchable PDF: 404 unless this reader may read it; download only where allowed."""
    doc, staff = _document_for_reader(document_id)
    if not visibility.may_read(doc, staff=staff, client_ip=request.remote_addr):
        abort(404)
    download = request.args.get("download") == "1"
    if download and not (staff or (visibility.is_public(doc) and doc.access_download)):
        abort(403)  # read it here; the rights do not allow taking a copy away
    response = send_file(
        files.local_path(doc.pdf_file),
        mimetype="application/pdf",
        as_attachment=download,
        download_name=f"mura-{doc.id}.pdf",
        conditional=True,
    )
    return _private_unless_public(response, doc)


def _document_for_reader(document_id: int) -> tuple[Document, bool]:
    """The document and whether the reader is staff; 404 for what the public may not see.

    Staff see any document with a PDF whatever its rights (the page tells them why it is or
    is not public); before its PDF exists a document has no page at all.
    """
    staff = current_user.is_authenticated
    doc = db.session.get(Document, document_id) if staff else None
    if doc is None or doc.pdf_file_id is None:
        doc = visibility.get_listed_document(document_id) or abort(missing_status(document_id))
    return doc, staff


def _private_unless_public(response: Response, doc: Document) -> Response:
    """What depends on who asks (staff, reading room) must not be kept by a shared cache."""
    if not visibility.is_public(doc) or current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response
