"""Administration: user accounts, branches and the audit log (administrators only).

Access is checked centrally (``repo_app/modules/administration/views/access.py``): everything under
``/admin`` is
refused to anyone who is not an administrator before these views run.

A password an administrator obtains (a new account's, or a reset) is shown once on the response
page itself — never flashed, since flashed messages travel in the session cookie — and must be
changed by its user at the next login.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mura.app.extensions import db
from mura.app.models import Branch, User
from mura.app.modules.administration import accounts, audit, audit_text, library, mail
from mura.app.modules.administration.views.forms import (
    ROLE_LABELS,
    AuditSearchForm,
    BranchForm,
    ConfirmForm,
    LibraryForm,
    UserCreateForm,
    UserEditForm,
)
from mura.app.web.converters import db_int

bp = Blueprint("admin", __name__)


@bp.app_template_filter("compact_json")
def compact_json(value: object) -> str:
    """Audit details as JSON a person can read: Cyrillic stays Cyrillic (escaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    """An audit event's action as a sentence in the reader's language."""
    return audit_text.action_text(action)


@bp.app_template_filter("audit_object")
def audit_object(object_type: str | None) -> str:
    """An audit event's object type in words."""
    return audit_text.object_text(object_type)


@bp.app_template_filter("audit_details")
def audit_details(data: object, action: str = "") -> list[audit_text.Detail]:
    """An audit event's details as labelled fields."""
    return audit_text.details(data, action)


@bp.app_template_filter("audit_actor")
def audit_actor(username: str | None) -> str:
    """Who did an audited action, in words."""
    return audit_text.actor_text(username)


def _branch_choices(form: UserEditForm) -> None:
    locale = str(get_locale())
    form.branch.choices = [SelectChoice("", "—")] + [
        SelectChoice(b.code, b.name_in(locale)) for b in accounts.list_branches()
    ]


def _chosen_branch(form: UserEditForm) -> Branch | None:
    return accounts.get_branch(form.branch.data) if form.branch.data else None


def _form_error(form: object, exc: accounts.AccountError, default: str) -> None:
    db.session.rollback()
    target = getattr(form, exc.field or "", None) or getattr(form, default)
    target.errors = [*target.errors, exc.message]


# --- users ---------------------------------------------------------------------------------------


@bp.route("/")
@bp.route("/users")
def users() -> str:
    """Every account with its role, branch and last login."""
    return render_template(
        "admin/users.html", users=accounts.list_users(), roles=ROLE_LABELS, confirm=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    """Create an account; its generated password is shown once."""
    form = UserCreateForm()
    _branch_choices(form)
    if form.validate_on_submit():
        try:
            user, password = accounts.create_user(
                form.username.data or "",
                form.role.data,
                _chosen_branch(form),
                display_name=form.display_name.data or "",
                email=form.email.data or "",
                notify_by_email=bool(form.notify_by_email.data),
            )
        except accounts.AccountError as exc:
            _form_error(form, exc, "username")
        else:
            return render_template("admin/password_shown.html", user=user, password=password)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/user_form.html", form=form, user=None, roles=ROLE_LABELS,
        mail_configured=mail.configured(),
    ), status  # fmt: skip


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> ResponseReturnValue:
    """Change an account's name, role, branch or state."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserEditForm()
    _branch_choices(form)
    if request.method == "GET":
        form.display_name.data = user.display_name
        form.role.data = user.role
        form.branch.data = user.branch.code if user.branch else ""
        form.active.data = user.active
        form.email.data = user.email
        form.notify_by_email.data = user.notify_by_email
    if form.validate_on_submit():
        try:
            changed = accounts.update_user(
                user,
                role=form.role.data,
                branch=_chosen_branch(form),
                active=bool(form.active.data),
                display_name=form.display_name.data or "",
                email=form.email.data or "",
                notify_by_email=bool(form.notify_by_email.data),
            )
        except accounts.AccountError as exc:
            _form_error(form, exc, "role")
        else:
            if changed:
                flash(_("Account %(name)s saved.", name=user.username))
            return redirect(url_for(".users"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        roles=ROLE_LABELS,
        confirm=ConfirmForm(),
        mail_configured=mail.configured(),
    ), status


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give the user a temporary password (shown once here) and end their sessions."""
    user = db.session.get(User, user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = accounts.reset_password(user, actor=current_user._get_current_object())
    return render_template("admin/password_shown.html", user=user, password=password, reset=True)


# --- branches ------------------------------------------------------------------------------------


@bp.route("/branches")
def branches() -> str:
    """The libraries of the system, with how many accounts each has."""
    rows = accounts.list_branches()
    counts = {b.id: 0 for b in rows}
    for user in accounts.list_users():
        if user.branch_id in counts:
            counts[user.branch_id] += 1
    return render_template("admin/branches.html", branches=rows, counts=counts)


@bp.route("/branches/new", methods=["GET", "POST"])
def new_branch() -> ResponseReturnValue:
    """Add a branch library."""
    form = BranchForm()
    if form.validate_on_submit():
        try:
            accounts.create_branch(
                form.code.data or "",
                form.name_kk.data or "",
                form.name_ru.data or "",
                form.name_en.data or "",
                bool(form.is_central.data),
            )
        except accounts.AccountError as exc:
            _form_error(form, exc, "code")
        else:
            flash(_("Branch %(code)s added.", code=(form.code.data or "").strip().lower()))
            return redirect(url_for(".branches"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/branch_form.html", form=form, branch=None), status


@bp.route("/branches/<int:branch_id>", methods=["GET", "POST"])
def edit_branch(branch_id: int) -> ResponseReturnValue:
    """Change a branch's names or central flag (its code stays)."""
    branch = db.session.get(Branch, branch_id) or abort(404)
    form = BranchForm(obj=branch)
    form.code.data = branch.code  # shown, never changed
    if form.validate_on_submit():
        try:
            accounts.update_branch(
                branch,
                name_kk=form.name_kk.data or "",
                name_ru=form.name_ru.data or "",
                name_en=form.name_en.data or "",
                is_central=bool(form.is_central.data),
            )
        except accounts.AccountError as exc:
            _form_error(form, exc, "name_kk")
        else:
            flash(_("Branch %(code)s saved.", code=branch.code))
            return redirect(url_for(".branches"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/branch_form.html", form=form, branch=branch), status


# --- the library itself ----------------------------------------------------------------------


@bp.route("/library", methods=["GET", "POST"])
def library_settings() -> ResponseReturnValue:
    """The library's name in kk/ru/en, address and contacts: header, footer, OAI-PMH, IIIF."""
    form = LibraryForm()
    if request.method == "GET":
        info = library.load()
        for key in library.KEYS:
            getattr(form, key).data = getattr(info, key)
    if form.validate_on_submit():
        try:
            changed = library.update({key: getattr(form, key).data or "" for key in library.KEYS})
        except library.SettingsError as exc:
            db.session.rollback()
            target = getattr(form, exc.field or "", None) or form.name_kk
            target.errors = [*target.errors, exc.message]
        else:
            flash(_("The library's settings are saved.") if changed else _("Nothing changed."))
            return redirect(url_for(".library_settings"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/library.html", form=form, mail_configured=mail.configured(),
        mail_sender=mail.sender(), recent_mail=mail.recent(), confirm=ConfirmForm(),
    ), status  # fmt: skip


@bp.route("/library/test-mail", methods=["POST"])
def test_mail() -> ResponseReturnValue:
    """Send a test message to the administrator's own address: is SMTP set up right?"""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user: User = current_user._get_current_object()
    if not mail.configured():
        flash(_("Mail is not configured (MURA_SMTP_HOST): no notice is sent until it is."))
    elif not user.email:
        flash(_("Your account has no e-mail address: add one on your user screen first."))
    else:
        mail.queue_mail("test", user.email, str(get_locale()), "test", user=user)
        audit.record("library.test_mail", "library", None, to=user.email)
        db.session.commit()
        flash(
            _(
                "A test message to %(address)s is queued; a worker sends it. If it does not "
                "arrive, Admin → Library lists the last messages with their errors.",
                address=user.email,
            )
        )
    return redirect(url_for(".library_settings"))


# --- audit log -----------------------------------------------------------------------------------


@bp.route("/audit")
def audit_log() -> ResponseReturnValue:
    """Search the audit log by user, action, object and dates; newest first, paginated."""
    form = AuditSearchForm(request.args)
    form.object_type.choices = [SelectChoice("", "—")] + [
        SelectChoice(t, audit_text.object_text(t)) for t in audit.object_types()
    ]
    form.action.choices = [SelectChoice(c, label) for c, label in audit_text.action_choices()]
    valid = form.validate()
    filters = audit.Filters()
    if valid:
        filters = audit.Filters(
            username=form.username.data or "",
            action=form.action.data or "",
            object_type=form.object_type.data or "",
            object_id=form.object_id.data or "",
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    tz_name = str(get_timezone())  # dates are searched and shown in the interface's time zone
    events = db.paginate(
        audit.query(filters, tz_name), page=page, per_page=audit.PER_PAGE, error_out=False
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    status = 200 if valid else 400
    return render_template(
        "admin/audit.html", form=form, events=events, args=args, tz_name=tz_name
    ), status
