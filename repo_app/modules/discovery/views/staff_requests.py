"""Staff answer readers' copy requests: the queue, the status, links, and starting the scan.

The blueprint's name starts with ``staff`` and its URLs are under ``/staff``, so the access
guard (:mod:`mura.app.modules.administration.views.access`) requires a login; reviewers only read.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from mura.app.core import links
from mura.app.extensions import db
from mura.app.models import REQUEST_STATUSES, CopyRequest
from mura.app.modules.administration import mail
from mura.app.modules.discovery import copy_requests

bp = Blueprint("staff_requests", __name__)

STATUS_LABELS = {
    "new": _l("New"),
    "accepted": _l("Accepted"),
    "scanning": _l("Being scanned"),
    "published": _l("Published"),
    "declined": _l("Declined"),
}


@bp.app_template_global()
def request_status_label(status: str) -> str:
    """A copy request's status in the reader's language (on any screen)."""
    return str(STATUS_LABELS.get(status, status))


class StatusForm(FlaskForm):
    """Set the status and the note the reader sees."""

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s, STATUS_LABELS[s]) for s in copy_requests.STAFF_STATUSES],
    )
    note = TextAreaField(
        _l("Note for the reader"),
        description=_l("Shown on the reader's status page: why declined, when to expect it."),
        validators=[Optional(), Length(max=5000)],
    )


class LinkForm(FlaskForm):
    """Match the request to a catalogue record and/or a document."""

    record_id = IntegerField(
        _l("Catalogue record number"), validators=[Optional(), NumberRange(min=1)]
    )
    document_id = IntegerField(_l("Document number"), validators=[Optional(), NumberRange(min=1)])


class ScanForm(FlaskForm):
    """Start the scan (nothing but the CSRF token)."""


def _request(request_id: int) -> CopyRequest:
    found = db.session.get(CopyRequest, request_id) or abort(404)
    copy_requests.refresh(found)
    return found


@bp.route("/")
def index() -> str:
    """The queue: open requests oldest first, or the requests of one status."""
    status = request.args.get("status")
    status = status if status in REQUEST_STATUSES else None
    return render_template(
        "staff/requests/index.html",
        requests=copy_requests.queue(status),
        counts=copy_requests.counts(),
        status=status,
        labels=STATUS_LABELS,
    )


@bp.route("/<int:request_id>")
def show(request_id: int) -> str:
    """One request, with its forms."""
    found = _request(request_id)
    status_form = StatusForm(
        status=found.status if found.status in copy_requests.STAFF_STATUSES else "accepted",
        note=found.note,
    )
    link_form = LinkForm(record_id=found.record_id, document_id=found.document_id)
    return render_template(
        "staff/requests/show.html",
        req=found,
        status_form=status_form,
        link_form=link_form,
        scan_form=ScanForm(),
        labels=STATUS_LABELS,
        document=copy_requests.answer_document(found),
        status_url=links.external_url("requests.status", token=found.token),
        mail_configured=mail.configured(),
    )


@bp.route("/<int:request_id>/status", methods=["POST"])
def set_status(request_id: int) -> ResponseReturnValue:
    """Accept, decline (with a note), or put back."""
    found = _request(request_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            copy_requests.set_status(found, form.status.data, form.note.data or "", _user())
        except copy_requests.RequestError as exc:
            flash(exc.message)
        else:
            flash(_("Request %(id)d: saved.", id=found.id))
    else:
        flash(_("The form was not valid; nothing was changed."))
    return redirect(url_for("staff_requests.show", request_id=found.id))


@bp.route("/<int:request_id>/link", methods=["POST"])
def link(request_id: int) -> ResponseReturnValue:
    """Link the request to a record and/or a document."""
    found = _request(request_id)
    form = LinkForm()
    if form.validate_on_submit():
        try:
            copy_requests.link(found, form.record_id.data, form.document_id.data, _user())
        except copy_requests.RequestError as exc:
            flash(exc.message)
        else:
            flash(_("Request %(id)d: links saved.", id=found.id))
    else:
        flash(_("The form was not valid; nothing was changed."))
    return redirect(url_for("staff_requests.show", request_id=found.id))


@bp.route("/<int:request_id>/scan", methods=["POST"])
def scan(request_id: int) -> ResponseReturnValue:
    """Mark the request "being scanned" and open the upload form with its record chosen."""
    found = _request(request_id)
    if not ScanForm().validate_on_submit():
        abort(400)
    copy_requests.start_scan(found, _user())
    if found.record_id is None:
        flash(
            _(
                "Request %(id)d has no catalogue record: fill in the form, then link the new "
                "document to the request.",
                id=found.id,
            )
        )
        return redirect(url_for("staff.upload"))
    return redirect(url_for("staff.upload", record_id=found.record_id))


def _user():
    return current_user._get_current_object()
