"""Staff screens of the catalogue: records, MARC import, linking documents, the record picker."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from mura.app.extensions import db
from mura.app.models import CatalogueRecord, Document, User
from mura.app.modules.administration import permissions
from mura.app.modules.catalogue import marc_encoding, marc_import, metadata, records, relators
from mura.app.modules.catalogue.marc_import import (
    AgentData,
    RecordData,
    SubjectData,
    normalise_isbn,
)
from mura.app.modules.catalogue.views.forms import AttachForm, ImportForm, RecordForm
from mura.app.modules.digitization import workflow
from mura.app.modules.digitization.views.forms import DOC_TYPE_LABELS

bp = Blueprint("staff_records", __name__)


@bp.app_template_global()
def role_name(code: str | None) -> str:
    """A MARC relator code (``aut``) as the reader's language names the role."""
    return relators.role_name(code)


#: Subject kinds edited as one-per-line headings (keywords and class numbers have their own).
HEADING_KINDS = ("topic", "person", "corporate", "place", "title", "classification", "ddc")


@bp.route("/")
def index() -> str:
    """Records, newest change first, filtered by ``?q=`` (title, names, ISBN, catalogue id)."""
    query = request.args.get("q", "").strip()[:200]
    rows = records.search_records(query, limit=100)
    return render_template("staff/records/index.html", records=rows, query=query)


@bp.route("/search.json")
def search_json() -> ResponseReturnValue:
    """The search-as-you-type picker: ``?q=`` → up to 15 records."""
    query = request.args.get("q", "").strip()[:200]
    rows = records.search_records(query, limit=15) if query else []
    return jsonify([records.record_summary(r) for r in rows])


