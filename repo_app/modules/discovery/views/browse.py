"""Browse pages of the public site: authors, subjects, dates (``modules/discovery/browse.py``)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from mura.app.modules.discovery import browse
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
