"""Rate limits of the public site (search, the reader, images, downloads) and bounded work.

One shared bucket per kind, so a scraper cannot double its share by switching from ``/search``
to ``/api/search`` or to the reader with a query (``/read/...?q=``): every view that runs a query
counts in the search bucket. Staff (logged in) are not limited. The limits are settings
(``SEARCH_RATE_LIMIT``, ``IMAGE_RATE_LIMIT``, ``DOWNLOAD_RATE_LIMIT``); the counters live where
``RATELIMIT_STORAGE_URI`` says: memory for one web process (the embedded default), Redis when
several web processes or machines must share them. The limiter is the app's one instance
(``mura.app.extensions.limiter``), also used by the login throttle.

A limited request gets a translated 429 page (JSON for the API and IIIF) with ``Retry-After``.
:func:`init_app` also gives every request its budget of near-miss lookups
(:func:`mura.app.search.fuzzy.request_budget`), so one request's search work is bounded however
many times it runs the fuzzy fallback.
"""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from mura.app.extensions import limiter
from mura.app.search import fuzzy


def _is_staff() -> bool:
    return bool(current_user and current_user.is_authenticated)


def _no_query() -> bool:
    """Staff, or a reader page without a query (reading, not searching: not counted)."""
    return _is_staff() or not (request.args.get("q") or "").strip()


#: Decorator for views that search the public documents.
search = limiter.shared_limit(
    lambda: current_app.config["SEARCH_RATE_LIMIT"], scope="public-search", exempt_when=_is_staff
)
#: Decorator for reader views: counted in the search bucket when they are asked a query.
reader_search = limiter.shared_limit(
    lambda: current_app.config["SEARCH_RATE_LIMIT"], scope="public-search", exempt_when=_no_query
)
#: Decorator for page images (thumbnails, the page, zoom steps: rendered on a first request).
image = limiter.shared_limit(
    lambda: current_app.config["IMAGE_RATE_LIMIT"], scope="page-image", exempt_when=_is_staff
)
#: Decorator for views that send a document's file (PDF).
download = limiter.shared_limit(
    lambda: current_app.config["DOWNLOAD_RATE_LIMIT"], scope="download", exempt_when=_is_staff
)


def init_app(app: Flask) -> None:
    """Register the 429 answer and the per-request budget of near-miss lookups."""
    app.register_error_handler(TooManyRequests, too_many_requests)

    @app.before_request
    def _lookup_budget() -> None:
        g.mura_lookup_budget = fuzzy.request_budget()

    @app.teardown_request
    def _end_lookup_budget(_exc: BaseException | None) -> None:
        token = g.pop("mura_lookup_budget", None)
        if token is not None:
            fuzzy.end_request_budget(token)


def too_many_requests(exc: TooManyRequests) -> ResponseReturnValue:
    """The answer to a limited request: a page in the reader's language, JSON for scripts."""
    message = _("Too many requests from your address. Please wait a minute and try again.")
    if request.blueprint == "api" or request.path.startswith("/iiif/"):
        return jsonify({"error": message}), 429
    return render_template("public/too_many_requests.html", message=message), 429
