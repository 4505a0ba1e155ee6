"""The review of digitized documents: the queue of what waits for whom, and the decisions.

Staff of a branch check the OCR of their documents and send them for approval; reviewers (and
administrators) approve them, which publishes them, or return them with a comment. The rules are
in :mod:`mura.app.modules.digitization.workflow`; the buttons are on the job page
(``staff/_workflow.html``).

The access guard lets reviewers POST only the two decisions (:func:`access.allow_roles`), and
keeps staff from them; the branch of the document is checked by the service.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from mura.app.extensions import db
from mura.app.models import Document, User
from mura.app.modules.administration.views.access import allow_roles, safe_next
from mura.app.modules.digitization import workflow
from mura.app.modules.digitization.views.forms import ActionForm, ReturnForm
from mura.app.modules.rights.outlook import outlook

bp = Blueprint("staff_review", __name__)


@bp.route("/")
def queue() -> str:
    """What waits for whom: counts per branch, and the documents waiting for this user."""
    user: User = current_user
    decides = workflow.may_decide(user)
    # Staff work on their branch's documents; administrators and staff of no branch see all.
    own_branch = user.branch_id if user.role == "staff" else None
    to_approve = workflow.waiting_documents(("reviewed",)) if decides else []
    for_staff = (
        workflow.waiting_documents(("ocr_done", "returned"), own_branch)
        if user.role in ("staff", "admin")
        else []
    )
    return render_template(
        "staff/review.html",
        counts=workflow.queue_counts(user),
        to_approve=to_approve,
        # Documents that approval would leave hidden, so a reviewer sees it before approving.
        hidden={d.id for d, _job in to_approve if outlook(d).hidden},
        to_check=[(d, j) for d, j in for_staff if d.status == "ocr_done"],
        returned=[(d, j) for d, j in for_staff if d.status == "returned"],
        state_label=workflow.state_label,
    )


@bp.route("/documents/<int:document_id>/submit", methods=["POST"])
def submit(document_id: int) -> ResponseReturnValue:
    """Staff checked the OCR: send the document for approval."""
    document = db.session.get(Document, document_id) or abort(404)
    if not workflow.may_submit(current_user, document):
        abort(403)  # another branch's document (or a reviewer): its own staff check it
    return _move(document_id, workflow.submit, _("Sent for approval."))


@bp.route("/documents/<int:document_id>/approve", methods=["POST"])
@allow_roles("reviewer")
def approve(document_id: int) -> ResponseReturnValue:
    """A reviewer approves: the document is published; the message says what the public sees."""
    document = db.session.get(Document, document_id) or abort(404)
    ahead = outlook(document)
    if ahead.access == "online":
        done = _("Approved and published: the public can read it online.")
    else:
        done = _(
            "Approved, but %(what)s Why: %(reason)s",
            what=ahead.summary[0].lower() + ahead.summary[1:],
            reason=ahead.reason,
        )
    return _move(document_id, workflow.approve, done)


@bp.route("/documents/<int:document_id>/return", methods=["POST"])
@allow_roles("reviewer")
def return_document(document_id: int) -> ResponseReturnValue:
    """A reviewer returns the document to staff with a comment."""
    form = ReturnForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Say what staff should fix: a comment is required to return a document."))
        return redirect(_back(document_id))
    comment = form.comment.data or ""
    return _move(
        document_id,
        lambda document, user: workflow.return_document(document, user, comment),
        _("Returned to staff with your comment."),
        validated=True,
    )


def _move(document_id: int, move, done: str, *, validated: bool = False) -> ResponseReturnValue:
    """Apply ``move(document, user)``; flash what happened or why not, and go back."""
    document = db.session.get(Document, document_id) or abort(404)
    if not validated and not ActionForm().validate_on_submit():
        abort(400)  # no valid CSRF token
    try:
        move(document, current_user._get_current_object())
    except workflow.WorkflowError as exc:  # e.g. someone else decided first
        db.session.rollback()
        flash(exc.reason)
        return redirect(_back(document_id))
    flash(done)
    return redirect(_back(document_id))


def _back(document_id: int) -> str:
    """Where the form came from (the queue or the job page), else the document's job page."""
    job = None
    document = db.session.get(Document, document_id)
    if document is not None:
        job = workflow.latest_job(document)
    default = url_for("staff.job", job_id=job.id) if job else url_for("staff_review.queue")
    return safe_next(request.form.get("next"), default)
