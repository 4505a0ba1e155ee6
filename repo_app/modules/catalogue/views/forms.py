"""Forms of the catalogue screens: records, MARC import, collections (Flask-WTF, CSRF on each)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from mura.app.modules.catalogue import records
from mura.app.modules.digitization.views.forms import DOC_TYPE_LABELS
from mura.app.web.converters import MAX_ID

#: A document number the database can hold (a larger one overflowed it: a 500, issue 18).
_DOCUMENT_NUMBER = [
    DataRequired(),
    NumberRange(min=1, max=MAX_ID, message=_l("No such document.")),
]


def web_address(form: FlaskForm, field: Field) -> None:
    """Refuse a link that is not http(s): ``javascript:`` would run when a reader clicks it."""
    if field.data and not records.is_web_address(field.data):
        raise ValidationError(_l("A link must be an address starting with http:// or https://."))


_YEAR = [Optional(), NumberRange(min=1000, max=2100)]


class RecordForm(FlaskForm):
    """A catalogue record, in the order of the ISBD areas a cataloguer fills."""

    doc_type = SelectField(
        _l("Document type"), choices=[SelectChoice(k, v) for k, v in DOC_TYPE_LABELS.items()]
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=1000)])
    subtitle = StringField(_l("Other title information"), validators=[Length(max=1000)])
    part = StringField(
        _l("Part or volume"), validators=[Length(max=500)], description=_l("e.g. Т. 2. Кн. 4")
    )
    responsibility = StringField(_l("Statement of responsibility"), validators=[Length(max=1000)])
    persons = TextAreaField(
        _l("Persons"),
        description=_l("One per line: Surname, Initials | role code (aut, edt, trl, ill, com…)"),
    )
    corporate = TextAreaField(
        _l("Corporate authors"), description=_l("One per line: Name | role code")
    )
    edition = StringField(_l("Edition"), validators=[Length(max=300)])
    place = StringField(_l("Place of publication"), validators=[Length(max=300)])
    publisher = StringField(_l("Publisher"), validators=[Length(max=500)])
    year = IntegerField(_l("Year"), validators=_YEAR)
    isbn = StringField(_l("ISBN"), validators=[Length(max=40)])
    issn = StringField(_l("ISSN"), validators=[Length(max=20)])
    extent = StringField(_l("Pages (extent)"), validators=[Length(max=300)])
    illustrations = StringField(_l("Illustrations"), validators=[Length(max=300)])
    dimensions = StringField(_l("Size"), validators=[Length(max=100)])
    series = StringField(_l("Series"), validators=[Length(max=500)])
    host_title = StringField(
        _l("Host: newspaper, journal or book title"), validators=[Length(max=1000)]
    )
    host_year = IntegerField(_l("Host: year"), validators=_YEAR)
    host_issue = StringField(
        _l("Host: issue"), validators=[Length(max=100)], description=_l("e.g. № 45")
    )
    host_date = DateField(_l("Host: date of the issue"), validators=[Optional()])
    host_pages = StringField(
        _l("Host: pages"), validators=[Length(max=100)], description=_l("e.g. С. 3")
    )
    languages = StringField(
        _l("Languages"), description=_l("MARC codes separated by commas: kaz, rus, kir, eng")
    )
    subjects = TextAreaField(
        _l("Subject headings"), description=_l("One per line; subdivisions after “--”.")
    )
    keywords = TextAreaField(_l("Keywords"), description=_l("One per line."))
    udc = StringField(_l("UDC"), description=_l("Several separated by “;”."))
    bbk = StringField(_l("BBK"), description=_l("Several separated by “;”."))
    local_lore = BooleanField(_l("Local lore"))
    branch = StringField(_l("Branch library that holds it"), validators=[Length(max=200)])
    notes = TextAreaField(_l("Notes"))
    external_id = StringField(_l("Record id in the library system"), validators=[Length(max=200)])
    external_url = StringField(
        _l("Link to the record in the library catalogue"),
        validators=[Optional(), URL(), web_address, Length(max=1000)],
    )


class ImportForm(FlaskForm):
    """A file of MARC records to import."""

    file = FileField(_l("MARC file"), description=_l("ISO 2709 (.iso, .mrc) or MARCXML (.xml)."))
    fmt = SelectField(
        _l("File format"),
        choices=[
            SelectChoice("auto", _l("Recognise")),
            SelectChoice("iso2709", "ISO 2709"),
            SelectChoice("marcxml", "MARCXML"),
        ],
    )
    flavour = SelectField(
        _l("MARC format"),
        choices=[
            SelectChoice("auto", _l("Recognise")),
            SelectChoice("unimarc", "UNIMARC / RUSMARC / KAZMARC"),
            SelectChoice("marc21", "MARC 21"),
        ],
    )
    encoding = SelectField(
        _l("Character encoding"),
        choices=[
            SelectChoice("", _l("Recognise in each record")),
            SelectChoice("utf-8", "UTF-8"),
            SelectChoice("cp1251", "Windows-1251"),
            SelectChoice("kz1048", "KZ-1048 (RK1048)"),
            SelectChoice("marc-8", "MARC-8"),
        ],
    )
    local_lore = BooleanField(_l("Mark every record as local lore"))
    branch = StringField(_l("Branch library"), validators=[Length(max=200)])
    url_template = StringField(
        _l("Catalogue link"),
        description=_l("Address of a record in your OPAC, {id} standing for its id."),
        validators=[Length(max=900), web_address],
        filters=[lambda value: value.strip() if value else value],
    )
    #: The file of the last preview, kept on the server so it need not be chosen again.
    token = HiddenField(validators=[Optional(), Length(max=32)])


class AttachForm(FlaskForm):
    """Attach an existing digitized document to a record."""

    document_id = IntegerField(_l("Document number"), validators=_DOCUMENT_NUMBER)
    part_label = StringField(
        _l("Volume or issue"), validators=[Length(max=200)], description=_l("e.g. Т. 2, № 45")
    )


class CollectionForm(FlaskForm):
    """A thematic collection."""

    slug = StringField(
        _l("Short name (in addresses)"),
        validators=[
            DataRequired(),
            Regexp(r"^[a-z0-9][a-z0-9._-]*$", message=_l("Latin letters, digits, . _ - only.")),
            Length(max=100),
        ],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    title_kk = StringField(_l("Title in Kazakh"), validators=[Length(max=500)])
    title_ru = StringField(_l("Title in Russian"), validators=[Length(max=500)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=500)])
    description = TextAreaField(_l("Description"))
    branch = StringField(_l("Owner branch"), validators=[Length(max=200)])
    cover = FileField(_l("Cover image"), description=_l("JPEG, PNG or WebP."))
    cover_document = IntegerField(
        _l("Or a page as the cover: document number"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID, message=_l("No such document."))],
        description=_l("A document of this collection; empty: its first document."),
    )
    cover_page = IntegerField(
        _l("Page of that document"), validators=[Optional(), NumberRange(min=1, max=100_000)]
    )


class CollectionItemForm(FlaskForm):
    """Put a document into the collection."""

    document_id = IntegerField(_l("Document number"), validators=_DOCUMENT_NUMBER)
