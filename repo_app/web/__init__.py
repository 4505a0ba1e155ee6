"""Blueprints (public, staff, api) and what every response shares: headers, locale, errors."""

from __future__ import annotations

from flask import Flask, Response, request, url_for
from flask_babel import get_locale

from mura.app.core import languages
from mura.app.modules.digitization import job_status
from mura.app.web import caching, errors


def init_app(app: Flask) -> None:
    """Register the blueprints and the app-wide hooks."""
    # First registered, so it runs after every other after_request hook has set its headers
    # (and cookies): validators and 304s of the public site (web/caching.py).
    caching.init_app(app)
    from mura.app.modules.digitization.views import api, staff
    from mura.app.modules.discovery.views import public
    from mura.app.web.converters import DatabaseIntConverter

    app.url_map.converters["int"] = DatabaseIntConverter  # before any rule is added
    app.before_request(_refuse_untrusted_host)  # before the hooks that build URLs
    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp, url_prefix="/staff")
    from mura.app.modules.digitization.views import (
        review as staff_review,  # the document workflow (modules/digitization/workflow.py)
    )

    app.register_blueprint(staff_review.bp, url_prefix="/staff/review")
    from mura.app.modules.digitization.views import articles as staff_articles

    app.register_blueprint(staff_articles.bp, url_prefix="/staff/articles")
    from mura.app.modules.digitization.views import pages as staff_pages

    app.register_blueprint(staff_pages.bp, url_prefix="/staff")  # add, replace, move, remove

    from mura.app.modules.digitization.views import lifecycle as staff_lifecycle

    app.register_blueprint(staff_lifecycle.bp, url_prefix="/staff")  # discard, withdraw, delete
    app.register_blueprint(api.bp, url_prefix="/api")
    _register_catalogue(app)
    _register_accounts(app)
    _register_discovery(app)
    errors.init_app(app)  # the site's own error pages, in the reader's language
    from mura.app.web import limits  # 429 page, per-request bounds of search work

    limits.init_app(app)
    from mura.app.web import cors  # other sites may read public resources

    cors.init_app(app)

    app.add_template_filter(languages.language_name, "language_name")
    # Globals, not context: the macros of _macros.html see them without "with context".
    app.add_template_global(job_status.failure_label, "failure_text")
    app.add_template_global(job_status.job_error, "job_error_text")

    @app.context_processor
    def _globals() -> dict:
        from mura.app.modules.administration import library

        locale = str(get_locale())
        return {
            "current_locale": locale,
            # The library's name and contacts (admin screen, `mura settings`): header, footer.
            "library": library.current(),
            "site_name": library.site_name(locale),
            "languages": app.config["LANGUAGES"],
            "url_with_lang": url_with_lang,
            "language_name": languages.language_name,  # the one table: core/languages.py
            "html_lang": languages.html_lang,
        }

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True)
        return response


def _register_catalogue(app: Flask) -> None:
    """Catalogue records, collections and OAI-PMH (docs/catalogue.md)."""
    from mura.app.modules.catalogue.views import catalogue, oai
    from mura.app.modules.catalogue.views import collections as staff_collections
    from mura.app.modules.catalogue.views import records as staff_records

    app.register_blueprint(staff_records.bp, url_prefix="/staff/records")
    app.register_blueprint(staff_collections.bp, url_prefix="/staff/collections")
    app.register_blueprint(catalogue.bp)
    app.register_blueprint(oai.bp, url_prefix="/oai")


def _register_accounts(app: Flask) -> None:
    """Login, administration, and the access guard of every staff and admin URL.

    The guard is a ``before_request`` of the app, not of a blueprint, so staff blueprints
    registered later (any name starting with ``staff``, any URL under ``/staff``) are covered.
    """
    from mura.app.modules.administration.views import access, admin, auth

    access.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    from mura.app.modules.rights.views import (
        admin as admin_rights,  # contracts and rights (docs/rights.md)
    )

    app.register_blueprint(admin_rights.bp, url_prefix="/admin/rights")
    # annual report, plans, dashboard (docs/report.md)
    from mura.app.modules.administration.views import reports as admin_reports

    app.register_blueprint(admin_reports.bp, url_prefix="/admin/reports")


def _register_discovery(app: Flask) -> None:
    """The reader, IIIF, and readers' requests for digital copies (with their staff queue)."""
    from mura.app.modules.discovery.views import browse, reader, requests, staff_requests

    app.register_blueprint(reader.bp)
    app.register_blueprint(browse.bp)  # /browse: by date, author, subject
    app.register_blueprint(requests.bp)
    app.register_blueprint(staff_requests.bp, url_prefix="/staff/requests")
    from mura.app.modules.preservation.views import alto as alto_views

    app.register_blueprint(alto_views.bp)  # /read/<id>/<seq>/alto.xml, beside the reader


def _refuse_untrusted_host() -> Response | None:
    """A Host outside ``TRUSTED_HOSTS``: a plain 400 that does not repeat it (issue 18).

    Flask finds it while setting up the request but only raises it at dispatch, after the
    ``before_request`` hooks, and those (the staff guard's redirect to the login) build URLs,
    which then fail: a 500. Refusing here first keeps every forged Host a 400.
    """
    from flask_babel import gettext as _
    from werkzeug.exceptions import SecurityError

    if isinstance(request.routing_exception, SecurityError):
        text = _("This site does not answer to that address.")
        return Response(text, status=400, mimetype="text/plain")
    return None


def url_with_lang(code: str) -> str:
    """The current page in another UI language (the choice is then kept in a cookie)."""
    if request.endpoint is None or request.endpoint == "static":
        return url_for("public.index", lang=code)
    args = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **args)
