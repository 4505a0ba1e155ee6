"""Rights administration at ``/admin/rights``: contracts, rights holders, marks, drafts, import.

Administrators only: the central guard (``repo_app/modules/administration/views/access.py``)
refuses every URL
under ``/admin`` to anyone else before these views run, and :func:`_admins_only` checks again
here, so moving the blueprint to another prefix cannot open it. Holders' contacts and contract
scans are served by no other view.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mura.app.core import files
from mura.app.extensions import db
from mura.app.models import Branch, Contract, Document, RightsHolder
from mura.app.models.rights import CONTRACT_STATUSES, GRANTS, HOLDER_KINDS
from mura.app.modules.rights import contract_drafts, contract_import, contracts, rights
from mura.app.modules.rights.rights import RightsError
from mura.app.web.converters import db_int

bp = Blueprint("admin_rights", __name__)
# New documents get their access in the flush that inserts them (repo_app/modules/rights/rights.py);
# hooked here, as the OAI blueprint hooks the tombstones, so every app that serves Mura has it.

STATUS_LABELS = {
    "draft": _l("draft"),
    "active": _l("active"),
    "expired": _l("expired"),
    "terminated": _l("terminated"),
}
GRANT_LABELS = {
    "digitize": _l("Digitize"),
    "publish_online": _l("Publish the full text online"),
    "reading_room": _l("Reading room only"),
    "download": _l("Allow download"),
    "print": _l("Allow print"),
}
ACCESS_LABELS = {
    "online": _l("online"),
    "reading_room": _l("reading room"),
    "record_only": _l("description only"),
    "not_public": _l("not public"),
}
PARTY_ROLE_LABELS = {
    "author": _l("author"),
    "heir": _l("heir"),
    "organisation": _l("organisation"),
}
MARK_LABELS = {
    "": _l("No mark (contracts and the author's dates decide; the default applies)"),
    "public_domain": _l("Public domain"),
    "library_owned": _l("The library holds the rights"),
    "none": _l("No rights of the library's own (contracts and dates only)"),
}


@bp.before_request
def _admins_only() -> None:
    """A second lock behind the central guard (see the module docstring)."""
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)


#: rightsstatements.org and Creative Commons statements by their names (as their sites name them).
RIGHTS_STATEMENTS = {
    "http://rightsstatements.org/vocab/InC/1.0/": _l("In Copyright"),
    "http://rightsstatements.org/vocab/InC-EDU/1.0/": _l(
        "In Copyright – Educational Use Permitted"
    ),
    "http://rightsstatements.org/vocab/InC-NC/1.0/": _l(
        "In Copyright – Non-Commercial Use Permitted"
    ),
    "http://rightsstatements.org/vocab/InC-RUU/1.0/": _l(
        "In Copyright – Rights-holder(s) Unlocatable or Unidentifiable"
    ),
    "http://rightsstatements.org/vocab/NoC-CR/1.0/": _l("No Copyright – Contractual Restrictions"),
    "http://rightsstatements.org/vocab/NoC-OKLR/1.0/": _l(
        "No Copyright – Other Known Legal Restrictions"
    ),
    "http://rightsstatements.org/vocab/NoC-US/1.0/": _l("No Copyright – United States"),
    "http://rightsstatements.org/vocab/CNE/1.0/": _l("Copyright Not Evaluated"),
    "http://rightsstatements.org/vocab/UND/1.0/": _l("Copyright Undetermined"),
    "http://rightsstatements.org/vocab/NKC/1.0/": _l("No Known Copyright"),
    "http://creativecommons.org/publicdomain/mark/1.0/": _l("Public Domain Mark"),
}


@bp.app_template_global()
def rights_statement_name(uri: str | None) -> str:
    """A rights statement's name in the reader's language (its address when unknown)."""
    if not uri:
        return ""
    return str(RIGHTS_STATEMENTS.get(uri.replace("https://", "http://"), uri))


@bp.app_template_global()
def access_label(code: str) -> str:
    """A document's access (``not_public``…) as the reader's language names it, on any screen."""
    return str(ACCESS_LABELS.get(code, code))


@bp.app_template_global()
def access_reason(document: Document) -> str:
    """Why ``document`` has its access, in the reader's language (the stored one is English)."""
    return rights.reasons_in_locale([document.id]).get(document.id, document.access_reason)


