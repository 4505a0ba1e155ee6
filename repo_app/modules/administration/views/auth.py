"""Log in, log out, change one's password.

Failed logins are limited per account (from any address) and per client address
(``LOGIN_LIMIT_PER_ACCOUNT``, ``LOGIN_LIMIT_PER_IP``); only failures count, so a person who
types the password right is never slowed down. Every refusal reads the same, so the page does not
tell which user names exist.
"""

from __future__ import annotations

import math
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from mura.app.extensions import db, limiter
from mura.app.models import User
from mura.app.modules.administration import accounts, audit
from mura.app.modules.administration.views.access import safe_next
from mura.app.modules.administration.views.auth_forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    """The throttle key of the account being tried, whether or not it exists."""
    return "account:" + accounts.normalise_username(request.form.get("username", ""))[:150]


def _user_key() -> str:
    return f"user:{current_user.get_id() if current_user.is_authenticated else '-'}"


def _login_failed(_response: object) -> bool:
    return bool(g.get("login_failed"))


def _password_failed(_response: object) -> bool:
    return bool(g.get("password_failed"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login() -> ResponseReturnValue:
    """The login form; on success, where the user was going (or the scan jobs)."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data, url_for("staff.jobs")))
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is None:
            _record_failure(form.username.data or "")
            form.form_errors.append(_("Wrong user name or password."))
        else:
            session.clear()  # nothing of the anonymous session is carried into the logged-in one
            login_user(user)
            session.permanent = True  # idle sessions end after PERMANENT_SESSION_LIFETIME
            accounts.record_login(user)
            target = safe_next(form.next.data, url_for("staff.jobs"))
            if user.must_change_password:
                return redirect(url_for(".password", next=target))
            return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, insecure=_cookie_will_be_dropped()), status


def _cookie_will_be_dropped() -> bool:
    """A Secure session cookie over plain HTTP to another machine: browsers will not keep it.

    Then every login "works" and the next page asks again; say why instead.
    """
    if not current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure:
        return False
    host = request.host.rsplit(":", 1)[0].strip("[]")
    return host not in ("localhost", "::1") and not host.startswith("127.")


def _record_failure(username: str) -> None:
    g.login_failed = True  # counted by the throttle after the response
    known = accounts.get_user(username)
    audit.record(
        "auth.login_failed",
        "user",
        known.id if known else None,
        username=accounts.normalise_username(username)[:150],
    )
    db.session.commit()


@bp.errorhandler(TooManyRequests)
def throttled(exc: TooManyRequests) -> ResponseReturnValue:
    """Too many failures: the same words whichever limit was reached."""
    current = limiter.current_limit
    wait_s = max(current.reset_at - time.time(), 60) if current else 15 * 60
    current_app.logger.warning("login throttled for %s (%s)", request.remote_addr, exc.description)
    form = LoginForm()
    form.form_errors.append(
        _(
            "Too many failed attempts. Wait %(minutes)d minutes and try again.",
            minutes=math.ceil(wait_s / 60),
        )
    )
    response = current_app.make_response((render_template("auth/login.html", form=form), 429))
    response.headers["Retry-After"] = str(int(wait_s))
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
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_user_key,
    methods=["POST"],
    deduct_when=_password_failed,
)
def password() -> ResponseReturnValue:
    """Change one's own password (required after an administrator's reset)."""
    form = PasswordForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        try:
            accounts.change_own_password(
                user, form.current_password.data or "", form.new_password.data or ""
            )
        except accounts.AccountError as exc:
            db.session.rollback()
            g.password_failed = exc.field == "current_password"
            target = getattr(form, exc.field or "", None) or form.new_password
            target.errors = [*target.errors, exc.message]
        else:
            login_user(user)  # the session token changed: this session goes on, others end
            session.permanent = True
            flash(_("Your password was changed."))
            return redirect(safe_next(form.next.data, url_for("staff.jobs")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status
