"""Log in, log out, change one's password.

Failed logins slow down each account (a growing delay, no lock-out) and are limited per client
address (:mod:`.administration.login_throttle`); only failures count, so a person who types the
password right is never slowed down. Every refusal reads the same, so the page does not tell
which user names exist.
"""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from mura.app.extensions import db, limiter
from mura.app.models import User
from mura.app.modules.administration import accounts, audit, login_throttle, mail, password_reset
from mura.app.modules.administration.views.access import safe_next
from mura.app.modules.administration.views.auth_forms import (
    ForgotForm,
    LoginForm,
    PasswordForm,
    ResetForm,
)

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    """The throttle key of the account being tried, whether or not it exists."""
    return "account:" + accounts.normalise_username(request.form.get("username", ""))[:150]


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; on success, where the user was going (or the scan jobs)."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data, url_for("staff.jobs")))
    if form.validate_on_submit():
        attempt = login_throttle.begin(_account_key(), get_remote_address())
        if isinstance(attempt, login_throttle.Refused):
            return _throttled(attempt.wait_s, "auth/login.html", LoginForm())
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is None:
            attempt.failed()
            _record_failure(form.username.data or "")
            form.form_errors.append(_("Wrong user name or password."))
        else:
            attempt.succeeded()
            session.clear()  # nothing of the anonymous session is carried into the logged-in one
            login_user(user)
            session.permanent = True  # idle sessions end after PERMANENT_SESSION_LIFETIME
            accounts.record_login(user, str(get_locale()))
            target = safe_next(form.next.data, url_for("staff.jobs"))
            if user.must_change_password:
                return redirect(url_for(".password", next=target))
            return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/login.html", form=form, insecure=_cookie_will_be_dropped(),
        mail_configured=mail.configured(),
    ), status  # fmt: skip


def _cookie_will_be_dropped() -> bool:
    """A Secure session cookie over plain HTTP to another machine: browsers will not keep it.

    Then every login "works" and the next page asks again; say why instead.
    """
    if not current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure:
        return False
    host = request.host.rsplit(":", 1)[0].strip("[]")
    return host not in ("localhost", "::1") and not host.startswith("127.")


def _record_failure(username: str) -> None:
    known = accounts.get_user(username)
    audit.record(
        "auth.login_failed",
        "user",
        known.id if known else None,
        username=accounts.normalise_username(username)[:150],
    )
    db.session.commit()


def _throttled(wait_s: int, template: str, form: LoginForm | PasswordForm) -> ResponseReturnValue:
    """Too many failures: the same words whichever limit was reached, and how long to wait."""
    current_app.logger.warning("login throttled for %s (%d s)", request.remote_addr, wait_s)
    if wait_s >= 120:
        message = _(
            "Too many failed attempts. Wait %(minutes)d minutes and try again.",
            minutes=math.ceil(wait_s / 60),
        )
    else:
        message = _(
            "Too many failed attempts. Wait %(seconds)d seconds and try again.", seconds=wait_s
        )
    if isinstance(form, PasswordForm):  # its page shows the errors of its fields
        form.current_password.errors = [*form.current_password.errors, message]
    else:
        form.form_errors.append(message)
    response = current_app.make_response((render_template(template, form=form), 429))
    response.headers["Retry-After"] = str(wait_s)
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Log out; the session token changes, so a copy of the cookie is worthless too."""
    if current_user.is_authenticated:
        user: User = current_user._get_current_object()
        audit.record("auth.logout", "user", user.id, actor=user)
        user.session_token = accounts.new_session_token()
        db.session.commit()
        logout_user()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("public.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    """Change one's own password (required after an administrator's reset)."""
    form = PasswordForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        attempt = login_throttle.begin(f"user:{user.id}", get_remote_address())
        if isinstance(attempt, login_throttle.Refused):
            return _throttled(attempt.wait_s, "auth/password.html", form)
        try:
            accounts.change_own_password(
                user, form.current_password.data or "", form.new_password.data or ""
            )
        except accounts.AccountError as exc:
            db.session.rollback()
            if exc.field == "current_password":
                attempt.failed()
            else:
                attempt.succeeded()  # the current password was right: not a guess
            target = getattr(form, exc.field or "", None) or form.new_password
            target.errors = [*target.errors, exc.message]
        else:
            attempt.succeeded()
            login_user(user)  # the session token changed: this session goes on, others end
            session.permanent = True
            flash(_("Your password was changed."))
            return redirect(safe_next(form.next.data, url_for("staff.jobs")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


# --- "forgot password": a link by e-mail (administration/password_reset.py) -------------------


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_LIMIT"]


@bp.route("/login/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether an account has the address."""
    if not mail.configured():  # nothing to send it with: say who can help instead
        return render_template("auth/forgot.html", form=None)
    form = ForgotForm()
    if form.validate_on_submit():
        password_reset.request_reset(form.email.data or "", str(get_locale()))
        flash(
            _(
                "If an account has this address, a link to set a new password is on its way. "
                "It works once, for %(minutes)d minutes.",
                minutes=current_app.config["PASSWORD_RESET_MINUTES"],
            )
        )
        return redirect(url_for(".login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password through the link of a reset mail (once, before it expires)."""
    try:
        user = password_reset.user_for_token(token)
    except password_reset.ResetError as exc:
        return render_template("auth/reset.html", form=None, error=exc.message), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            password_reset.reset(token, form.new_password.data or "")
        except password_reset.ResetError as exc:
            db.session.rollback()
            if exc.field is None:
                return render_template("auth/reset.html", form=None, error=exc.message), 400
            form.new_password.errors = [*form.new_password.errors, exc.message]
        else:
            session.clear()
            flash(_("Your password was changed. Log in with it."))
            return redirect(url_for(".login"))
    status = 400 if request.method == "POST" else 200
    response = current_app.make_response(
        (render_template("auth/reset.html", form=form, error=None, user=user), status)
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is a key: never pass it on
    return response