@bp.context_processor
def _labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "grant_labels": GRANT_LABELS,
        "access_labels": ACCESS_LABELS,
        "party_role_labels": PARTY_ROLE_LABELS,
    }


# --- forms ---------------------------------------------------------------------------------------


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ContractForm(FlaskForm):
    """A contract; the holder choices are set by the view."""

    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=100)])
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    starts_on = DateField(_l("Term starts"), validators=[DataRequired()])
    ends_on = DateField(
        _l("Term ends"), validators=[Optional()], description=_l("Empty: indefinite.")
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s, STATUS_LABELS[s]) for s in CONTRACT_STATUSES],
        default="draft",
    )
    status_reason = StringField(_l("Why terminated"), validators=[Length(max=2000)])
    grants = MultiCheckboxField(
        _l("Rights granted"), choices=[SelectChoice(g, GRANT_LABELS[g]) for g in GRANTS]
    )
    authors = SelectMultipleField(_l("Authors"), coerce=int, choices=[], validate_choice=False)
    heirs = SelectMultipleField(
        _l("Heirs and organisations"), coerce=int, choices=[], validate_choice=False
    )
    works = TextAreaField(
        _l("Works"),
        description=_l(
            "One per line: a catalogue record number (#12), its id in the library system, "
            "or its exact title."
        ),
    )
    remuneration = StringField(_l("Remuneration"), validators=[Length(max=500)])
    branch = SelectField(_l("Branch that signed it"), choices=[], validate_choice=False)
    notes = TextAreaField(_l("Notes"))


class HolderForm(FlaskForm):
    """A rights holder with contacts."""

    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("person", _l("Person")),
            SelectChoice("organisation", _l("Organisation")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=500)])
    birth_year = IntegerField(_l("Born"), validators=[Optional(), NumberRange(1000, 2100)])
    death_year = IntegerField(_l("Died"), validators=[Optional(), NumberRange(1000, 2100)])
    address = TextAreaField(_l("Address"))
    phone = StringField(_l("Phone"), validators=[Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Length(max=300)])
    identity = TextAreaField(_l("Identity document, IIN/BIN, bank details"))
    notes = TextAreaField(_l("Notes"))


