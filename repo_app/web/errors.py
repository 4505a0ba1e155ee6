"""Error pages: the site's own page in the reader's language, with a way back.

Werkzeug's default error pages are bare English HTML without the menu: a Kazakh reader who
follows a dead link, or a librarian whose form expired, takes them for a broken system. Every
HTTP error goes through :func:`error_response`: the JSON API and IIIF get a small JSON body,
every other URL the site's page (``templates/errors/error.html``), always with the status code
and the headers of the error (``Retry-After``, ``Allow``). Views that answer an error their own
way (the login form's throttle, OAI-PMH's error elements) keep doing so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

#: Title and explanation per status code; others fall back to :data:`GENERIC`.
MESSAGES = {
    400: (_l("The request could not be understood"),
          _l("Something in the address or the form was not as expected. Go back and try again.")),
    401: (_l("Please log in"), _l("Log in first to see this page.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (_l("Page not found"),
          _l("There is no such page here. The address may be mistyped, or the document is not "
             "(or no longer) published.")),
    405: (_l("The request could not be understood"),
          _l("This page cannot be used that way. Go back and try again.")),
    410: (_l("This document was removed"),
          _l("The library deleted this document; it is no longer in the collections. Search the "
             "collections for others.")),
    413: (_l("Too large"), _l("What was sent is larger than this site accepts.")),
    429: (_l("Too many requests"),
          _l("Too many requests came from your address. Wait a minute and try again.")),
    500: (_l("Something went wrong"),
          _l("The site could not answer. Try again in a moment; if it goes on, tell the library.")),
    503: (_l("Not available right now"), _l("The site is busy or being updated. Try again soon.")),
}  # fmt: skip
GENERIC = (_l("Something went wrong"), _l("The page could not be shown."))
CSRF_MESSAGE = (
    _l("The form expired"),
    _l("The form was open too long or sent from another page. Go back, reload it and send it "
       "again: nothing was saved."),
)  # fmt: skip
#: URL prefixes answered in JSON (scripts and viewers, not people).
JSON_PREFIXES = ("/api/", "/iiif/")


def init_app(app: Flask) -> None:
    """Answer every HTTP error with :func:`error_response`."""
    app.register_error_handler(HTTPException, error_response)


def error_response(error: HTTPException) -> Response:
    """The error as the site's page (or JSON for the API and IIIF), with its headers."""
    code = error.code or 500
    title, message = CSRF_MESSAGE if isinstance(error, CSRFError) else MESSAGES.get(code, GENERIC)
    if request.path.startswith(JSON_PREFIXES) or _wants_json():
        response = jsonify(error=code, title=str(title), message=str(message))
    else:
        html = render_template(
            "errors/error.html", code=code, title=title, message=message, back=_back_link()
        )
        response = Response(html, mimetype="text/html")
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and "text/html" not in request.accept_mimetypes


def _back_link() -> str | None:
    """The page the reader came from, when it is a page of this site."""
    referrer = request.referrer
    if not referrer:
        return None
    here, there = urlsplit(request.host_url), urlsplit(referrer)
    if (there.scheme, there.netloc) != (here.scheme, here.netloc) or there.path == request.path:
        return None
    return there.path + (f"?{there.query}" if there.query else "")
