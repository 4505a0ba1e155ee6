"""ALTO 4 of a page over HTTP: ``/read/<document_id>/<seq>/alto.xml``.

Who may have it is who may read the page's text in the reader (the same check,
``reader._document``: the public for documents online, the reading room's networks for its
documents, staff for everything); others get 404, as for the page.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from flask.typing import ResponseReturnValue

from mura.app.modules.discovery import reader
from mura.app.modules.discovery.views import reader as reader_views
from mura.app.modules.preservation import alto

bp = Blueprint("alto", __name__)


@bp.route("/read/<int:document_id>/<int:seq>/alto.xml")
def page_alto(document_id: int, seq: int) -> ResponseReturnValue:
    """The page's words and their boxes as ALTO 4 XML (404 for a page without OCR)."""
    document, _staff = reader_views._document(document_id)
    page = reader.finished_page(document.id, seq) or abort(404)
    try:
        data = alto.page_alto(page)
    except alto.AltoError as exc:
        current_app.logger.error("page %s: no ALTO: %s", page.id, exc)
        abort(404)
    if data is None:
        abort(404)
    response = Response(data, mimetype="application/xml")
    response.headers["Content-Disposition"] = (
        f'inline; filename="mura-{document.id}-{seq:04d}.alto.xml"'
    )
    return reader_views._shared_cache(response, document, max_age=300)  # a re-OCR changes it