class MarkForm(FlaskForm):
    """An administrator's mark on a document."""

    mark = SelectField(_l("Mark"), choices=[SelectChoice(k, v) for k, v in MARK_LABELS.items()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


class ConfirmForm(FlaskForm):
    """Confirm the catalogue's public-domain proposal (nothing but the CSRF token)."""


class FileForm(FlaskForm):
    """One uploaded file (contract scan, register spreadsheet)."""

    file = FileField(_l("File"), validators=[FileRequired()])


class TemplateForm(FlaskForm):
    """A contract draft template."""

    text = TextAreaField(_l("Template"), validators=[DataRequired()])


# --- dashboard -----------------------------------------------------------------------------------


@bp.route("/")
def index() -> str:
    """Contracts ending soon, contracts by status, the latest changes of document access."""
    today = rights.library_today()
    changed = db.session.scalars(
        select(Document)
        .where(Document.access_changed_at.is_not(None))
        .order_by(Document.access_changed_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/rights/index.html",
        ending=contracts.contracts_ending(today),
        counts=contracts.status_counts(),
        changed=changed,
        reasons=rights.reasons_in_locale([d.id for d in changed]),
        today=today,
        proposals=rights.proposals(_=_),
    )


@bp.route("/documents", methods=["GET"])
def find_document() -> ResponseReturnValue:
    """Go to a document's rights by its number (the dashboard's small form)."""
    document_id = request.args.get("id", type=db_int)
    if not document_id or db.session.get(Document, document_id) is None:
        flash(_("No such document."))
        return redirect(url_for(".index"))
    return redirect(url_for(".document", document_id=document_id))


@bp.route("/documents/<int:document_id>", methods=["GET", "POST"])
def document(document_id: int) -> ResponseReturnValue:
    """A document's computed status with its reason, and the administrator's mark."""
    document = db.session.get(Document, document_id) or abort(404)
    info = rights.describe(document_id, _=_)
    form = MarkForm()
    if request.method == "GET":
        form.mark.data = info["mark"] or ""
        form.reason.data = info["mark_reason"]
    if form.validate_on_submit():
        try:
            rights.set_mark(document_id, form.mark.data or None, form.reason.data or "")
        except RightsError as exc:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, error_text(exc.message)]
        else:
            flash(_("Rights of document %(id)d saved.", id=document_id))
            return redirect(url_for(".document", document_id=document_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/rights/document.html",
        document=document,
        info=info,
        form=form,
        confirm_form=ConfirmForm(),
    ), status


@bp.route("/documents/<int:document_id>/confirm", methods=["POST"])
def confirm(document_id: int) -> ResponseReturnValue:
    """Confirm that the document is in the public domain, as its catalogue record suggests.

    The authors' death dates come from catalogue records that staff type and import, so they
    only propose; this confirmation (audited) is what opens the document.
    """
    db.session.get(Document, document_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)  # no valid CSRF token
    try:
        rights.confirm_public_domain(document_id, actor=current_user._get_current_object())
    except RightsError:
        db.session.rollback()
        flash(_("Nothing to confirm: the catalogue no longer proposes the public domain."))
    else:
        flash(_("Public domain confirmed for document %(id)d.", id=document_id))
    return redirect(url_for(".document", document_id=document_id))


# --- contracts -----------------------------------------------------------------------------------


@bp.route("/contracts")
def contract_list() -> str:
    """Every contract (or those of one status), newest term first."""
    status = request.args.get("status") or None
    if status not in (None, *CONTRACT_STATUSES):
        status = None
    return render_template(
        "admin/rights/contracts.html", contracts=contracts.list_contracts(status), status=status
    )


@bp.route("/contracts/new", methods=["GET", "POST"])
@bp.route("/contracts/<int:contract_id>", methods=["GET", "POST"])
def contract(contract_id: int | None = None) -> ResponseReturnValue:
    """Create or edit a contract (saving decides its documents' access again)."""
    row = db.session.get(Contract, contract_id) if contract_id else None
    if contract_id and row is None:
        abort(404)
    form = ContractForm()
    _contract_choices(form)
    if request.method == "GET" and row is not None:
        _fill_contract_form(form, row)
    if form.validate_on_submit():
        try:
            data = _contract_data(form)
            saved = contracts.save_contract(row, data)
        except (RightsError, contract_import.RowError) as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            flash(_("Contract %(number)s saved.", number=saved.number))
            return redirect(url_for(".contract", contract_id=saved.id))
    status = 400 if request.method == "POST" else 200
    documents = _documents_of(row) if row is not None else []
    return render_template(
        "admin/rights/contract.html",
        form=form,
        contract=row,
        documents=documents,
        scan_form=FileForm(),
        languages=contract_drafts.LANGUAGES,
    ), status


def _contract_choices(form: ContractForm) -> None:
    holders = contracts.list_holders()
    form.authors.choices = [SelectChoice(h.id, h.name) for h in holders if h.kind == "person"]
    form.heirs.choices = [SelectChoice(h.id, h.name) for h in holders]
    locale = str(get_locale())
    branches = db.session.scalars(select(Branch).order_by(Branch.code)).all()
    form.branch.choices = [SelectChoice("", "—")] + [
        SelectChoice(b.code, b.name_in(locale)) for b in branches
    ]


def _fill_contract_form(form: ContractForm, row: Contract) -> None:
    for name in ("number", "signed_on", "starts_on", "ends_on", "status", "status_reason"):
        getattr(form, name).data = getattr(row, name)
    form.remuneration.data = row.remuneration
    form.notes.data = row.notes
    form.grants.data = list(row.grants or [])
    form.authors.data = [p.holder_id for p in row.parties if p.role == "author"]
    form.heirs.data = [p.holder_id for p in row.parties if p.role != "author"]
    form.works.data = "\n".join(f"#{w.record_id}" if w.record_id else w.title for w in row.works)
    form.branch.data = row.branch.code if row.branch else ""


def _contract_data(form: ContractForm) -> contracts.ContractData:
    parties = []
    for holder_id in form.authors.data or []:
        holder = db.session.get(RightsHolder, holder_id)
        if holder is not None:
            parties.append((holder, "author"))
    for holder_id in form.heirs.data or []:
        holder = db.session.get(RightsHolder, holder_id)
        if holder is not None:
            parties.append((holder, "organisation" if holder.kind == "organisation" else "heir"))
    lines = [line for line in (form.works.data or "").splitlines() if line.strip()]
    branch = None
    if form.branch.data:
        branch = db.session.scalar(select(Branch).where(Branch.code == form.branch.data))
    return contracts.ContractData(
        number=form.number.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        signed_on=form.signed_on.data,
        status=form.status.data,
        grants=list(form.grants.data or []),
        remuneration=form.remuneration.data or "",
        branch=branch,
        notes=form.notes.data or "",
        status_reason=form.status_reason.data or "",
        parties=parties,
        works=[contract_import.match_work(line) for line in lines],
    )


#: The services' refusals (English: the CLI and the logs say them so) as the reader reads them.
RIGHTS_ERRORS = {
    "a rights holder needs a name": _l("a rights holder needs a name"),
    "a contract needs its number": _l("a contract needs its number"),
    "when does the term start?": _l("when does the term start?"),
    "the term ends before it starts": _l("the term ends before it starts"),
    "an active contract needs at least one rights holder": _l(
        "an active contract needs at least one rights holder"
    ),
    "an active contract needs at least one work": _l("an active contract needs at least one work"),
    "the scan must be a PDF": _l("the scan must be a PDF"),
    "say why (the reason is kept with the mark)": _l("say why (the reason is kept with the mark)"),
}
_USED_NUMBER = re.compile(r"^contract number (.+) is already used$")


def error_text(message: str) -> str:
    """A service's refusal in the reader's language (as it is when it has no translation)."""
    used = _USED_NUMBER.match(message)
    if used:
        return _("contract number %(number)s is already used", number=used.group(1))
    return str(RIGHTS_ERRORS.get(message, message))


def _form_error(form: FlaskForm, exc: Exception) -> None:
    field_name = getattr(exc, "field", None) or "works"
    if field_name == "parties":
        field_name = "authors"
    target = getattr(form, field_name, None) or form.number
    target.errors = [*target.errors, error_text(getattr(exc, "message", str(exc)))]


def _documents_of(row: Contract) -> list[Document]:
    ids = rights.documents_of_records(w.record_id for w in row.works)
    if not ids:
        return []
    return list(db.session.scalars(select(Document).where(Document.id.in_(ids))))


@bp.route("/contracts/<int:contract_id>/scan", methods=["GET"])
def contract_scan(contract_id: int) -> ResponseReturnValue:
    """The scanned signed contract (administrators only; never cached)."""
    row = db.session.get(Contract, contract_id) or abort(404)
    if row.scan_file is None:
        abort(404)
    response = send_file(
        files.local_path(row.scan_file),
        mimetype="application/pdf",
        download_name=f"contract-{row.id}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/contracts/<int:contract_id>/scan", methods=["POST"])
def upload_scan(contract_id: int) -> ResponseReturnValue:
    """Keep the scanned signed contract (a PDF)."""
    row = db.session.get(Contract, contract_id) or abort(404)
    form = FileForm()
    if not form.validate_on_submit():
        flash(_("Choose the PDF of the signed contract."))
    else:
        upload = form.file.data
        try:
            contracts.attach_scan(row, upload.stream, upload.filename or "")
        except RightsError as exc:
            db.session.rollback()
            flash(error_text(exc.message))
        else:
            flash(_("Scan of contract %(number)s kept.", number=row.number))
    return redirect(url_for(".contract", contract_id=contract_id))


@bp.route("/contracts/<int:contract_id>/draft/<lang>")
def contract_draft(contract_id: int, lang: str) -> ResponseReturnValue:
    """The printable draft of the contract in Kazakh or Russian."""
    row = db.session.get(Contract, contract_id) or abort(404)
    if lang not in contract_drafts.LANGUAGES:
        abort(404)
    try:
        body = contract_drafts.render_draft(row, lang)
    except contract_drafts.DraftError as exc:
        flash(str(exc))
        return redirect(url_for(".edit_template", lang=lang))
    return render_template("admin/rights/draft.html", contract=row, body=body, lang=lang)


# --- rights holders ------------------------------------------------------------------------------


@bp.route("/holders")
def holder_list() -> str:
    """Every rights holder with their contracts."""
    return render_template("admin/rights/holders.html", holders=contracts.list_holders())


@bp.route("/holders/new", methods=["GET", "POST"])
@bp.route("/holders/<int:holder_id>", methods=["GET", "POST"])
def holder(holder_id: int | None = None) -> ResponseReturnValue:
    """Create or edit a rights holder and their contacts."""
    row = db.session.get(RightsHolder, holder_id) if holder_id else None
    if holder_id and row is None:
        abort(404)
    form = HolderForm(obj=row) if request.method == "GET" and row else HolderForm()
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in contracts.HOLDER_FIELDS}
        data = {
            k: ("" if v is None and k not in ("birth_year", "death_year") else v)
            for k, v in data.items()
        }
        if data["kind"] not in HOLDER_KINDS:
            abort(400)
        try:
            saved = contracts.save_holder(row, data)
        except RightsError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            flash(_("%(name)s saved.", name=saved.name))
            return redirect(url_for(".holder", holder_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/rights/holder.html", form=form, holder=row), status


# --- draft templates -----------------------------------------------------------------------------


@bp.route("/templates/<lang>", methods=["GET", "POST"])
def edit_template(lang: str) -> ResponseReturnValue:
    """Edit the library's contract draft template of ``lang`` (Jinja, sandboxed)."""
    if lang not in contract_drafts.LANGUAGES:
        abort(404)
    text, own = contract_drafts.template_text(lang)
    form = TemplateForm()
    if request.method == "GET":
        form.text.data = text
    if form.validate_on_submit():
        try:
            contract_drafts.save_template(lang, form.text.data or "")
        except contract_drafts.DraftError as exc:
            form.text.errors = [*form.text.errors, str(exc)]
        else:
            _audit_template(lang, "save")
            flash(_("Template saved."))
            return redirect(url_for(".edit_template", lang=lang))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/rights/template.html", form=form, lang=lang, own=own, reset_form=FlaskForm()
    ), status


@bp.route("/templates/<lang>/reset", methods=["POST"])
def reset_template(lang: str) -> ResponseReturnValue:
    """Go back to the shipped template."""
    if lang not in contract_drafts.LANGUAGES or not FlaskForm().validate_on_submit():
        abort(400)
    contract_drafts.reset_template(lang)
    _audit_template(lang, "reset")
    flash(_("The shipped template is used again."))
    return redirect(url_for(".edit_template", lang=lang))


def _audit_template(lang: str, what: str) -> None:
    from mura.app.modules.administration import audit

    audit.record(f"contract_template.{what}", "contract_template", lang)
    db.session.commit()


# --- import --------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_register() -> ResponseReturnValue:
    """Import the contract register (CSV or XLSX); bad rows are listed with their reason."""
    form = FileForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        report = contract_import.import_contracts(upload.read(), upload.filename or "")
    status = 400 if request.method == "POST" and report is None else 200
    return render_template(
        "admin/rights/import.html", form=form, report=report, columns=contract_import.COLUMNS
    ), status
