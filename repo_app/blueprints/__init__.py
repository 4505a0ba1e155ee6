"""Blueprints (public, staff, api) and what every response shares: headers, locale, errors."""

from __future__ import annotations

from flask import Flask, Response, request, url_for
from flask_babel import get_locale


def init_app(app: Flask) -> None:
    """Register the blueprints and the app-wide hooks."""
    from repo_app.blueprints import api, public, staff

    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp, url_prefix="/staff")
    from repo_app.blueprints import staff_review  # the document workflow (services/workflow.py)

    app.register_blueprint(staff_review.bp, url_prefix="/staff/review")
    app.register_blueprint(api.bp, url_prefix="/api")
    _register_catalogue(app)
    _register_accounts(app)
    _register_discovery(app)
    from repo_app.blueprints import cors  # other sites may read public resources

    cors.init_app(app)

    @app.context_processor
    def _globals() -> dict:
        return {
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "url_with_lang": url_with_lang,
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
    from repo_app.blueprints import catalogue, oai, staff_collections, staff_records

    app.register_blueprint(staff_records.bp, url_prefix="/staff/records")
    app.register_blueprint(staff_collections.bp, url_prefix="/staff/collections")
    app.register_blueprint(catalogue.bp)
    app.register_blueprint(oai.bp, url_prefix="/oai")


def _register_accounts(app: Flask) -> None:
    """Login, administration, and the access guard of every staff and admin URL.

    The guard is a ``before_request`` of the app, not of a blueprint, so staff blueprints
    registered later (any name starting with ``staff``, any URL under ``/staff``) are covered.
    """
    from repo_app.blueprints import access, admin, auth

    access.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    from repo_app.blueprints import admin_rights  # contracts and rights (docs/rights.md)

    app.register_blueprint(admin_rights.bp, url_prefix="/admin/rights")
    from repo_app.blueprints import (
        admin_reports,  # annual report, plans, dashboard (docs/report.md)
    )

    app.register_blueprint(admin_reports.bp, url_prefix="/admin/reports")


def _register_discovery(app: Flask) -> None:
    """The reader, IIIF, and readers' requests for digital copies (with their staff queue)."""
    from repo_app.blueprints import reader, requests, staff_requests

    app.register_blueprint(reader.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(staff_requests.bp, url_prefix="/staff/requests")


def url_with_lang(code: str) -> str:
    """The current page in another UI language (the choice is then kept in a cookie)."""
    if request.endpoint is None or request.endpoint == "static":
        return url_for("public.index", lang=code)
    args = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **args)
