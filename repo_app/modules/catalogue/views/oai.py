"""The OAI-PMH 2.0 endpoint at ``/oai`` (GET and POST), for national aggregators to harvest."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for

from mura.app.extensions import csrf
from mura.app.modules.catalogue import oai

bp = Blueprint("oai", __name__)
csrf.exempt(bp)  # OAI-PMH allows POST of the same read-only arguments; no session state here


@bp.route("", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer one OAI-PMH request; errors are OAI error elements in a 200 response."""
    args = request.form if request.method == "POST" else request.args
    settings = oai.Settings.from_config(current_app.config, url_for("oai.endpoint", _external=True))
    body = oai.respond(
        {name: args.getlist(name) for name in args},
        settings,
        lambda document_id: url_for("public.document", document_id=document_id, _external=True),
    )
    return Response(body, mimetype="text/xml", content_type="text/xml; charset=utf-8")
