"""Forms of the administration screens: users, branches, the audit log search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "staff": _l("Staff"),
    "reviewer": _l("Reviewer"),
}


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(k, v) for k, v in ROLE_LABELS.items()]


class UserEditForm(FlaskForm):
    """An account's name, role, branch and state (choices of branch are set by the view)."""

    display_name = StringField(_l("Full name"), validators=[Length(max=300)])
    role = SelectField(_l("Role"), choices=_role_choices(), default="staff")
    branch = SelectField(
        _l("Branch"),
        choices=[],
        validate_choice=False,
        description=_l("Required for staff: their branch's jobs are shown to them first."),
    )
    active = BooleanField(_l("Active (may log in)"), default=True)
    email = EmailField(
        _l("E-mail"),
        validators=[Optional(), Length(max=300)],
        description=_l("For a forgotten password and, if chosen below, notices of waiting work."),
    )
    notify_by_email = BooleanField(
        _l("E-mail me when work waits (documents to check or approve, copy requests)")
    )


class UserCreateForm(UserEditForm):
    """A new account: its password is generated and shown once."""

    username = StringField(
        _l("User name"),
        validators=[DataRequired(), Length(max=150)],
        description=_l("Letters, digits, . _ @ -; used to log in."),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    active = None  # a new account is active; deactivate it later if need be


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class BranchForm(FlaskForm):
    """A branch library's names and whether it is the central library."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=50)],
        description=_l("Latin letters, digits, _ or -; used by the command line. Cannot change."),
    )
    name_kk = StringField(_l("Name in Kazakh"), validators=[Length(max=300)])
    name_ru = StringField(_l("Name in Russian"), validators=[Length(max=300)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=300)])
    is_central = BooleanField(_l("Central library"))


class LibraryForm(FlaskForm):
    """The library's name in each language, address and contacts (admin screen "Library")."""

    name_kk = StringField(_l("Name in Kazakh"), validators=[Length(max=300)])
    name_ru = StringField(_l("Name in Russian"), validators=[Length(max=300)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=300)])
    address = TextAreaField(_l("Address"), validators=[Length(max=500)])
    email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Length(max=300)],
        description=_l("Shown on every page and to OAI-PMH harvesters (adminEmail)."),
    )
    phone = StringField(_l("Phone"), validators=[Length(max=60)])


class AuditSearchForm(FlaskForm):
    """Search the audit log (a GET form: nothing changes, no CSRF token)."""

    class Meta:
        """A search changes nothing, and its address must be shareable."""

        csrf = False

    username = StringField(_l("User"), validators=[Optional(), Length(max=150)])
    # Choices are the actions in words (``audit_text.action_choices``), set by the view; an
    # older link's free text (``?action=auth``) still searches.
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    object_type = SelectField(_l("Object type"), choices=[], validate_choice=False)
    object_id = StringField(_l("Object id"), validators=[Optional(), Length(max=100)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
