"""Staff screens: upload page images, follow scan jobs."""

from __future__ import annotations

import re
from contextlib import ExitStack

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from mura.app.core import files
from mura.app.core.languages import ocr_language_choices, parse_langs
from mura.app.extensions import db
from mura.app.models import Collection, Page, ScanJob, User
from mura.app.modules.administration import audit, permissions
from mura.app.modules.administration.views.access import can_modify_job, can_read_job_files
from mura.app.modules.catalogue.records import attach_upload
from mura.app.modules.digitization import held_uploads, workflow
from mura.app.modules.digitization import jobs as job_service
from mura.app.modules.digitization.corrections import correct_page_text
from mura.app.modules.digitization.ingest import DocumentFields, IngestError, Upload, ingest
from mura.app.modules.digitization.job_status import describe_job, parse_page_list, recent_jobs
from mura.app.modules.digitization.views.forms import (
    DOC_TYPE_LABELS,
    ActionForm,
    ReturnForm,
    UploadForm,
    joined_langs,
)
from mura.app.modules.preservation.fixity import status as fixity_status
from mura.app.modules.rights.outlook import outlook
from mura.app.web.converters import form_id

bp = Blueprint("staff", __name__)


@bp.route("/")
def jobs() -> str:
    """Scan jobs, newest first, with their progress: the user's branch's, or ``?all=1``."""
    branch_id = current_user.branch_id
    all_branches = branch_id is None or request.args.get("all") == "1"
    rows = recent_jobs(200) if all_branches else _branch_jobs(branch_id, 200)
    return render_template(
        "staff/jobs.html",
        jobs=[describe_job(job) for job in rows],
        owners={job.id: job for job in rows},
        all_branches=all_branches,
        branch=current_user.branch,
        fixity=fixity_status(),  # changed or missing stored files (preservation/fixity.py)
    )


def _branch_jobs(branch_id: int, limit: int) -> list[ScanJob]:
    stmt = select(ScanJob).where(ScanJob.branch_id == branch_id).order_by(ScanJob.id.desc())
    return list(db.session.scalars(stmt.limit(limit)))


@bp.route("/upload", methods=["GET", "POST"])
def upload() -> ResponseReturnValue:
    """The upload form; on success, the new job's page."""
    form = UploadForm()
    user = current_user._get_current_object()
    form.collection.choices = [
        SelectChoice(c.slug, c.title)
        for c in db.session.scalars(select(Collection).order_by(Collection.title))
        if permissions.can_edit_collection(user, c)  # another branch's collection is theirs
    ]
    form.langs.choices = ocr_language_choices()
    kept = _kept_files(form, user)
    if form.validate_on_submit():
        with ExitStack() as stack:
            chosen = [(f.filename or "upload", f.stream) for f in _chosen_files()]
            chosen += [(h.name, stack.enter_context(open(h.path, "rb"))) for h in kept]
            uploads = [
                Upload(name, stream)
                for name, stream in sorted(chosen, key=lambda c: _natural_key(c[0]))
            ]
            fields = DocumentFields(
                title=form.title.data or "",
                doc_type=form.doc_type.data,
                authors=(form.authors.data or "").splitlines(),
                langs=joined_langs(form.langs.data),
                collections=[slug for slug in form.collection.data or [] if slug],
                year=form.year.data,
            )
            try:
                job = ingest(uploads, fields, user=user, refuse_unusable=True)
            except IngestError as exc:
                target = getattr(form, exc.field or "", None) or form.files
                target.errors = [*target.errors, exc.message]
            else:
                held_uploads.release(form.held.data, user.id)
                attach_upload(
                    job.document_id, _record_id(form.record_id.data), form.new_record.data
                )
                flash(
                    ngettext(
                        "Upload received: %(num)d page queued for OCR.",
                        "Upload received: %(num)d pages queued for OCR.",
                        len(job.pages),
                    )
                )
                return redirect(url_for("staff.job", job_id=job.id))
    if request.method == "POST":
        kept = _hold_for_next_try(form, user, kept)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/upload.html", form=form, held_files=kept), status


def _kept_files(form: UploadForm, user: User) -> list[held_uploads.HeldFile]:
    """The files held from this user's last try of the form, unless they said to forget them."""
    if request.method != "POST":
        return []
    if request.form.get("forget_held"):
        held_uploads.release(form.held.data, user.id)
        form.held.data = ""
        return []
    return held_uploads.held(form.held.data, user.id)


