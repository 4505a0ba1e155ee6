"""Staff screens: change a finished job's pages (modules/digitization/pages.py) and page images.

Every change is a plain form (up/down buttons, a file field, a confirmation page), so it works
without script; the job page's live progress then follows the OCR of the pages that changed.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from mura.app.extensions import db
from mura.app.models import Page, ScanJob
from mura.app.modules.administration import permissions
from mura.app.modules.digitization import pages as page_service
from mura.app.modules.digitization.ingest import Upload
from mura.app.modules.discovery import reader
from mura.app.web.converters import form_id

bp = Blueprint("staff_pages", __name__)

#: Widths of the page image on the correction screen, by zoom step (0: fits the column).
ZOOM_WIDTHS = (1000, 1600, 2400)


@bp.app_template_global()
def page_edit_allowed(job: ScanJob) -> bool:
    """Whether the job page offers this user the page tools (add, replace, move, remove)."""
    try:
        page_service.editable_job(job, current_user._get_current_object())
    except page_service.PageEditError:
        return False
    return True


@bp.app_template_global()
def page_image_width(page: Page, zoom: int) -> int:
    """The width of the page image at zoom step ``zoom`` that the image route serves."""
    widths = reader.allowed_widths(page)
    wanted = ZOOM_WIDTHS[min(max(zoom, 0), len(ZOOM_WIDTHS) - 1)]
    fitting = [w for w in widths if w <= wanted]
    return max(fitting) if fitting else min(widths)


def _user():
    return current_user._get_current_object()


def _refused(exc: page_service.PageEditError, job_id: int) -> ResponseReturnValue:
    """A change refused: 403 for a change sent by who may not make it, else back to the job.

    A screen merely opened (GET) by someone who reads but may not change the document (a
    reviewer, another branch's staff) leads back to the job page with the reason.
    """
    if isinstance(exc, page_service.PageEditDenied) and request.method != "GET":
        abort(403)  # another branch's document: its own staff change it
    flash(exc.message, "error")
    return redirect(url_for("staff.job", job_id=job_id))


def _uploads() -> list[Upload]:
    chosen = [f for f in request.files.getlist("files") if f and (f.filename or "")]
    return [Upload(f.filename or "upload", f.stream) for f in chosen]


def _queued_message(change: page_service.PageChange) -> None:
    if change.queued:
        flash(
            ngettext(
                "%(num)d page queued for OCR; the other pages keep their text.",
                "%(num)d pages queued for OCR; the other pages keep their text.",
                change.queued,
            )
        )
    else:
        flash(_("Pages changed; the document's PDF and search are being updated."))
    if change.held_for_review:
        flash(_("The document was published: it waits for approval again."))


@bp.route("/jobs/<int:job_id>/pages/add", methods=["POST"])
def add(job_id: int) -> ResponseReturnValue:
    """Insert uploaded page images before the given page number (empty: at the end)."""
    job = db.session.get(ScanJob, job_id) or abort(404)
    try:
        page_service.editable_job(job, _user())  # who may, before what they sent
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    position = form_id(request.form.get("position", "").strip() or None)
    if request.form.get("position", "").strip() and position is None:
        flash(_("The place must be a page number."), "error")
        return redirect(url_for("staff.job", job_id=job_id))
    try:
        change = page_service.add_pages(job.id, _uploads(), position, _user())
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    _queued_message(change)
    return redirect(url_for("staff.job", job_id=job_id))


def _page(page_id: int) -> Page:
    return db.session.get(Page, page_id) or abort(404)


@bp.route("/pages/<int:page_id>/replace", methods=["GET", "POST"])
def replace(page_id: int) -> ResponseReturnValue:
    """Put a new scan in place of a page (a rescan); only that page is OCRed again."""
    page = _page(page_id)
    job_id = page.job_id
    try:
        page_service.editable_job(page, _user())
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    if request.method == "POST":
        uploads = _uploads()
        if len(uploads) != 1:
            flash(_("Choose one image for the page."), "error")
            return redirect(url_for("staff_pages.replace", page_id=page_id))
        try:
            change = page_service.replace_page(page_id, uploads[0], _user())
        except page_service.PageEditError as exc:
            flash(exc.message, "error")
            return redirect(url_for("staff_pages.replace", page_id=page_id))
        _queued_message(change)
        return redirect(url_for("staff.job", job_id=job_id))
    return render_template("staff/page_change.html", page=page, action="replace")


@bp.route("/pages/<int:page_id>/move", methods=["POST"])
def move(page_id: int) -> ResponseReturnValue:
    """Move a page: ``to`` a number, or one place ``up``/``down`` (the job page's buttons)."""
    page = _page(page_id)
    job_id = page.job_id
    try:
        page_service.editable_job(page, _user())  # who may, before what they sent
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    direction = request.form.get("direction")
    if direction in ("up", "down"):
        to: int | None = page.seq + (-1 if direction == "up" else 1)
    else:
        to = form_id(request.form.get("to", "").strip() or None)
    if to is None or to < 1:
        flash(_("The place must be a page number."), "error")
        return redirect(url_for("staff.job", job_id=job_id))
    try:
        change = page_service.move_page(page_id, to, _user())
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    _queued_message(change)
    return redirect(url_for("staff.job", job_id=job_id, _anchor="pages"))


@bp.route("/pages/<int:page_id>/remove", methods=["GET", "POST"])
def remove(page_id: int) -> ResponseReturnValue:
    """Ask, then remove a page; the pages after it move up by one."""
    page = _page(page_id)
    job_id = page.job_id
    try:
        page_service.editable_job(page, _user())
    except page_service.PageEditError as exc:
        return _refused(exc, job_id)
    if request.method == "POST":
        try:
            change = page_service.remove_page(page_id, _user())
        except page_service.PageEditError as exc:
            return _refused(exc, job_id)
        _queued_message(change)
        return redirect(url_for("staff.job", job_id=job_id))
    return render_template("staff/page_change.html", page=page, action="remove")


@bp.route("/pages/<int:page_id>/image/<int:width>.jpg")
def image(page_id: int, width: int) -> ResponseReturnValue:
    """The page's image from its page PDF, ``width`` pixels wide (the reader's renderer).

    By page id, not by number: it shows the page being corrected even while other pages of
    the job are OCRed again (the reader shows only finished jobs).
    """
    page = _page(page_id)
    document = page.job.document
    if not permissions.can_read(_user(), document) or page.pdf_file_id is None:
        abort(404)
    try:
        path = reader.page_image(page, document, width)
    except ValueError:
        abort(404)
    except reader.RenderError as exc:
        current_app.logger.error("page %s: image %d px: %s", page.id, width, exc)
        abort(503)
    response = current_app.response_class(path.read_bytes(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
