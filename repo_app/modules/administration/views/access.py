"""Who may reach which screen, decided in one place for every blueprint.

The rules, checked before any view runs (:func:`guard`), so a blueprint added later is covered
without doing anything:

- the staff area — every blueprint whose name starts with ``staff``, every URL under ``/staff``,
  and the job API under ``/api/jobs`` — needs a logged-in user: ``admin`` and ``staff`` may do
  everything there, ``reviewer`` may only read (GET) unless a view says otherwise with
  :func:`allow_roles` (the review decisions: approve and return, ``blueprints.staff_review``,
  which in turn staff may not POST);
- the ``admin`` blueprint (and any named ``admin_*``) and everything under ``/admin`` is for
  administrators only;
- a user whose password was reset must change it before anything else.

Anonymous visitors are sent to the login page (HTML) or get 401 (JSON); a wrong role gets 403.
Finer rules that depend on the object (a job of another branch) are checked by the views with
helpers such as :func:`can_modify_job` and :func:`can_read_job_files`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mura.app.extensions import db, login_manager
from mura.app.models import ScanJob, User
from mura.app.modules.administration import permissions

#: URL prefixes of the areas (a path equal to the prefix or below it).
STAFF_PREFIXES = ("/staff", "/api/jobs")
ADMIN_PREFIXES = ("/admin",)
#: Methods that change nothing; reviewers may use only these in the staff area by default.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable)


def allow_roles(*roles: str) -> Callable[[F], F]:
    """Let these roles (and ``admin``) use a staff view with any method.

    For example a review screen where reviewers approve pages::

        @bp.route("/review/<int:page_id>", methods=["POST"])
        @allow_roles("reviewer", "staff")
        def approve(page_id): ...
    """

    def mark(view: F) -> F:
        view._mura_roles = frozenset({"admin", *roles})
        return view

    return mark


def area_of_request() -> str | None:
    """``"admin"``, ``"staff"`` or None (public) for the current request."""
    blueprint = request.blueprint or ""
    paths = [request.path]
    if request.url_rule is not None:
        paths.append(request.url_rule.rule)
    if _admin_blueprint(blueprint) or any(_under(p, ADMIN_PREFIXES) for p in paths):
        return "admin"
    if blueprint.startswith("staff") or any(_under(p, STAFF_PREFIXES) for p in paths):
        return "staff"
    return None


def _admin_blueprint(name: str) -> bool:
    return name == "admin" or name.startswith("admin_")


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def guard() -> Response | None:
    """The before-request check of every request (see the module docstring)."""
    area = area_of_request()
    if area is None:
        return None
    g.mura_area = area
    if not current_user.is_authenticated:
        return _unauthenticated()
    user: User = current_user
    if user.must_change_password:
        return _password_change_required()
    if not _role_allows(user, area):
        return _forbidden()
    return None


def _role_allows(user: User, area: str) -> bool:
    if user.is_admin:
        return True
    if area == "admin":
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    declared = getattr(view, "_mura_roles", None)
    if declared is not None:
        return user.role in declared
    if user.role == "staff":
        return True
    return user.role == "reviewer" and request.method in SAFE_METHODS


def wants_json() -> bool:
    """API and ``.json`` URLs, and clients that ask for JSON, get JSON errors."""
    return (
        request.path.startswith("/api/")
        or request.path.endswith(".json")
        or request.accept_mimetypes.best == "application/json"
    )


def _unauthenticated() -> Response:
    if wants_json():
        return _json_error(401, _("Log in first."))
    flash(_("Please log in to see this page."))
    return redirect(url_for("auth.login", next=_here()))


def _password_change_required() -> Response:
    if wants_json():
        return _json_error(403, _("Change your password first."))
    return redirect(url_for("auth.password", next=_here()))


def _forbidden() -> Response:
    if wants_json():
        return _json_error(403, _("Your role does not allow this."))
    abort(403)


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _here() -> str:
    """The current path and query, to come back to after logging in."""
    return request.full_path.rstrip("?") if request.query_string else request.path


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default  # browsers drop tabs and newlines: "/\t/evil.example" is "//evil.example"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def can_modify_job(user: User, job: ScanJob) -> bool:
    """Staff change their own branch's jobs (and jobs of no branch); administrators any.

    A job is its document's: the rule is :func:`.administration.permissions.can_edit`.
    """
    return permissions.can_edit(user, job.document)


def can_read_job_files(user: User, job: ScanJob) -> bool:
    """The page files of a job: everyone of the staff area, whatever the branch.

    The same rule as the document's PDF (``services.permissions.can_read``): staff read every
    branch's documents and change only their own.
    """
    return permissions.can_read(user, job.document)


def _no_store(response: Response) -> Response:
    """Staff pages stay out of shared caches and the back button of a library's public PC."""
    if g.get("mura_area") or request.blueprint == "auth":
        response.headers["Cache-Control"] = "no-store"
    return response


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the session holds ``<id>:<session token>`` (see ``User.get_id``)."""
    ident, _sep, token = user_id.partition(":")
    if not ident.isdigit() or not token:
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None  # the password was reset or changed elsewhere, or the account deactivated
    return user


def init_app(app: Flask) -> None:
    """Session cookie settings, the user loader, and the guard before every request."""
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    # Sessions are permanent (PERMANENT_SESSION_LIFETIME ends idle ones), and Flask-Login's
    # "strong" mode acts like "basic" on permanent sessions; logout and password changes end
    # sessions by replacing the user's session token instead.
    login_manager.session_protection = "basic"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.localize_callback = str  # the session keeps plain strings, not lazy ones
    login_manager.user_loader(load_user)

    app.url_value_preprocessor(_fresh_request_state)  # runs before every before_request
    app.before_request(guard)
    app.after_request(_no_store)


#: What lives in ``g`` but belongs to one request: Flask-Login's loaded user, Flask-WTF's token,
#: our own flags.
_REQUEST_KEYS = ("_login_user", "csrf_token", "mura_area", "login_failed", "password_failed")


def _fresh_request_state(_endpoint: str | None, _values: dict | None) -> None:
    """Forget the previous request's user and flags.

    ``g`` belongs to the app context, and a request only makes a new one when none is active.
    Where an app context outlives requests (the test fixtures hold one open; a script serving
    requests inside ``with app.app_context()`` would too), the user loaded for one request would
    otherwise be the user of the next, whoever sends it.
    """
    for key in _REQUEST_KEYS:
        g.pop(key, None)
