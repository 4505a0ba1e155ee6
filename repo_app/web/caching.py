"""HTTP caching of the public site: validators, ``Cache-Control``, ``Vary`` and 304 answers.

A reader's browser, a library's proxy or a CDN may keep what every reader gets alike; a second
request for an unchanged page then costs a ``304 Not Modified`` without the body. What is kept:

- every ``GET``/``HEAD`` 200 of the public site that is the same for everyone who sends the
  same cookies and languages: it gets an ``ETag`` (a hash of the body, unless the view set one,
  as ``send_file`` does for images and PDFs) and, unless the view said otherwise,
  ``Cache-Control: public, max-age=0, must-revalidate`` (kept, but asked about every time);
- a page (HTML) depends on the UI language, which comes from ``?lang=``, the ``lang`` cookie
  or ``Accept-Language``: ``Vary: Cookie, Accept-Language`` says so to shared caches; data
  (IIIF manifests hold every language, images, PDFs) is the same for everyone.

What is never kept by a shared cache: anything a logged-in person sees (``private``), what a
view marked ``no-store`` (staff screens, rights-restricted documents, copy-request tokens), and
a response that sets a cookie.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user


def init_app(app: Flask) -> None:
    """Answer revalidations of the public site with 304 (see the module docstring)."""
    app.after_request(conditional)


def conditional(response: Response) -> Response:
    """Add validators and caching headers to a shareable answer; 304 when it is unchanged."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if current_user.is_authenticated:
        response.cache_control.private = True
        response.vary.add("Cookie")
        return response
    if response.cache_control.no_store or response.cache_control.private:
        return response
    if "Set-Cookie" in response.headers:
        response.cache_control.private = True
        return response
    if not response.cache_control.public and response.cache_control.max_age is None:
        response.cache_control.public = True
        response.cache_control.max_age = 0
        response.cache_control.must_revalidate = True
    if response.mimetype == "text/html":  # pages are in the reader's language; data is not
        response.vary.update(("Cookie", "Accept-Language"))
    if response.get_etag()[0] is None and not (response.direct_passthrough or response.is_streamed):
        response.add_etag()
    return response.make_conditional(request)
