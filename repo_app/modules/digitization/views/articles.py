"""Staff screen: clip articles from the page images of an issue (modules/digitization/articles.py).

The page's stored image is shown scaled down; staff draw rectangles on it (or accept the
blocks the OCR found), order them, go on to another page of the issue, and save them as an
article. Coordinates go to the server in pixels of the stored image. The regions drawn live in
the browser (``sessionStorage``, per issue) until saved, so a refused save loses nothing.
"""

from __future__ import annotations

import io
import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from sqlalchemy import select

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import ARTICLE_TYPES, Document, Page
from mura.app.modules.administration.views.access import can_modify_job
from mura.app.modules.digitization import articles
from mura.app.modules.digitization.views.forms import DOC_TYPE_LABELS
from mura.app.modules.rights import visibility

bp = Blueprint("staff_articles", __name__)

#: Width of the page image shown to staff (the stored image is scaled down to it, never up).
PREVIEW_WIDTH = 1400


def _page(page_id: int) -> Page:
    """A done page of an issue this user may clip from: its branch's staff, administrators.

    Staff read every branch's pages, but the clipping screen makes documents: the edit rule.
    """
    page = db.session.get(Page, page_id) or abort(404)
    if page.state != "done" or not can_modify_job(current_user, page.job):
        abort(404)
    return page


def _issue_pages(document_id: int) -> list[Page]:
    """The finished pages of a document, one per page number (the latest row)."""
    rows = db.session.scalars(
        select(Page)
        .where(Page.document_id == document_id, Page.state == "done")
        .order_by(Page.seq, Page.id.desc())
    )
    seen: dict[int, Page] = {}
    for page in rows:
        seen.setdefault(page.seq, page)
    return list(seen.values())


@bp.route("/pages/<int:page_id>")
def clip(page_id: int) -> str:
    """The clipping screen of one page of an issue (or book)."""
    page = _page(page_id)
    document = db.session.get(Document, page.document_id)
    if document.doc_type in ARTICLE_TYPES:
        abort(404)
    width, height = articles.image_size(files.local_path(page.source_file), page.frame)
    pages = _issue_pages(document.id)
    proposals = [
        {"page": r.page, "x": r.x, "y": r.y, "w": r.w, "h": r.h} for r in articles.proposals(page)
    ]
    types = {k: v for k, v in DOC_TYPE_LABELS.items() if k in ARTICLE_TYPES}
    default_type = "book_article" if document.doc_type == "book" else "newspaper_article"
    if document.doc_type == "journal_issue":
        default_type = "journal_article"
    return render_template(
        "staff/clip.html",
        page=page,
        document=document,
        pages=pages,
        width=width,
        height=height,
        proposals=proposals,
        doc_types=types,
        default_type=default_type,
        can_save=can_modify_job(current_user, page.job),
    )


@bp.route("/pages/<int:page_id>/image.jpg")
def image(page_id: int) -> ResponseReturnValue:
    """The stored page image scaled to PREVIEW_WIDTH, as JPEG (the screen's background)."""
    page = _page(page_id)
    with Image.open(files.local_path(page.source_file)) as im:
        if page.frame:
            im.seek(page.frame)
        im.draft("L", (PREVIEW_WIDTH, PREVIEW_WIDTH * 4))  # JPEG: decode at a smaller scale
        preview = im.convert("L") if im.mode not in ("L", "RGB") else im.copy()
    if preview.width > PREVIEW_WIDTH:
        size = (PREVIEW_WIDTH, round(preview.height * PREVIEW_WIDTH / preview.width))
        preview = preview.resize(size, Image.Resampling.BILINEAR)
    data = io.BytesIO()
    preview.save(data, "JPEG", quality=85)
    response = current_app.response_class(data.getvalue(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/pages/<int:page_id>/text")
def text(page_id: int) -> ResponseReturnValue:
    """JSON ``{"text": ...}``: the OCR text inside ``x, y, w, h`` (stored pixels) of the page."""
    page = _page(page_id)
    try:
        region = articles.Region(
            page.seq, *(int(request.args.get(k, "")) for k in ("x", "y", "w", "h"))
        )
    except ValueError:
        return jsonify({"error": _("Give the region as x, y, w and h in pixels.")}), 400
    return jsonify({"text": articles.selection_text(page, region)})


@bp.route("/pages/<int:page_id>/split")
def split(page_id: int) -> ResponseReturnValue:
    """JSON ``{"regions": [top, bottom]}``: ``x, y, w, h`` split at ``at`` on ``axis``.

    The cut goes between the OCR's lines nearest to where staff pointed (``articles.
    split_region``); a read-only answer, so the regions drawn stay in the browser until saved.
    """
    page = _page(page_id)
    try:
        region = articles.Region(
            page.seq, *(int(request.args.get(k, "")) for k in ("x", "y", "w", "h"))
        )
        at = int(request.args.get("at", ""))
    except ValueError:
        return jsonify({"error": _("Give the region as x, y, w and h in pixels.")}), 400
    try:
        parts = articles.split_region(page, region, at, request.args.get("axis", "y"))
    except articles.ArticleError as exc:
        return jsonify({"error": exc.message}), 400
    return jsonify({"regions": [{"page": r.page, "x": r.x, "y": r.y, "w": r.w, "h": r.h}
                                for r in parts]})  # fmt: skip


@bp.route("/documents/<int:document_id>/articles", methods=["POST"])
def save(document_id: int) -> ResponseReturnValue:
    """Save the regions drawn as a new article; back to the screen with the reason if refused."""
    document = db.session.get(Document, document_id) or abort(404)
    pages = _issue_pages(document.id)
    if not pages:
        abort(404)
    if not can_modify_job(current_user, pages[0].job):
        abort(403)
    # ``retry``: the screen restores the regions of the refused save (nothing drawn is lost).
    back = url_for(
        "staff_articles.clip", page_id=int(request.form.get("page_id") or pages[0].id), retry=1
    )
    try:
        raw = json.loads(request.form.get("regions") or "[]")
        regions = [
            articles.Region(int(r["page"]), int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"]))
            for r in raw
        ]
    except (ValueError, TypeError, KeyError):
        flash(_("The regions could not be read; draw them again."), "error")
        return redirect(back)
    authors = (request.form.get("authors") or "").splitlines()
    fields = articles.ArticleFields(
        request.form.get("title", ""), request.form.get("doc_type", ""), authors
    )
    try:
        done = articles.clip_article(document.id, regions, fields, user=current_user)
    except articles.ArticleError as exc:
        flash(exc.message, "error")
        return redirect(back)
    for warning in done.warnings:
        flash(warning, "warning")
    flash(_("Article saved: its pages are being made from the issue's text."))
    return redirect(url_for("staff.job", job_id=done.job.id))


@bp.app_template_global()
def article_host(document: Document) -> dict | None:
    """Where a clipped article was printed, for its public page; None for other documents.

    With a link to the issue's page ("see it on the newspaper page") when this reader may read
    the issue: staff always, the public only when the issue was made public.
    """
    if document.doc_type not in ARTICLE_TYPES:
        return None
    host = articles.host_link(document.id)
    if host is None:
        return None
    issue = db.session.get(Document, host.document_id)
    staff = bool(current_user.is_authenticated)
    readable = issue is not None and visibility.may_read(
        issue, staff=staff, client_ip=request.remote_addr
    )
    url = None
    if readable:
        url = url_for("reader.read_page", document_id=host.document_id, seq=host.pages[0])
    return {"citation": host.citation, "url": url}
