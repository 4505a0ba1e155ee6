"""The OAI-PMH 2.0 endpoint at ``/oai`` (GET and POST), for national aggregators to harvest."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, current_app, request

from mura.app.core import links
from mura.app.extensions import csrf
from mura.app.modules.administration import library
from mura.app.modules.catalogue import oai

bp = Blueprint("oai", __name__)
csrf.exempt(bp)  # OAI-PMH allows POST of the same read-only arguments; no session state here


@bp.route("", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer one OAI-PMH request; errors are OAI error elements in a 200 response."""
    args = request.form if request.method == "POST" else request.args
    settings = oai.Settings.from_config(current_app.config, links.external_url("oai.endpoint"))
    # The library's own name and address (admin screen "Library"), before MURA_OAI_*. The name
    # in the default interface language (Kazakh), whoever asks: a harvester keeps one name, and
    # a shared cache may hand this XML to anyone (it does not vary by language, as pages do).
    info = library.current()
    if info.has_name:
        default = current_app.config["BABEL_DEFAULT_LOCALE"]
        settings = replace(settings, repository_name=info.name(default))
    if info.email:
        settings = replace(settings, admin_email=info.email)
    body = oai.respond(
        {name: args.getlist(name) for name in args},
        settings,
        lambda document_id: links.external_url("public.document", document_id=document_id),
    )
    return Response(body, mimetype="text/xml", content_type="text/xml; charset=utf-8")
