"""Browse pages of the public site: authors, subjects, dates (``modules/discovery/browse.py``)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from mura.app.modules.discovery import browse, thumbnails
from mura.app.web.converters import db_int

bp = Blueprint("browse", __name__)


@bp.route("/browse")
def index() -> str:
    """Browse by date first: decades and their years, with links to authors and subjects."""
    return render_template("public/browse.html", kind="dates", decades=browse.decades())


@bp.route("/browse/authors")
def authors() -> str:
    """The authors of the public documents, alphabetically, in pages."""
    page, prefix = _page_args()
    return render_template(
        "public/browse.html", kind="authors", listing=browse.authors(page, prefix), prefix=prefix
    )


@bp.route("/browse/subjects")
def subjects() -> str:
    """The subject headings of the public documents, alphabetically, in pages."""
    page, prefix = _page_args()
    return render_template(
        "public/browse.html", kind="subjects", listing=browse.subjects(page, prefix), prefix=prefix
    )


def _page_args() -> tuple[int, str]:
    """``?page=`` (bounded) and ``?prefix=`` (cut to its longest length)."""
    page = min(max(1, request.args.get("page", 1, type=db_int) or 1), browse.MAX_PAGE)
    return page, (request.args.get("prefix") or "").strip()[: browse.MAX_PREFIX]


#: Years a span may name (as the search page's range).
FIRST_YEAR, LAST_YEAR = 1000, 2999


@bp.route("/browse/documents")
def documents() -> str:
    """The public documents of an author, a subject or a span of years (``from``, ``to``)."""
    author = (request.args.get("author") or "").strip()[:500]
    subject = (request.args.get("subject") or "").strip()[:1000]
    first = request.args.get("from", type=db_int)
    last = request.args.get("to", type=db_int)
    years = None
    if first is not None or last is not None:  # one end alone: from it on, or up to it
        ends = (FIRST_YEAR if first is None else first, LAST_YEAR if last is None else last)
        low, high = sorted(min(max(year, FIRST_YEAR), LAST_YEAR) for year in ends)
        years = (low, high)
    page = min(max(1, request.args.get("page", 1, type=db_int) or 1), browse.MAX_PAGE)
    found = browse.documents(author=author, subject=subject, years=years, page=page)
    return render_template(
        "public/browse_documents.html",
        author=author,
        subject=subject,
        years=years,
        found=found,
        thumbs=thumbnails.for_documents(found.documents),
    )
