"""Readers ask for a digital copy of an item not yet digitized, and follow their request.

The status page is addressed by an unguessable token. With mail configured the reader also gets
the link by e-mail once the copy is published; without it, the status page is the only way
back, and the confirmation tells the reader to keep its address.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mura.app.extensions import db, limiter
from mura.app.models import CatalogueRecord
from mura.app.modules.administration import mail
from mura.app.modules.discovery import copy_requests
from mura.app.web.converters import db_int, form_id

bp = Blueprint("requests", __name__)

#: Requests one client address may send (the form is public); ``MURA_COPY_REQUEST_LIMIT``.
DEFAULT_LIMIT = "10 per hour"


class CopyRequestForm(FlaskForm):
    """The public request form."""

    description = TextAreaField(
        _l("Which item do you need?"),
        description=_l("Title, author, year, or where you saw it (a newspaper and its date)."),
        validators=[Optional(), Length(max=5000)],
    )
    reader_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=300)])
    reader_email = EmailField(
        _l("Your email"),
        description=_l("Staff use it only to answer about this request."),
        validators=[DataRequired(), Length(max=300)],
    )
    record_id = HiddenField(validators=[Optional()])


def _limit() -> str:
    return current_app.config.get("COPY_REQUEST_LIMIT") or DEFAULT_LIMIT


def _record_from_args(form: CopyRequestForm) -> CatalogueRecord | None:
    """The record asked for: ``?record=<id>``, ``?external_id=<catalogue id>``, or the form's."""
    record_id = request.args.get("record", type=db_int)
    if record_id is None:
        record_id = form_id(form.record_id.data)
    if record_id is not None:
        return db.session.get(CatalogueRecord, record_id)
    external_id = (request.args.get("external_id") or "").strip()
    if external_id:
        return db.session.scalar(
            select(CatalogueRecord).where(CatalogueRecord.external_id == external_id[:200])
        )
    return None


@bp.route("/requests/new", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def new() -> ResponseReturnValue:
    """The request form; on success, the request's status page."""
    form = CopyRequestForm()
    record = _record_from_args(form)
    if request.method == "GET" and not form.description.data:
        form.description.data = (request.args.get("description") or "")[:500]
    if form.validate_on_submit():
        try:
            created = copy_requests.create_request(
                copy_requests.NewRequest(
                    reader_name=form.reader_name.data or "",
                    reader_email=form.reader_email.data or "",
                    description=form.description.data or "",
                    record_id=record.id if record else None,
                    locale=str(get_locale()),
                )
            )
        except copy_requests.RequestError as exc:
            target = getattr(form, exc.field or "", None) or form.description
            target.errors = [*target.errors, exc.message]
        else:
            if mail.configured():
                flash(
                    _(
                        "Your request is saved. We will send the link to your e-mail address "
                        "when the copy is online; this page shows where it stands."
                    )
                )
            else:
                flash(
                    _(
                        "Your request is saved. Keep the address of this page: it is the only "
                        "way to follow your request (no email is sent)."
                    )
                )
            return redirect(url_for("requests.status", token=created.token))
    if record is not None:
        form.record_id.data = str(record.id)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "public/requests/new.html", form=form, record=record, mail_configured=mail.configured()
    ), status


@bp.route("/requests/<token>")
def status(token: str) -> ResponseReturnValue:
    """Where a request stands; the link to the document once it is published."""
    found = copy_requests.by_token(token) or abort(404)
    response = make_response(
        render_template(
            "public/requests/status.html",
            req=found,
            document=copy_requests.answer_document(found) if found.status == "published" else None,
            mail_configured=mail.configured(),
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