@bp.route("/<int:record_id>.json")
def record_json(record_id: int) -> ResponseReturnValue:
    """One record's summary (the picker pre-selects a record given in the upload address)."""
    record = db.session.get(CatalogueRecord, record_id) or abort(404)
    return jsonify(records.record_summary(record))


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    """Describe a new record."""
    form = RecordForm()
    if form.validate_on_submit():
        if _duplicate_external_id(form, None):
            return render_template("staff/records/form.html", form=form, record=None), 400
        record, _changed = records.save_record(None, _form_data(form, None))
        db.session.commit()
        flash(_("Record saved."))
        return redirect(url_for(".show", record_id=record.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/records/form.html", form=form, record=None), status


@bp.route("/<int:record_id>")
def show(record_id: int) -> str:
    """A record: its description, its digitized documents, and where it goes next."""
    record = db.session.get(CatalogueRecord, record_id) or abort(404)
    user = _user()
    return render_template(
        "staff/records/show.html",
        record=record,
        # Buttons only for what the user may change (modules/administration/permissions.py).
        may_edit=permissions.can_edit_record(user, record),
        editable={d.id for d in record.documents if permissions.can_edit(user, d)},
        attach=AttachForm(),
        doc_types=DOC_TYPE_LABELS,
        physical=metadata.physical_description(record),
    )


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
def edit(record_id: int) -> ResponseReturnValue:
    """Change a record; its documents' titles, index entries and datestamps follow."""
    record = db.session.get(CatalogueRecord, record_id) or abort(404)
    form = RecordForm(obj=record) if request.method == "GET" else RecordForm()
    if request.method == "GET":
        _fill_form(form, record)
    elif not permissions.can_edit_record(_user(), record):
        abort(403)  # it describes another branch's documents: their staff change it
    if form.validate_on_submit():
        if _duplicate_external_id(form, record):
            return render_template("staff/records/form.html", form=form, record=record), 400
        _saved, changed = records.save_record(record, _form_data(form, record))
        documents = [d.id for d in record.documents]
        held = []
        if changed:
            held = workflow.hold_for_review(documents, _user(), f"record {record.id} edited")
        db.session.commit()
        if changed:
            records.after_documents_changed(documents)
        flash(_("Record saved."))
        _flash_held(held)
        return redirect(url_for(".show", record_id=record.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/records/form.html", form=form, record=record), status


@bp.route("/<int:record_id>/delete", methods=["POST"])
def delete(record_id: int) -> ResponseReturnValue:
    """Delete a record no document uses."""
    record = db.session.get(CatalogueRecord, record_id) or abort(404)
    if not permissions.can_edit_record(_user(), record):
        abort(403)
    if records.delete_record(record_id):
        flash(_("Record deleted."))
        return redirect(url_for(".index"))
    flash(_("Detach its documents first: a record with documents is not deleted."))
    return redirect(url_for(".show", record_id=record_id))


@bp.route("/<int:record_id>/documents", methods=["POST"])
def attach(record_id: int) -> ResponseReturnValue:
    """Attach a digitized document (a volume, an issue) to the record.

    Only a document the user may change (their branch's); a published one waits for approval
    again, since its public description changes; its rights may change only as far as they
    need no administrator (``modules/rights/rights.py``: death dates only propose).
    """
    db.session.get(CatalogueRecord, record_id) or abort(404)
    form = AttachForm()
    document = (
        db.session.get(Document, form.document_id.data) if form.validate_on_submit() else None
    )
    if document is None:
        flash(_("No such document or record."))
        return redirect(url_for(".show", record_id=record_id))
    if not permissions.can_edit(_user(), document):
        abort(403)  # another branch's document: its own staff link it
    held = workflow.hold_for_review([document.id], _user(), f"linked to record {record_id}")
    if records.link_document(document.id, record_id, form.part_label.data or ""):
        flash(_("Document %(id)d attached.", id=document.id))
        _flash_held(held)
    else:
        db.session.rollback()
        flash(_("No such document or record."))
    return redirect(url_for(".show", record_id=record_id))


@bp.route("/<int:record_id>/documents/<int:document_id>/detach", methods=["POST"])
def detach(record_id: int, document_id: int) -> ResponseReturnValue:
    """Detach a document; it keeps the description it had last."""
    document = db.session.get(Document, document_id)
    if document is not None and document.record_id == record_id:
        if not permissions.can_edit(_user(), document):
            abort(403)  # another branch's document: its own staff unlink it
        held = workflow.hold_for_review([document.id], _user(), f"unlinked from record {record_id}")
        records.link_document(document_id, None)
        flash(_("Document %(id)d detached.", id=document_id))
        _flash_held(held)
    return redirect(url_for(".show", record_id=record_id))


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> ResponseReturnValue:
    """Import a file of MARC records; shows what was created, updated and why any failed.

    "Preview" reads and maps the file without saving anything and shows the encoding detected
    in each record and the titles as they would be stored; the file is kept on the server
    (``WORK_DIR/marc-preview``) so that "Import" after it needs no second upload.
    """
    form = ImportForm()
    report = None
    preview = None
    if form.validate_on_submit():
        data = _import_data(form)
        if data is None:
            form.file.errors = [*form.file.errors, _("Choose a file.")]
        elif "preview" in request.form:
            preview = marc_import.preview(
                data, form.fmt.data, form.flavour.data, form.encoding.data or None
            )
            form.token.data = _keep_for_import(data)
        else:
            report = records.import_marc(
                data,
                fmt=form.fmt.data,
                flavour=form.flavour.data,
                encoding=form.encoding.data or None,
                local_lore=form.local_lore.data,
                branch=form.branch.data or "",
                url_template=form.url_template.data or "",
                may_update=lambda record: permissions.can_edit_record(_user(), record),
                changed_by=_user(),
            )
            _forget_kept(form.token.data)
            form.token.data = ""
    status = 400 if request.method == "POST" and report is None and preview is None else 200
    return render_template(
        "staff/records/import.html",
        form=form,
        report=report,
        preview=preview,
        how_labels=HOW_LABELS,
    ), status


#: How an encoding was decided, for people (marc_encoding.HOW_*).
HOW_LABELS = {
    marc_encoding.HOW_FORCED: _l("chosen in the form"),
    marc_encoding.HOW_ESCAPES: _l("MARC-8 escape sequences"),
    marc_encoding.HOW_LEADER: _l("leader/09 says UTF-8"),
    marc_encoding.HOW_ASCII: _l("Latin letters only"),
    marc_encoding.HOW_UTF8: _l("valid UTF-8"),
    marc_encoding.HOW_CYRILLIC: _l("Cyrillic words in Windows-1251"),
    marc_encoding.HOW_KAZAKH: _l("Kazakh letters of KZ-1048"),
    marc_encoding.HOW_ANSEL: _l("MARC-8 diacritics"),
    marc_encoding.HOW_DEFAULT: _l("usual for this MARC format"),
    marc_import.XML_DETECTED.how: _l("MARCXML"),
}
_KEEP_FOR = 24 * 3600
#: A kept file's name: 32 hex digits, never a path.
_TOKEN = re.compile(r"[0-9a-f]{32}")


def _kept_dir() -> Path:
    return Path(current_app.config["WORK_DIR"]) / "marc-preview"


def _import_data(form: ImportForm) -> bytes | None:
    """The uploaded file, else the file kept by the preview (``token``); None when neither."""
    upload = request.files.get("file")
    if upload and upload.filename:
        try:
            return upload.read()
        finally:
            upload.close()
    if form.token.data and _TOKEN.fullmatch(form.token.data):
        try:
            return (_kept_dir() / form.token.data).read_bytes()
        except OSError:
            return None
    return None


def _keep_for_import(data: bytes) -> str:
    """Keep a previewed file for the import that follows; files older than a day are removed."""
    folder = _kept_dir()
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > _KEEP_FOR:
                old.unlink()
    token = secrets.token_hex(16)
    (folder / token).write_bytes(data)
    return token


def _forget_kept(token: str | None) -> None:
    if token and _TOKEN.fullmatch(token):
        with contextlib.suppress(OSError):
            (_kept_dir() / token).unlink()


def _user() -> User:
    return current_user._get_current_object()


def _flash_held(held: list[int]) -> None:
    """Tell staff that their change took published documents off the site until approved."""
    if held:
        flash(
            _(
                "%(n)d published document(s) changed: they wait for a reviewer's approval "
                "and are not public until then.",
                n=len(held),
            )
        )


# --- form <-> record ---------------------------------------------------------------------------


def _fill_form(form: RecordForm, record: CatalogueRecord) -> None:
    form.persons.data = "\n".join(
        f"{a.name} | {a.role}" for a in record.agents if a.kind == "person"
    )
    form.corporate.data = "\n".join(
        f"{a.name} | {a.role}" for a in record.agents if a.kind != "person"
    )
    form.languages.data = ", ".join(record.languages)
    form.subjects.data = "\n".join(s.term for s in record.subjects if s.kind in HEADING_KINDS)
    form.keywords.data = "\n".join(s.term for s in record.subjects if s.kind == "keyword")
    form.udc.data = "; ".join(s.term for s in record.subjects if s.kind == "udc")
    form.bbk.data = "; ".join(s.term for s in record.subjects if s.kind == "bbk")
    form.external_id.data = record.external_id or ""


def _form_data(form: RecordForm, record: CatalogueRecord | None) -> RecordData:
    """The form as record data; agents and subjects keep the authority ids they had."""
    fields = {
        name: (getattr(form, name).data or "")
        for name in (
            "doc_type", "title", "subtitle", "part", "responsibility", "edition", "place",
            "publisher", "issn", "extent", "illustrations", "dimensions", "series",
            "host_title", "host_issue", "host_pages", "branch", "notes", "external_url",
        )
    }  # fmt: skip
    fields = {k: " ".join(v.split()) if k != "notes" else v.strip() for k, v in fields.items()}
    fields.update(
        year=form.year.data,
        host_year=form.host_year.data,
        host_date=form.host_date.data,
        isbn=normalise_isbn(form.isbn.data or "") or (form.isbn.data or "").strip(),
        languages=[c.strip().lower() for c in (form.languages.data or "").split(",") if c.strip()],
        local_lore=bool(form.local_lore.data),
        external_id=(form.external_id.data or "").strip() or None,
    )
    old_agents = {(a.kind != "person", a.name): a for a in record.agents} if record else {}
    agents = [
        _agent(line, corporate, old_agents)
        for corporate, text in ((False, form.persons.data), (True, form.corporate.data))
        for line in (text or "").splitlines()
        if line.strip()
    ]
    old_subjects = {(s.kind, s.term): s for s in record.subjects} if record else {}
    lines = [
        *(("topic", t) for t in (form.subjects.data or "").splitlines()),
        *(("keyword", t) for t in (form.keywords.data or "").splitlines()),
        *(("udc", t) for t in (form.udc.data or "").split(";")),
        *(("bbk", t) for t in (form.bbk.data or "").split(";")),
    ]
    subjects = [_subject(kind, " ".join(term.split()), old_subjects) for kind, term in lines]
    return RecordData(
        flavour=record.source_format if record else "",
        fields=fields,
        agents=agents,
        subjects=[s for s in subjects if s.term],
    )


def _agent(line: str, corporate: bool, old: dict) -> AgentData:
    name, _sep, role = (p.strip() for p in line.partition("|"))
    name = " ".join(name.split())
    kept = old.get((corporate, name))
    kind = (kept.kind if kept else "corporate") if corporate else "person"
    return AgentData(
        kind=kind,
        name=name,
        role=(role or "aut").lower()[:10],
        dates=kept.dates if kept else "",
        authority_id=kept.authority_id if kept else "",
    )


def _subject(kind: str, term: str, old: dict) -> SubjectData:
    if kind == "topic":
        # A heading edited as text keeps the kind, scheme and authority it was imported with.
        kept = next((s for (k, t), s in old.items() if t == term and k in HEADING_KINDS), None)
    else:
        kept = old.get((kind, term))
    if kept is None:
        return SubjectData(kind, term)
    return SubjectData(kept.kind, term, kept.scheme, kept.authority_id)


def _duplicate_external_id(form: RecordForm, record: CatalogueRecord | None) -> bool:
    external_id = (form.external_id.data or "").strip()
    if not external_id:
        return False
    other = db.session.scalar(
        select(CatalogueRecord).where(CatalogueRecord.external_id == external_id)
    )
    if other is not None and other is not record:
        form.external_id.errors = [
            *form.external_id.errors,
            _("Record %(id)d already has this id.", id=other.id),
        ]
        return True
    return False
