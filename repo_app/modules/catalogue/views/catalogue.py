"""Public catalogue pages: collections with their figures and covers, Dublin Core as JSON."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, send_file
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy import select

from mura.app.core import files, links
from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Collection
from mura.app.modules.catalogue import metadata, records
from mura.app.modules.discovery import thumbnails
from mura.app.modules.rights import visibility

bp = Blueprint("catalogue", __name__)

#: Documents of a collection's page shown with a thumbnail (the first ones, in its order).
COLLECTION_THUMBNAILS = 100


@bp.route("/collections")
def collections() -> str:
    """Every collection with its figures (public documents only)."""
    rows = db.session.scalars(select(Collection).order_by(Collection.title)).all()
    figures = {c.id: records.collection_figures(c.id) for c in rows}
    covers = {c.id: thumbnails.collection_cover(c.id) for c in rows if c.cover_file_id is None}
    return render_template(
        "public/collections.html",
        collections=rows,
        figures=figures,
        covers=covers,
        locale=str(get_locale()),
    )


@bp.route("/collections/<slug>")
def collection(slug: str) -> str:
    """A collection: its description, figures and public documents in their order."""
    row = db.session.scalar(select(Collection).where(Collection.slug == slug)) or abort(404)
    documents = records.collection_documents(row.id)
    thumbs = thumbnails.for_documents(documents[:COLLECTION_THUMBNAILS])
    return render_template(
        "public/collection.html",
        collection=row,
        figures=records.collection_figures(row.id),
        documents=documents,
        thumbs=thumbs,
        cover=None if row.cover_file_id else thumbnails.collection_cover(row.id),
        locale=str(get_locale()),
    )


@bp.route("/collections/<slug>/cover")
def cover(slug: str):
    """The collection's cover image."""
    row = db.session.scalar(select(Collection).where(Collection.slug == slug))
    if row is None or row.cover_file is None:
        abort(404)
    return send_file(files.local_path(row.cover_file), mimetype=row.cover_file.mime, max_age=3600)


@bp.route("/api/documents/<int:document_id>/dc")
def document_dc(document_id: int) -> ResponseReturnValue:
    """Dublin Core of a public document as JSON (404 unless public)."""
    document = visibility.get_listed_document(document_id) or abort(404)
    url = links.external_url("public.document", document_id=document.id)
    return jsonify(
        {
            "document_id": document.id,
            "record_id": document.record_id,
            "dc": metadata.dublin_core(document, url),
        }
    )


@bp.route("/api/records/<int:record_id>/dc")
def record_dc(record_id: int) -> ResponseReturnValue:
    """Dublin Core of a record's public documents as JSON (404 when none is public)."""
    record = db.session.get(CatalogueRecord, record_id) or abort(404)
    public = visibility.listed_ids([d.id for d in record.documents])
    documents = [d for d in record.documents if d.id in public]
    if not documents:
        abort(404)
    return jsonify(
        {
            "record_id": record.id,
            "documents": [
                {
                    "document_id": d.id,
                    "dc": metadata.dublin_core(
                        d, links.external_url("public.document", document_id=d.id)
                    ),
                }
                for d in documents
            ],
        }
    )
