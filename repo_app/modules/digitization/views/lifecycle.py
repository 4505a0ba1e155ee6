"""Staff screens that end a life: discard a failed job, withdraw, restore or delete a document.

Each destructive action has a confirmation page (GET) that says what will be removed; the
POST does it (digitization/lifecycle.py holds the rules). The links on the job pages come from
:func:`lifecycle_actions`, offered to every template so the job screens need no new arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from mura.app.extensions import db
from mura.app.models import Document, ScanJob
from mura.app.modules.administration import permissions
from mura.app.modules.administration.views.access import allow_roles
from mura.app.modules.digitization import lifecycle, workflow
from mura.app.modules.digitization.views.forms import LifecycleForm
from mura.app.modules.rights import visibility

bp = Blueprint("staff_lifecycle", __name__)


@dataclass(frozen=True)
class LifecycleActions:
    """Which of the actions this user may take on a job and its document (the links shown)."""

    discard: bool
    withdraw: bool
    restore: bool
    delete: bool


def lifecycle_actions(job: ScanJob) -> LifecycleActions:
    """The actions :mod:`.lifecycle` allows the current user on ``job`` and its document."""
    user = current_user._get_current_object()
    document = job.document
    return LifecycleActions(
        discard=lifecycle.may_discard(user, job),
        withdraw=lifecycle.may_withdraw(user, document),
        restore=lifecycle.may_restore(user, document),
        delete=lifecycle.may_delete(user, document),
    )


@bp.app_context_processor
def _offer_actions() -> dict:
    return {"lifecycle_actions": lifecycle_actions}


@bp.route("/jobs/<int:job_id>/discard", methods=["GET", "POST"])
@allow_roles("staff")  # not reviewers: they change nothing but their decisions
def discard(job_id: int) -> ResponseReturnValue:
    """Confirm, then discard a failed job (its pages, files, and an empty document)."""
    job = db.session.get(ScanJob, job_id) or abort(404)
    user = current_user._get_current_object()
    if not permissions.can_edit(user, job.document):
        abort(403)  # another branch's job: its own staff decide
    if not lifecycle.discardable(job):
        abort(404)  # under way or succeeded: nothing to discard
    form = LifecycleForm()
    if form.validate_on_submit():
        try:
            removed = lifecycle.discard_job(job, user, form.reason.data or "")
        except lifecycle.LifecycleError as exc:
            form.confirm.errors = [exc.reason]
        else:
            flash(
                ngettext(
                    "Job %(job)s discarded: %(num)d page removed.",
                    "Job %(job)s discarded: %(num)d pages removed.",
                    removed.pages,
                    job=job_id,
                )
            )
            return redirect(url_for("staff.jobs"))
    return _confirm("discard", form, job=job, document=job.document)


@bp.route("/documents/<int:document_id>/withdraw", methods=["GET", "POST"])
@allow_roles()  # administrators only (the access guard answers 403 to the others)
def withdraw(document_id: int) -> ResponseReturnValue:
    """Confirm, then withdraw a document from the public site (administrators)."""
    document = db.session.get(Document, document_id) or abort(404)
    user = current_user._get_current_object()
    if not lifecycle.may_withdraw(user, document):
        flash(_("The document is withdrawn already."), "error")
        return redirect(_job_url(document))
    form = LifecycleForm()
    if form.validate_on_submit():
        try:
            lifecycle.withdraw_document(document, user, form.reason.data or "")
        except lifecycle.LifecycleError as exc:
            form.reason.errors = [exc.reason]
        else:
            flash(_("The document was withdrawn from the public site; it can be restored."))
            return redirect(_job_url(document))
    return _confirm("withdraw", form, document=document)


@bp.route("/documents/<int:document_id>/restore", methods=["POST"])
@allow_roles()  # administrators only
def restore(document_id: int) -> ResponseReturnValue:
    """Restore a withdrawn document to the state it was withdrawn from (administrators)."""
    document = db.session.get(Document, document_id) or abort(404)
    user = current_user._get_current_object()
    if not lifecycle.may_restore(user, document):
        flash(_("The document is not withdrawn: there is nothing to restore."), "error")
        return redirect(_job_url(document))
    state = lifecycle.restore_document(document, user)
    flash(_("The document was restored: %(state)s.", state=workflow.state_label(state)))
    return redirect(_job_url(document))


@bp.route("/documents/<int:document_id>/delete", methods=["GET", "POST"])
@allow_roles("staff")  # which staff: lifecycle.may_delete
def delete(document_id: int) -> ResponseReturnValue:
    """Confirm, then delete a document with its pages and files."""
    document = db.session.get(Document, document_id) or abort(404)
    user = current_user._get_current_object()
    if not lifecycle.may_delete(user, document):
        abort(403)
    form = LifecycleForm()
    if form.validate_on_submit():
        title = document.title
        try:
            removed = lifecycle.delete_document(document, user, form.reason.data or "")
        except lifecycle.LifecycleError as exc:
            form.reason.errors = [exc.reason]
        else:
            flash(
                ngettext(
                    "“%(title)s” deleted: %(num)d page removed.",
                    "“%(title)s” deleted: %(num)d pages removed.",
                    removed.pages,
                    title=title,
                )
            )
            return redirect(url_for("staff.jobs"))
    return _confirm("delete", form, document=document)


def _confirm(action: str, form: LifecycleForm, **context: object) -> ResponseReturnValue:
    """The confirmation page; 400 after a refused POST, so scripts see the refusal."""
    document = context["document"]
    assert isinstance(document, Document)
    context.setdefault("job", workflow.latest_job(document))
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "staff/lifecycle.html",
        action=action,
        form=form,
        was_public=lifecycle.ever_public(document.id),
        listed=visibility.is_listed(document),
        **context,
    )
    return page, status


def _job_url(document: Document) -> str:
    job = workflow.latest_job(document)
    return url_for("staff.job", job_id=job.id) if job else url_for("staff.jobs")
