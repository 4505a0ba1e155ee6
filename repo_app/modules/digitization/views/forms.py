"""Forms of the staff screens (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from mura.app.modules.digitization.workflow import MAX_COMMENT

DOC_TYPE_LABELS = {
    "book": _l("Book"),
    "newspaper_article": _l("Newspaper article"),
    "journal_article": _l("Journal article"),
    "book_article": _l("Article from a book"),
    "newspaper_issue": _l("Newspaper issue"),
    "journal_issue": _l("Journal issue"),
}


class UploadForm(FlaskForm):
    """Upload the page images of one document."""

    files = MultipleFileField(
        _l("Page images"),
        description=_l(
            "TIFF (also multi-page), PNG, JPEG, JPEG 2000, WebP, BMP or scanner PDF, in page order."
        ),
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=1000)])
    authors = TextAreaField(_l("Authors"), description=_l("One per line."))
    doc_type = SelectField(
        _l("Document type"),
        choices=[SelectChoice(k, v) for k, v in DOC_TYPE_LABELS.items()],
        default="book",
    )
    #: Ticked by name (the view fills the installed languages, named in the reader's language);
    #: stored and given to the CLI as now, Tesseract codes joined by "+" (:func:`joined_langs`).
    langs = SelectMultipleField(
        _l("OCR languages"),
        choices=[],
        default=["kaz", "rus"],
        validate_choice=False,  # "kaz+rus" from a script is accepted too; parse_langs checks
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Tick every language printed on the pages."),
    )

    def validate_langs(self, field: SelectMultipleField) -> None:
        """Nothing ticked is an error, not a silent default: the pages' languages matter."""
        if not joined_langs(field.data):
            raise ValidationError(_l("Choose at least one OCR language."))

    #: Every collection the document belongs in (several: thematic folders overlap).
    collection = SelectMultipleField(
        _l("Collections"),
        choices=[],
        validate_choice=False,
        description=_l("Choose one or several (Ctrl or Cmd and click)."),
    )
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=1500, max=2100)])
    #: The token of files kept from a try the server sent back (digitization/held_uploads.py).
    held = HiddenField(validators=[Optional(), Length(max=64)])
    #: The catalogue record the scans belong to (chosen with the picker), or a new one from above.
    record_id = HiddenField(validators=[Optional()])
    new_record = BooleanField(_l("Create a catalogue record from these fields"))


def joined_langs(values: list[str] | None) -> str:
    """The ticked languages as stored: ``["kaz", "rus"]`` → ``"kaz+rus"`` (order kept, once each).

    A value may itself be joined (``"kaz+rus"``: scripts that post the old text field).
    """
    codes = [code.strip() for value in values or [] for code in value.split("+")]
    return "+".join(dict.fromkeys(code for code in codes if code))


class ActionForm(FlaskForm):
    """A button that moves a document in the workflow (only the CSRF token)."""


class ReturnForm(FlaskForm):
    """Return a document to staff: what to fix is required."""

    comment = TextAreaField(
        _l("What should be fixed"),
        validators=[DataRequired(), Length(max=MAX_COMMENT)],
        description=_l("Staff of the branch see this comment in their review queue."),
    )


class LifecycleForm(FlaskForm):
    """The confirmation step of discarding a job, withdrawing or deleting a document."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=2000)],
        description=_l("Kept in the audit log (and, for a public document, told to harvesters)."),
    )
    confirm = BooleanField(_l("Yes, I understand what will happen"), validators=[DataRequired()])