def _hold_for_next_try(
    form: UploadForm, user: User, kept: list[held_uploads.HeldFile]
) -> list[held_uploads.HeldFile]:
    """After an error, keep the chosen files for the next try, unless the files were at fault.

    An error about the files names the bad ones: staff choose again, nothing is held.
    """
    new = _chosen_files()
    if form.files.errors:
        held_uploads.release(form.held.data, user.id)
        form.held.data = ""
        return []
    if not new:
        return kept
    with ExitStack() as stack:
        files = [(f.filename or "upload", f.stream) for f in new]
        files += [(h.name, stack.enter_context(open(h.path, "rb"))) for h in kept]
        token = held_uploads.hold(files, user.id)
    held_uploads.release(form.held.data, user.id)
    form.held.data = token or ""
    return held_uploads.held(token, user.id)


def _record_id(value: str | None) -> int | None:
    return form_id(value)


def _chosen_files() -> list:
    return [f for f in request.files.getlist("files") if f and (f.filename or "")]


def _natural_key(name: str) -> list:
    """``page2.tif`` before ``page10.tif``: scanners number files without leading zeros."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


@bp.route("/jobs/<int:job_id>")
def job(job_id: int) -> str:
    """One job: live progress, each page's state and the reason of any failure."""
    row = db.session.get(ScanJob, job_id) or abort(404)
    document = row.document
    return render_template(
        "staff/job.html",
        job=row,
        summary=describe_job(row),
        doc_types=DOC_TYPE_LABELS,
        # The document's place in the workflow and this user's buttons (staff/_workflow.html).
        document_state=workflow.state_label(document.status),
        actions=workflow.actions_for(current_user, document),
        # What the public will see after approval, and why (rights/outlook.py).
        outlook=outlook(document) if document.status != "scanned" else None,
        return_form=ReturnForm(),
        action_form=ActionForm(),
        page_pdf_allowed=can_read_job_files(current_user, row),
        may_change=can_modify_job(current_user, row),  # retry, OCR again: its branch's staff
    )


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
def retry(job_id: int) -> ResponseReturnValue:
    """Queue the job's failed pages again (pages whose file is unreadable stay failed)."""
    row = db.session.get(ScanJob, job_id) or abort(404)
    if not can_modify_job(current_user, row):
        abort(403)  # another branch's job: its own staff decide
    n = job_service.retry_failed_pages(job_id)
    audit.record("job.retry", "scan_job", job_id, pages=n)
    db.session.commit()
    flash(ngettext("%(num)d page queued again.", "%(num)d pages queued again.", n))
    return redirect(url_for("staff.job", job_id=job_id))


@bp.route("/jobs/<int:job_id>/reocr", methods=["POST"])
def reocr(job_id: int) -> ResponseReturnValue:
    """OCR some or all pages again, maybe with other languages or cleaning."""
    row = db.session.get(ScanJob, job_id) or abort(404)
    if not can_modify_job(current_user, row):
        abort(403)  # another branch's job: its own staff decide
    langs_value = request.form.get("langs", "").strip()
    try:
        langs = parse_langs(langs_value) if langs_value else None
        pages_value = request.form.get("pages", "").strip()
        seqs = parse_page_list(pages_value, len(row.pages)) if pages_value else None
    except ValueError as exc:
        flash(_("Not re-run: %(reason)s", reason=str(exc) or _("bad page list")), "error")
        return redirect(url_for("staff.job", job_id=job_id))
    form = request.form
    options = job_service.reocr_options(bool(form.get("clean")), bool(form.get("ocr_text_pages")))
    n = job_service.reocr(job_id, seqs, langs, options)
    flash(ngettext("%(num)d page queued for OCR again.", "%(num)d pages queued for OCR again.", n))
    return redirect(url_for("staff.job", job_id=job_id))


@bp.route("/pages/<int:page_id>/text", methods=["GET", "POST"])
def page_text(page_id: int) -> ResponseReturnValue:
    """Correct the OCR text of a page by hand."""
    page = db.session.get(Page, page_id) or abort(404)
    if request.method == "POST":
        if not can_modify_job(current_user, page.job):
            abort(403)  # another branch's page: its own staff correct it
        if request.form.get("action") == "revert":
            correct_page_text(page_id, None)
            flash(_("The correction was removed; search uses the OCR text again."))
        else:
            correct_page_text(page_id, request.form.get("text", ""))
            flash(_("Correction saved; search is being updated."))
        return redirect(url_for("staff.job", job_id=page.job_id))
    return render_template("staff/page_text.html", page=page)


@bp.route("/pages/<int:page_id>/pdf")
def page_pdf(page_id: int) -> ResponseReturnValue:
    """The one-page searchable PDF of a page (staff only; the public gets the document)."""
    page = db.session.get(Page, page_id) or abort(404)
    if not can_read_job_files(current_user, page.job):
        abort(403)
    if page.pdf_file is None:
        abort(404)
    return send_file(files.local_path(page.pdf_file), mimetype="application/pdf")
