"""Staff screens of collections: titles in three languages, cover, owner branch, item order."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import Collection, Document, User
from mura.app.modules.administration import permissions
from mura.app.modules.catalogue import records
from mura.app.modules.catalogue.views.forms import CollectionForm, CollectionItemForm

bp = Blueprint("staff_collections", __name__)


@bp.route("/")
def index() -> str:
    """Every collection with its figures (all its documents, published or not)."""
    rows = db.session.scalars(select(Collection).order_by(Collection.title)).all()
    figures = {c.id: records.collection_figures(c.id, public_only=False) for c in rows}
    return render_template("staff/collections/index.html", collections=rows, figures=figures)


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    """Create a collection."""
    return _edit(None)


@bp.route("/<int:collection_id>/edit", methods=["GET", "POST"])
def edit(collection_id: int) -> ResponseReturnValue:
    """Change a collection's titles, description, branch or cover."""
    collection = _editable(collection_id) if request.method == "POST" else None
    return _edit(collection or db.session.get(Collection, collection_id) or abort(404))


def _editable(collection_id: int) -> Collection:
    """The collection, if the user may change it: 404 when there is none, 403 another branch's."""
    collection = db.session.get(Collection, collection_id) or abort(404)
    if not permissions.can_edit_collection(_user(), collection):
        abort(403)  # another branch's collection: its own staff keep it
    return collection


def _user() -> User:
    return current_user._get_current_object()


def _edit(collection: Collection | None) -> ResponseReturnValue:
    form = CollectionForm(obj=collection)
    if collection is not None and request.method == "GET":
        form.cover_document.data = collection.cover_document_id
        form.cover_page.data = collection.cover_seq
    if form.validate_on_submit():
        cover_error = _cover_page_error(collection, form.cover_document.data, form.cover_page.data)
        if cover_error:
            form.cover_document.errors = [*form.cover_document.errors, cover_error]
        clash = db.session.scalar(select(Collection).where(Collection.slug == form.slug.data))
        if cover_error:
            pass
        elif clash is not None and clash is not collection:
            form.slug.errors = [*form.slug.errors, _("Another collection has this name.")]
        elif not permissions.can_own_collection(_user(), form.branch.data or ""):
            form.branch.errors = [
                *form.branch.errors,
                _("Name your own branch (or none): another branch keeps its own collections."),
            ]
        else:
            target = collection or Collection(slug=form.slug.data, title="")
            slug = " ".join((form.slug.data or "").split())
            renamed = collection is not None and collection.slug != slug
            for name in ("slug", "title", "title_kk", "title_ru", "title_en", "branch"):
                setattr(target, name, " ".join((getattr(form, name).data or "").split()))
            target.description = (form.description.data or "").strip()
            target.cover_document_id = form.cover_document.data
            target.cover_seq = form.cover_page.data if form.cover_document.data else None
            cover = request.files.get("cover")
            try:
                if cover and cover.filename:
                    try:
                        records.save_cover(target, cover.stream, cover.filename)
                    finally:
                        cover.close()
            except ValueError as exc:
                db.session.rollback()
                form.cover.errors = [*form.cover.errors, str(exc)]
            else:
                db.session.add(target)
                if renamed:  # the search index names the collection by its slug
                    records.reindex_members(target.id)
                db.session.commit()
                flash(_("Collection saved."))
                return redirect(url_for(".show", collection_id=target.id))
    status = 400 if request.method == "POST" else 200
    template = "staff/collections/form.html"
    return render_template(template, form=form, collection=collection), status


def _cover_page_error(
    collection: Collection | None, document_id: int | None, seq: int | None
) -> str:
    """Why a chosen cover page cannot be the collection's cover, or "" when it can."""
    if document_id is None:
        return ""
    document = db.session.get(Document, document_id)
    if document is None or collection is None or collection not in document.collections:
        return _("Choose a document of this collection for the cover.")
    if seq is not None and seq > document.page_count:
        return ngettext(
            "That document has %(num)d page.",
            "That document has %(num)d pages.",
            document.page_count,
        )
    return ""


@bp.route("/<int:collection_id>")
def show(collection_id: int) -> str:
    """A collection's documents in order, with their positions to change."""
    collection = db.session.get(Collection, collection_id) or abort(404)
    return render_template(
        "staff/collections/show.html",
        collection=collection,
        may_edit=permissions.can_edit_collection(_user(), collection),
        documents=records.collection_documents(collection_id, public_only=False),
        figures=records.collection_figures(collection_id, public_only=False),
        item_form=CollectionItemForm(),
    )


@bp.route("/<int:collection_id>/order", methods=["POST"])
def order(collection_id: int) -> ResponseReturnValue:
    """Save the order typed into the position boxes (``position-<document id>``)."""
    _editable(collection_id)
    positions = []
    for key, value in request.form.items():
        if key.startswith("position-") and key[9:].isdigit():
            try:
                positions.append((float(value), int(key[9:])))
            except ValueError:
                continue
    records.reorder_collection(collection_id, [doc for _pos, doc in sorted(positions)])
    flash(_("Order saved."))
    return redirect(url_for(".show", collection_id=collection_id))


@bp.route("/<int:collection_id>/documents", methods=["POST"])
def add(collection_id: int) -> ResponseReturnValue:
    """Put a document of the user's branch into this collection (it stays in its others)."""
    _editable(collection_id)
    form = CollectionItemForm()
    document = (
        db.session.get(Document, form.document_id.data) if form.validate_on_submit() else None
    )
    if document is not None and not permissions.can_edit(_user(), document):
        abort(403)  # another branch's document: its own staff decide where it belongs
    if document is not None and records.add_to_collection(document.id, collection_id):
        flash(_("Document %(id)d added.", id=form.document_id.data))
    else:
        flash(_("No such document."))
    return redirect(url_for(".show", collection_id=collection_id))


@bp.route("/<int:collection_id>/documents/<int:document_id>/remove", methods=["POST"])
def remove(collection_id: int, document_id: int) -> ResponseReturnValue:
    """Take a document out of this collection, not its others (404 unless it is in it)."""
    _editable(collection_id)
    if not records.remove_from_collection(document_id, collection_id):
        abort(404)
    flash(_("Document %(id)d removed from the collection.", id=document_id))
    return redirect(url_for(".show", collection_id=collection_id))
